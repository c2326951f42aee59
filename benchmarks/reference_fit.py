"""The reference code's way of fitting cameraman, as one plain PyTorch script (the baseline for process_time.py).

Written after vsitzmann/siren's explore_siren notebook: a SineLayer module per layer, coordinates that require
grad, full image per step, Adam lr 1e-4. By default it does the job `siren fit image` does, the notebook's way:
PSNR every --log-every steps and at the end, then the reconstruction PNG, a checkpoint, and the figure of image,
|gradient| and Laplacian (the derivatives by autograd on the whole image, as the notebook's summaries take them).
--train-only skips everything but the training steps and the reconstruction PNG. No siren import.

    python benchmarks/reference_fit.py [--size 256] [--steps 50] [--out /tmp/reference] [--train-only]
"""
import argparse
import math

from pathlib import Path

import imageio.v3 as iio
import matplotlib
import numpy as np
import skimage.data
import skimage.transform
import torch
from torch import nn


class SineLayer(nn.Module):
    def __init__(self, in_features, out_features, is_first=False, omega_0=30.0):
        super().__init__()
        self.omega_0, self.linear = omega_0, nn.Linear(in_features, out_features)
        with torch.no_grad():
            bound = 1 / in_features if is_first else math.sqrt(6 / in_features) / omega_0
            self.linear.weight.uniform_(-bound, bound)

    def forward(self, x):
        return torch.sin(self.omega_0 * self.linear(x))


class Siren(nn.Module):
    def __init__(self, in_features, hidden_features, hidden_layers, out_features):
        super().__init__()
        layers = [SineLayer(in_features, hidden_features, is_first=True)]
        layers += [SineLayer(hidden_features, hidden_features) for _ in range(hidden_layers)]
        last = nn.Linear(hidden_features, out_features)
        with torch.no_grad():
            bound = math.sqrt(6 / hidden_features) / 30.0
            last.weight.uniform_(-bound, bound)
        self.net = nn.Sequential(*layers, last)

    def forward(self, coords):
        coords = coords.clone().detach().requires_grad_(True)
        return self.net(coords), coords


def gradient(y, x):
    return torch.autograd.grad(y, [x], grad_outputs=torch.ones_like(y), create_graph=True)[0]


def laplace(y, x):
    g = gradient(y, x)
    return sum(torch.autograd.grad(g[:, i], x, torch.ones_like(g[:, i]), create_graph=True)[0][:, i:i + 1]
               for i in range(x.shape[1]))


def psnr(out, pixels):
    return 10 * math.log10(4 / float(((out - pixels) ** 2).mean()))


def figure(img, out, grad, lap, size, path):
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 3, figsize=(9, 6))
    gy, gx = np.gradient(img * 2 - 1, 2 / (size - 1))
    rows = [(img, np.hypot(gx, gy), np.gradient(gx, 2 / (size - 1), axis=1) + np.gradient(gy, 2 / (size - 1), axis=0)),
            ((out.reshape(size, size) + 1) / 2, grad.norm(dim=-1).reshape(size, size) / 2, lap.reshape(size, size) / 2)]
    for r, row in enumerate(rows):
        for c, data in enumerate(row):
            axes[r, c].imshow(np.asarray(data), cmap=["gray", "viridis", "RdBu"][c])
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--out", default="/tmp/reference")
    p.add_argument("--train-only", action="store_true")
    a = p.parse_args()
    out_dir = Path(a.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    img = skimage.transform.resize(skimage.data.camera() / 255.0, (a.size, a.size), anti_aliasing=True)
    pixels = torch.from_numpy(img.reshape(-1, 1) * 2 - 1).float()
    lin = torch.linspace(-1, 1, a.size)
    coords = torch.stack(torch.meshgrid(lin, lin, indexing="ij"), -1).reshape(-1, 2)
    torch.manual_seed(0)
    model = Siren(2, 256, 3, 1)
    optim = torch.optim.Adam(model.parameters(), lr=1e-4)
    for step in range(a.steps):
        out, _ = model(coords)
        loss = ((out - pixels) ** 2).mean()
        optim.zero_grad()
        loss.backward()
        optim.step()
        if not a.train_only and ((step + 1) % a.log_every == 0 or step + 1 == a.steps):
            with torch.no_grad():
                print(f"step {step + 1}: PSNR {psnr(model(coords)[0], pixels):.2f} dB")
    out, x = model(coords)
    if not a.train_only:
        grad, lap = gradient(out, x), laplace(out, x)
        figure(img, out.detach().numpy(), grad.detach(), lap.detach().numpy(), a.size, out_dir / "derivatives.png")
        torch.save({"model": model.state_dict(), "optimizer": optim.state_dict()}, out_dir / "checkpoint.pt")
    out = out.detach()
    iio.imwrite(out_dir / "reconstruction.png",
                (np.clip((out.reshape(a.size, a.size).numpy() + 1) / 2, 0, 1) * 255).astype(np.uint8))
    print(f"reference: {a.steps} steps, final loss {loss.item():.6f}, PSNR {psnr(out, pixels):.2f} dB")


if __name__ == "__main__":
    main()
