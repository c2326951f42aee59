"""Time to quality: the paper's settings (`--preset paper`) against the library's defaults, side by side.

    python benchmarks/time_to_quality.py [--cases cameraman,astronaut,...] [--threads 2] [--cap 300]
        [--budgets 30,120] [--figure PNG] [--json PATH] [--merge JSON ...]

For each case both settings train the same SIREN (3 x 256, seed 0) in this process, one after the other; the
clock is the run's training wall time including its log-step evaluations (every 25 steps), as a user waits for
it. A run stops at its own last step or after --cap seconds. Columns: seconds
(and step) to each quality level, the quality reached within each time budget, and for the defaults the quality at
the moment the paper's settings reached step 300 (or ended, if sooner).
Quality is what the task logs: PSNR (dB) of the image on [0, 1] (images, video frames, Poisson's aligned image),
SNR (dB) for audio; above 65,536 samples it is estimated on a fixed random subset (`siren.tasks.fit`).

Cases (no download): cameraman, astronaut (RGB photo), brick (texture), text (black text on grey, 172 x 448) at
256 px unless stated; retina (1411 px photo resized to 1024 px: 1 M pixels); audio (1 s of tones and a chirp at
16 kHz); video (16 frames of a 64 x 64 moving pattern); poisson (cameraman 128 px from its gradient alone).
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, fields
from pathlib import Path

import torch

from siren.data.audio import audio_signal
from siren.data.image import demo_image, resize_image
from siren.data.video import moving_pattern, video_signal
from siren.models import build_model
from siren.runtime import tune_allocator
from siren.tasks import AudioFitTask, ImageFitTask, PoissonTask, VideoFitTask
from siren.tasks.fit_image import ImageConfig
from siren.tasks.fit_video import VideoConfig
from siren.tasks.poisson import image_task
from siren.train import TrainConfig, fit
from machine import cpu_name

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from helpers import tones_and_chirp  # noqa: E402  (the synthetic test clip, tests/helpers.py)


@dataclass
class Case:
    """A benchmark input: the task class (whose defaults and presets are compared) and how to build its task from
    the task options of a setting."""
    label: str
    task: type
    build: object            # dict of task options -> Task
    levels: tuple            # quality levels (dB)
    note: str


def image_case(label: str, name: str, size: int | None, levels=(25, 30, 35)) -> Case:
    h, w = resize_image(demo_image(name), size).shape[:2]
    return Case(label, ImageFitTask, lambda options: ImageFitTask.from_config(ImageConfig(demo=name, size=size,
                                                                                          **options)),
                levels, f"{name}, {h} x {w} px")


def audio_build(options: dict):
    return AudioFitTask(audio_signal(tones_and_chirp(16_000, 1.0), 16_000))


def video_build(options: dict):
    from siren.data.video import samples_per_step
    cfg = VideoConfig(demo=True, **options)
    signal = video_signal(moving_pattern(16, 64), 25.0)
    return VideoFitTask(signal, max_batch=samples_per_step(signal.flat_values().shape[0], cfg.fraction,
                                                           cfg.min_samples))


def poisson_build(options: dict):
    return image_task(resize_image(demo_image("cameraman"), 128), "gradient", **options)


CASES = {c.label: c for c in [
    image_case("cameraman", "cameraman", 256), image_case("astronaut", "astronaut", 256),
    image_case("brick", "brick", 256), image_case("text", "text", None), image_case("retina", "retina", 1024),
    Case("audio", AudioFitTask, audio_build, (20, 30, 40), "tones + chirp, 1 s at 16 kHz"),
    Case("video", VideoFitTask, video_build, (25, 30, 35), "moving pattern, 16 x 64 x 64"),
    Case("poisson", PoissonTask, poisson_build, (20, 25, 30), "cameraman 128 px from its gradient"),
]}


def settings(task: type, preset: str | None) -> tuple[dict, TrainConfig]:
    """(task options, TrainConfig) of the task's defaults, or of a preset on top of them."""
    values = {**task.train_defaults, **(task.presets.get(preset, {}) if preset else {})}
    train_fields = {f.name for f in fields(TrainConfig)}
    train = {k: v for k, v in values.items() if k in train_fields}
    return {k: v for k, v in values.items() if k not in train_fields}, TrainConfig(progress=False, **train)


COMPARE_STEP = 300         # the defaults' quality is read when the paper's settings reach this step (or end)


class Stop(Exception):
    """Raised from the log callback to end a run at its cap or top quality level."""


def run(case: Case, preset: str | None, cap: float) -> dict:
    options, cfg = settings(case.task, preset)
    task = case.build(options)
    torch.manual_seed(0)
    model = build_model("siren", task.in_features, task.out_features, hints=task.model_hints())
    curve = []

    def log(step, record):
        curve.append((record["time"], step, record[task.metric_name]))
        if record["time"] > cap:
            raise Stop

    try:
        fit(model, task, cfg, callback=log)
    except Stop:
        pass
    return {"case": case.label, "settings": preset or "defaults", "steps_planned": cfg.steps, "lr": cfg.lr,
            "schedule": cfg.schedule or "constant", "options": options, "curve": curve}


