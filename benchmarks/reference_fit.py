"""The reference code's way of fitting cameraman, as one plain PyTorch script (the baseline for process_time.py).

Written after vsitzmann/siren's explore_siren notebook: a SineLayer module per layer, coordinates that require
grad, full image per step, Adam lr 1e-4, then the reconstruction written as a PNG. No siren import.

    python benchmarks/reference_fit.py [--size 256] [--steps 50] [--out /tmp/reference.png]
"""
import argparse
import math

import imageio.v3 as iio
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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--out", default="/tmp/reference.png")
    a = p.parse_args()
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
    with torch.no_grad():
        out, _ = model(coords)
    psnr = 10 * math.log10(4 / float(((out - pixels) ** 2).mean()))
    iio.imwrite(a.out, (np.clip((out.reshape(a.size, a.size).numpy() + 1) / 2, 0, 1) * 255).astype(np.uint8))
    print(f"reference: {a.steps} steps, final loss {loss.item():.6f}, PSNR {psnr:.2f} dB")


if __name__ == "__main__":
    main()
