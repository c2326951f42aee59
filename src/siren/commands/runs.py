"""`siren report` (one HTML page of run folders) and `siren stats` (activation statistics of the paper's init)."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import SirenError
from ..options import option
from ..run_folder import prepare_out_dir
from . import command

__all__ = ["ReportConfig", "StatsConfig"]


@dataclass
class ReportConfig:
    runs: list[str] = option(None, "run folders", positional=True, nargs="+")
    out: str = option(None, "the HTML file to write", required=True)


@command("report", "one self-contained HTML page of one or more runs (compares runs of a task)", ReportConfig)
def _report(c: ReportConfig) -> str:
    from ..report import write_report
    return f"wrote {write_report(c.runs, c.out)}"


@dataclass
class StatsConfig:
    out: str = option(None, "output folder", required=True)
    overwrite: bool = option(False, "replace an existing output folder")
    hidden_features: int = option(2048, "units of each sine layer", aliases=("--width",))
    hidden_layers: int = option(10, "hidden sine layers", aliases=("--layers",))
    points: int = option(16384, "inputs in linspace(-1, 1)")
    seed: int = option(0, "random seed")


@command("stats", "activation statistics of the paper's init vs a naive init", StatsConfig)
def _stats(c: StatsConfig) -> str:
    from ..stats import activation_report
    for name, value, least in (("hidden-features", c.hidden_features, 1), ("hidden-layers", c.hidden_layers, 1),
                               ("points", c.points, 2)):
        if value < least:
            raise SirenError(f"--{name} must be at least {least}, got {value}")
    out = prepare_out_dir(c.out, overwrite=c.overwrite)
    summary = activation_report(out, width=c.hidden_features, layers=c.hidden_layers, points=c.points, seed=c.seed)
    worst = max(s["ks_preactivation"] for s in summary["siren"]["layers"][1:])
    return (f"wrote {out}/activations.png and stats.json (paper init, hidden layers: max KS distance to N(0,1) "
            f"{worst:.3f})")