def first(curve, level):
    return next(((t, s) for t, s, q in curve if q >= level), None)


def at_time(curve, seconds):
    """Quality at the last log step within `seconds` (None if there is none)."""
    inside = [q for t, _, q in curve if t <= seconds]
    return inside[-1] if inside else None


def rows(case: Case, ref: dict, new: dict, budgets) -> list[str]:
    end_ref = ref["curve"][-1][0]
    mark = next((t for t, s, _ in ref["curve"] if s == COMPARE_STEP), end_ref)   # the paper's step-300 time
    out = []
    for r in (ref, new):
        cells = [case.label if r is ref else "", r["settings"]]
        for level in case.levels:
            hit = first(r["curve"], level)
            cells.append(f"{hit[0]:.1f} s ({hit[1]})" if hit else "-")
        for b in budgets:
            q = at_time(r["curve"], b)
            cells.append("-" if q is None else f"{q:.2f}")
        inside = [(s, q) for t, s, q in r["curve"] if t <= mark]
        cells.append(f"{inside[-1][1]:.2f} (step {inside[-1][0]}, {mark:.0f} s)" if inside else "-")
        hit_ref, hit_new = first(ref["curve"], case.levels[1]), first(new["curve"], case.levels[1])
        cells.append("" if r is ref or not hit_new else
                     (f"{hit_ref[0] / hit_new[0]:.1f}x" if hit_ref else f"> {end_ref / hit_new[0]:.1f}x"))
        out.append("| " + " | ".join(cells) + " |")
    return out


def figure(results: list, path: Path) -> None:
    from siren import viz
    plt = viz.pyplot()
    cols = min(4, len(results))
    rows_ = -(-len(results) // cols)
    fig, axes = plt.subplots(rows_, cols, figsize=(3.6 * cols, 2.9 * rows_), squeeze=False, constrained_layout=True)
    for ax, (case, ref, new) in zip(axes.flat, results):
        for r, style in ((ref, "--"), (new, "-")):
            t, _, q = zip(*r["curve"])
            ax.plot(t, q, style, marker=".", label=r["settings"])
        ax.set_xscale("log")
        ax.set_title(case.label, fontsize=10)
        ax.set_xlabel("seconds")
        ax.set_ylabel("SNR (dB)" if case.label == "audio" else "PSNR (dB)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(results):]:
        ax.axis("off")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", default=",".join(CASES))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--cap", type=float, default=300.0, help="seconds after which a run stops")
    p.add_argument("--budgets", default="30,120", help="time budgets (s) at which the quality is read")
    p.add_argument("--figure", type=Path)
    p.add_argument("--json", type=Path)
    p.add_argument("--merge", type=Path, nargs="*", default=[],
                   help="--json files of earlier runs (other --cap or cases): shown first in the table and figure")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    tune_allocator()                                  # as the CLI does
    budgets = [float(b) for b in args.budgets.split(",")]
    print(f"time to quality on {cpu_name()}, torch {torch.__version__}, "
          f"{args.threads} thread(s), cap {args.cap:g} s", flush=True)
    results = [(CASES[ref["case"]], ref, new) for path in args.merge for ref, new in json.loads(path.read_text())]
    for label in (args.cases.split(",") if args.cases else []):
        case = CASES[label]
        ref = run(case, "paper", args.cap)                      # a task without presets: its defaults are the paper's
        new = run(case, None, args.cap) if "paper" in case.task.presets else {**ref, "settings": "defaults = paper"}
        results.append((case, ref, new))
        print("\n".join(rows(case, ref, new, budgets)), flush=True)
    head = ["case", "settings", *(f"to {lv}" for lv in ("level 1", "level 2", "level 3")),
            *(f"at {b:g} s" for b in budgets), "at the paper's step 300", "speed-up to level 2"]
    print("\n| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for case, ref, new in results:
        print("\n".join(rows(case, ref, new, budgets)))
    print("\nlevels (dB): " + "; ".join(f"{c.label} {'/'.join(map(str, c.levels))} ({c.note})" for c, _, _ in results))
    for case, ref, new in results:
        for r in (ref, new):
            print(f"{case.label} {r['settings']}: lr {r['lr']:g} {r['schedule']}, {r['steps_planned']} steps, "
                  f"options {r['options']}")
    if args.figure:
        figure(results, args.figure)
        print(f"wrote {args.figure}")
    if args.json:
        args.json.write_text(json.dumps([[ref, new] for _, ref, new in results], indent=1))


if __name__ == "__main__":
    main()
