"""Audio and video fitting: SIREN vs the paper's baselines at equal steps (issue 4's tables).

    python benchmarks/audio_video.py [--models siren,relu,relu_pe,rff] [--steps 1000] [--at 100,250,500,1000]
        [--rate 16000 --seconds 1] [--frames 16 --size 64] [--audio FILE] [--video FILE] [--device auto]

Defaults are what `siren fit audio` / `siren fit video` use: 3 x 256 hidden, Adam lr 1e-4, siren first omega_0 3000
for audio (30 for video), full clip per step for audio, voxels per step by `samples_per_step` (0.38% of the voxels,
at least 65,536) for video; their default steps are 1000 (audio) and 500 (video), both columns of the tables.
Inputs: a 1 s clip of three tones and a chirp (`tones_and_chirp`) and a 16-frame 64 x 64 moving pattern
(`moving_pattern`), or --audio / --video files (--frames / --size then crop and resize the video).
Prints markdown tables: audio MSE and SNR (dB), video PSNR (dB, mean +- std over all frames), seconds per step
(training only: the evaluations are timed apart and taken out).
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from siren.data.audio import audio_signal, load_audio
from siren.data.video import load_video, moving_pattern, resize_video, samples_per_step, video_signal
from siren.models import build_model
from siren.tasks.fit import SignalFitTask
from siren.tasks.fit_audio import AudioFitTask
from siren.tasks.fit_video import VideoFitTask
from siren.train import TrainConfig, fit, resolve_device
from machine import cpu_name

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from helpers import tones_and_chirp  # noqa: E402  (the synthetic test clip, tests/helpers.py)


def bench(task: SignalFitTask, name: str, steps: int, at: list[int], lr: float, width: int, device, seed: int) -> dict:
    """Train one model on `task`; its metrics at the steps in `at`, training seconds per step, and the model."""
    torch.manual_seed(seed)
    model = build_model(name, task.in_features, task.out_features, hidden_features=width,
                        hints=task.model_hints()).to(device)
    evaluate, spent = task.evaluate, []

    def timed_evaluate(m):
        start = time.perf_counter()
        out = evaluate(m)
        spent.append(time.perf_counter() - start)
        return out

    task.evaluate = timed_evaluate
    log_every = math.gcd(*at)
    cfg = TrainConfig(steps=steps, lr=lr, log_every=log_every, checkpoint_every=steps + 1, seed=seed, progress=False)
    try:
        result = fit(model, task, cfg)
    finally:
        task.evaluate = evaluate
    if device.type == "cuda":
        torch.cuda.synchronize()
    records = {r["step"]: r for r in result.history}
    return {"at": {s: records[s] for s in at}, "model": model.eval(),
            "s_per_step": (result.history[-1]["time"] - sum(spent)) / steps}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="siren,relu,relu_pe,rff")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--at", default="100,250,500,1000", help="steps at which to report the metrics")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--width", type=int, default=256, help="hidden features (the paper: 256 audio, 1024 video)")
    p.add_argument("--rate", type=int, default=16_000, help="synthetic clip: sample rate")
    p.add_argument("--seconds", type=float, default=1.0, help="synthetic clip: duration")
    p.add_argument("--frames", type=int, default=16, help="synthetic video: frames; --video: keep the first N")
    p.add_argument("--size", type=int, default=64, help="synthetic video: frame side; --video: longer side")
    p.add_argument("--audio", help="a sound file instead of the synthetic clip")
    p.add_argument("--video", help="a video instead of the synthetic pattern")
    p.add_argument("--only", choices=["audio", "video"], help="run one table")
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    device = resolve_device(a.device)
    at = sorted({int(s) for s in a.at.split(",") if int(s) <= a.steps} | {a.steps})
    models = a.models.split(",")
    dev = torch.cuda.get_device_name(device) if device.type == "cuda" else \
        f"{cpu_name()} CPU, {torch.get_num_threads()} threads"
    print(f"3 x {a.width} hidden, Adam lr {a.lr:g}, seed {a.seed}; torch {torch.__version__} on {dev}\n")

    if a.only != "video":
        samples, rate = load_audio(a.audio) if a.audio else (tones_and_chirp(a.rate, a.seconds), a.rate)
        what = a.audio or f"three tones + chirp, {a.seconds:g} s at {rate} Hz"
        print(f"Audio: {what} ({len(samples)} samples, full clip per step)\n")
        print("| model | " + " | ".join(f"SNR dB @ {s}" for s in at) + f" | MSE @ {a.steps} | s / step |")
        print("|---" * (len(at) + 3) + "|")
        for name in models:
            task = AudioFitTask(audio_signal(samples, rate)).to(device)
            r = bench(task, name, a.steps, at, a.lr, a.width, device, a.seed)
            print(f"| {name} | " + " | ".join(f"{r['at'][s]['snr']:.1f}" for s in at)
                  + f" | {r['at'][a.steps]['mse']:.2e} | {r['s_per_step']:.4f} |", flush=True)
        print()

    if a.only != "audio":
        if a.video:
            frames, fps = load_video(a.video, max_frames=a.frames)
            frames, what = resize_video(frames, a.size), a.video
        else:
            frames, fps, what = moving_pattern(a.frames, a.size), 25.0, "moving pattern"
        signal = video_signal(frames, fps)
        batch = samples_per_step(signal.flat_values().shape[0])
        print(f"Video: {what}, {' x '.join(map(str, signal.shape))} (T x H x W), {batch} voxels per step; "
              f"PSNR @ intermediate steps on up to 16 frames, final PSNR over all frames\n")
        print("| " + " | ".join(["model", *(f"PSNR dB @ {s}" for s in at[:-1]),
                                 f"PSNR dB @ {a.steps} (mean +- std over frames)", "s / step"]) + " |")
        print("|---" * (len(at) + 2) + "|")
        for name in models:
            task = VideoFitTask(signal, max_batch=batch).to(device)
            r = bench(task, name, a.steps, at, a.lr, a.width, device, a.seed)
            final = task.frame_psnrs(r["model"])
            print(f"| {name} | " + "".join(f"{r['at'][s]['psnr']:.2f} | " for s in at[:-1])
                  + f"{np.mean(final):.2f} +- {np.std(final):.2f} | {r['s_per_step']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
