"""`siren <command> ...`: a thin layer over the Python API. Bad input becomes one line `error: ...`, exit code 2."""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from .errors import SirenError
from .models import MODEL_NAMES


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
    p.add_argument("--log-every", type=int, default=25, help="evaluate and log every N steps")
    p.add_argument("--checkpoint-every", type=int, default=100, help="save a checkpoint every N steps")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--out", required=True, help="run folder for outputs and checkpoints")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")


def _train_config(args):
    from .train import TrainConfig
    for name in ("log_every", "checkpoint_every"):
        if getattr(args, name) <= 0:
            raise SirenError(f"--{name.replace('_', '-')} must be positive")
    return TrainConfig(steps=args.steps, lr=args.lr, schedule=args.schedule, clip_grad=args.clip_grad,
                       log_every=args.log_every, checkpoint_every=args.checkpoint_every, seed=args.seed,
                       device=args.device, progress=not args.no_progress)


def _model_options(args) -> dict:
    names = {"hidden_features": "hidden_features", "hidden_layers": "hidden_layers",
             "first_omega": "first_omega_0", "hidden_omega": "hidden_omega_0"}
    opts = {key: getattr(args, arg) for arg, key in names.items() if getattr(args, arg) is not None}
    if args.model != "siren" and ({"first_omega_0", "hidden_omega_0"} & set(opts)):
        raise SirenError(f"--first-omega/--hidden-omega apply to siren only, not {args.model}")
    return opts


def _run(args, task) -> None:
    from .train import run
    if args.model not in MODEL_NAMES:
        raise SirenError(f"unknown model {args.model!r} (choose from {', '.join(MODEL_NAMES)})")
    cfg = _train_config(args)
    command = {k: v for k, v in vars(args).items() if k != "func"}
    _, result = run(task, args.model, cfg, args.out, _model_options(args), overwrite=args.overwrite,
                    resume=args.resume, command=command)
    if result.interrupted:
        sys.exit(130)
    summary = ", ".join(f"{k} {v:.4g}" for k, v in result.history[-1].items() if k not in ("step", "time")) \
        if result.history else ""
    print(f"done: {result.step} steps ({summary}); outputs in {args.out}")


def _cmd_fit_image(args) -> None:
    from .data.image import demo_image, image_signal, load_image, resize_image
    from .tasks.fit import FitTask
    if (args.path is None) == (args.demo is None):
        raise SirenError("give an image PATH or --demo NAME, not both or neither")
    img = demo_image(args.demo) if args.demo else load_image(args.path)
    img = resize_image(img, args.size)
    _run(args, FitTask(image_signal(img, source=args.demo or str(args.path))))


def _cmd_render(args) -> None:
    from .data.image import save_image
    from .tasks.fit import render, to_unit
    from .train import load_checkpoint, model_from_checkpoint, resolve_device
    ckpt = load_checkpoint(args.checkpoint)
    meta = ckpt.get("task") or {}
    if meta.get("kind") != "image":
        raise SirenError(f"render supports image checkpoints; this one is {meta.get('kind', 'unknown')!r}")
    if args.size < 2:
        raise SirenError(f"--size must be at least 2, got {args.size}")
    h, w = meta["shape"]
    scale = args.size / max(h, w)
    model = model_from_checkpoint(ckpt).to(resolve_device(args.device)).eval()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_image(out, to_unit(render(model, (max(2, round(h * scale)), max(2, round(w * scale))))))
    print(f"wrote {out}")


def _cmd_stats(args) -> None:
    from .stats import activation_report
    from .train import prepare_out_dir
    out = prepare_out_dir(args.out, overwrite=args.overwrite)
    summary = activation_report(out, width=args.width, layers=args.layers, points=args.points, seed=args.seed)
    worst = max(s["ks_preactivation"] for s in summary["siren"]["layers"][1:])
    print(f"wrote {out}/activations.png and stats.json (paper init, hidden layers: max KS distance to N(0,1) {worst:.3f})")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="siren", description="Implicit neural representations with periodic activations.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    fit = sub.add_parser("fit", help="fit a signal (image, audio, video)")
    fit_sub = fit.add_subparsers(dest="kind", required=True, parser_class=_Parser)
    img = fit_sub.add_parser("image", help="fit an image file or a bundled demo image")
    img.add_argument("path", nargs="?", help="image file (PNG, JPEG, TIFF, ...)")
    img.add_argument("--demo", help="bundled image: cameraman, astronaut, coffee, ...")
    img.add_argument("--size", type=int, help="resize so the longer side has this many pixels")
    _train_args(img)
    img.set_defaults(func=_cmd_fit_image)

    ren = sub.add_parser("render", help="render a trained checkpoint at any resolution")
    ren.add_argument("checkpoint", help="checkpoint.pt or its run folder")
    ren.add_argument("--size", type=int, required=True, help="longer side of the output in pixels")
    ren.add_argument("--out", required=True, help="output file (PNG)")
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
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    warnings.showwarning = lambda msg, *a, **k: print(f"warning: {msg}", file=sys.stderr)
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
