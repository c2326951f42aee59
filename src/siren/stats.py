"""Activation statistics at initialization (the paper's sec. 3.2 analysis and its demo).

With the paper's init, a hidden pre-activation z = omega_0 (W h + b) of a SIREN is ~N(0, 1) (plus the bias
variance omega_0^2 / (3 n)), and the activation sin(z) of every layer is arcsine-distributed on [-1, 1]
(pdf 1 / (pi sqrt(1 - x^2))), independent of depth. A naive init (PyTorch's default Linear init under the
same sin(30 x)) gives pre-activations of std ~ omega_0 / sqrt(6) that grow nothing like N(0, 1).
"""
from __future__ import annotations


from pathlib import Path

import numpy as np
import torch
from scipy import stats as sps
from torch import nn

from .models import Siren
from .run_folder import to_json

ARCSINE = sps.arcsine(loc=-1.0, scale=2.0)


@torch.no_grad()
def layer_statistics(model: Siren, x: torch.Tensor, sample: int = 200_000, seed: int = 0) -> list[dict]:
    """Per sine layer of `model`: KS distance of pre-activations to N(0, 1), of activations to arcsine, their
    mean/std, and a random sample of each (for histograms). x: (N, in_features)."""
    rng = np.random.default_rng(seed)
    rows, h = [], x
    for layer in model.net:
        if not hasattr(layer, "omega_0"):
            break
        z = layer.omega_0 * layer.linear(h)
        h = torch.sin(z)
        zs, hs = (_sample(t, sample, rng) for t in (z, h))
        rows.append({"ks_preactivation": float(sps.kstest(zs, "norm").statistic),
                     "ks_activation": float(sps.kstest(hs, ARCSINE.cdf).statistic),
                     "pre_mean": float(z.mean()), "pre_std": float(z.std()),
                     "act_mean": float(h.mean()), "act_std": float(h.std()),
                     "_z": zs, "_h": hs})
    return rows


def _sample(t: torch.Tensor, n: int, rng) -> np.ndarray:
    flat = t.reshape(-1)
    idx = rng.choice(flat.numel(), size=min(n, flat.numel()), replace=False)
    return flat[torch.from_numpy(idx).to(flat.device)].double().cpu().numpy()


def naive_siren(width: int, layers: int, omega_0: float = 30.0) -> Siren:
    """The same SIREN with every weight re-drawn by PyTorch's default Linear init, U(+-1/sqrt(n))."""
    model = Siren(1, width, layers, 1, first_omega_0=omega_0, hidden_omega_0=omega_0)
    for m in model.modules():
        if isinstance(m, nn.Linear):
            m.reset_parameters()
    return model


def activation_report(out_dir: Path, width: int = 2048, layers: int = 10, points: int = 16384, seed: int = 0,
                      shift: float = 0.0) -> dict:
    """Run the paper's demo network (1 -> width, `layers` hidden sine layers) on linspace(-1, 1, points) + shift
    for the paper init and a naive init; write activations.png and stats.json into out_dir; return the summary."""
    torch.manual_seed(seed)
    x = torch.linspace(-1.0, 1.0, points)[:, None] + shift
    models = {"siren": Siren(1, width, layers, 1), "naive": naive_siren(width, layers)}
    rows = {name: layer_statistics(m, x, seed=seed) for name, m in models.items()}
    _figure(rows, Path(out_dir) / "activations.png")
    summary = {name: {"layers": [{k: v for k, v in r.items() if not k.startswith("_")} for r in rs]}
               for name, rs in rows.items()}
    summary["setup"] = {"width": width, "hidden_layers": layers, "points": points, "shift": shift, "seed": seed,
                        "note": "KS = Kolmogorov-Smirnov distance; pre-activation vs N(0,1), activation vs arcsine"}
    (Path(out_dir) / "stats.json").write_text(to_json(summary, indent=2))
    return summary


def _figure(rows: dict, path: Path) -> None:
    from .viz import pyplot
    plt = pyplot()
    depth = len(rows["siren"])
    fig, axes = plt.subplots(4, depth, figsize=(1.9 * depth, 7.5), squeeze=False)
    zz = np.linspace(-4, 4, 200)
    hh = np.linspace(-0.995, 0.995, 200)
    for r, (name, rs) in enumerate(rows.items()):
        for i, s in enumerate(rs):
            ax = axes[2 * r, i]
            ax.hist(s["_z"], bins=80, range=(-4, 4), density=True, color="tab:blue", alpha=0.7)
            ax.plot(zz, sps.norm.pdf(zz), "k", lw=1)
            ax.set_title(f"{name} L{i}\nKS {s['ks_preactivation']:.2f}", fontsize=7)
            ax = axes[2 * r + 1, i]
            ax.hist(s["_h"], bins=80, range=(-1, 1), density=True, color="tab:orange", alpha=0.7)
            ax.plot(hh, ARCSINE.pdf(hh), "k", lw=1)
            ax.set_ylim(0, 3)
            ax.set_title(f"KS {s['ks_activation']:.2f}", fontsize=7)
        axes[2 * r, 0].set_ylabel(f"{name}\npre-activation\nvs N(0,1)", fontsize=8)
        axes[2 * r + 1, 0].set_ylabel(f"{name}\nactivation\nvs arcsine", fontsize=8)
    for ax in axes.flat:
        ax.tick_params(labelsize=5)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
