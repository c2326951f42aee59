"""Whole-process wall time: `siren fit image` against a plain script of the reference code's way (GNU time).

    python benchmarks/process_time.py [--steps 50] [--size 256] [--repeats 3]

All fit cameraman at --size with SIREN 3x256, Adam lr 1e-4, full batch, for --steps steps. `siren fit image` and
the reference-way script (`reference_fit.py`) do the same job: PSNR every 25 steps, then the reconstruction PNG,
a checkpoint and the image / |gradient| / Laplacian figure (the script takes the derivatives by autograd, as the
reference notebook does). The third row is the script with --train-only: training steps and the PNG, nothing
else, a baseline that does less than `siren fit image`. The ratios are to the same-job script. The commands
alternate; the table gives the median wall time and peak resident memory of each.
"""
from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent


def timed(cmd: list[str]) -> tuple[float, float]:
    """Run under /usr/bin/time; (wall seconds, peak RSS MiB)."""
    p = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M", *cmd], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-2000:]}")
    wall, kb = re.findall(r"TIME ([\d.]+) (\d+)", p.stderr)[-1]
    return float(wall), int(kb) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    if not Path("/usr/bin/time").exists():
        sys.exit("needs GNU time at /usr/bin/time (Debian package 'time')")
    tmp = Path(tempfile.mkdtemp())
    siren = shutil.which("siren") or sys.exit("the siren console script is not on PATH (pip install -e .)")
    commands = {
        "reference-way script": [sys.executable, str(HERE / "reference_fit.py"), "--steps", str(a.steps),
                                 "--size", str(a.size), "--out", str(tmp / "ref")],
        "reference-way script, --train-only": [sys.executable, str(HERE / "reference_fit.py"), "--steps",
                                               str(a.steps), "--size", str(a.size), "--out", str(tmp / "ref-train"),
                                               "--train-only"],
        "siren fit image": [siren, "fit", "image", "--demo", "cameraman", "--size", str(a.size), "--steps",
                            str(a.steps), "--out", str(tmp / "run"), "--overwrite", "--no-progress"],
    }
    results = {k: [] for k in commands}
    for _ in range(a.repeats):
        for name, cmd in commands.items():
            results[name].append(timed(cmd))
    base = statistics.median(w for w, _ in results["reference-way script"])
    print(f"cameraman {a.size}px, SIREN 3x256, {a.steps} steps, median of {a.repeats} runs (GNU time)\n")
    print("| command | wall s (median) | ratio to the same-job reference | peak RSS MiB |")
    print("|---|---|---|---|")
    for name, runs in results.items():
        wall = statistics.median(w for w, _ in runs)
        print(f"| {name} | {wall:.1f} | {wall / base:.2f} | {max(m for _, m in runs):.0f} |")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
