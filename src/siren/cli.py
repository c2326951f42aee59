"""`siren <command> ...`: a thin layer over the Python API. Bad input becomes one line `error: ...`, exit code 2.

Every registered task (`siren.tasks.REGISTRY`) is a command; its flags come from its Config dataclass, the model's
(`ModelConfig`) and the training settings (`TrainConfig`). A two-word task name ("fit image") is a subcommand of a
group ("fit").
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from .errors import SirenError
from .models import ModelConfig
from .options import add_arguments, from_args
from .runtime import tune_allocator
from .tasks import REGISTRY, get_task
from .tasks.prior import COMMANDS as PRIOR_COMMANDS  # `siren prior inpaint|interpolate`: not training runs
from .train import TrainConfig


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise SirenError(f"{message} (see {self.prog} --help)")


def _command(args) -> dict:
    """The parsed arguments as stored in config.json (everything but the handler)."""
    return {k: v for k, v in vars(args).items() if k not in ("func", "task", "parser")}


def _cmd_task(args) -> None:
    task = args.task
    summary = task.launch(from_args(task.Config, args), from_args(ModelConfig, args), from_args(TrainConfig, args),
                          args.out, overwrite=args.overwrite, resume=args.resume, command=_command(args),
                          report=not args.no_report)
    if summary is None:             # a non-zero rank of a torchrun launch: rank 0 reports
        return
    if summary["interrupted"]:
        sys.exit(130)
    shown = ", ".join(f"{k} {v:.4g}" for k, v in summary["metrics"].items() if isinstance(v, float))
    print(f"done: {summary['steps']} steps ({shown}); outputs in {args.out}")


def _cmd_render(args) -> None:
    from .train import load_checkpoint, model_from_checkpoint, resolve_device
    ckpt = load_checkpoint(args.checkpoint)
    meta = ckpt.get("task") or {}
    task = REGISTRY.get(meta.get("task"))
    if task is None or meta.get("batched"):
        raise SirenError(f"this checkpoint's task {meta.get('task', 'unknown')!r} cannot be rendered (render fits of "
                         f"single images, audio and video)")
    model = model_from_checkpoint(ckpt).to(resolve_device(args.device)).eval()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    task.render(model, {**meta, "state": ckpt.get("task_state") or {}}, out, size=args.size, rate=args.rate,
                fps=args.fps)
    print(f"wrote {out}")


def _cmd_mesh(args) -> None:
    """`siren mesh`: `siren render` of an SDF checkpoint, with the grid resolution as the size."""
    args.size, args.rate, args.fps = args.resolution, None, None
    _cmd_render(args)


def _cmd_report(args) -> None:
    from .report import write_report
    print(f"wrote {write_report(args.runs, args.out)}")


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


def _task_parser(sub, groups: dict, name: str, help: str) -> argparse.ArgumentParser:
    """The parser of command `name`; "fit image" goes under the group "fit" (made on first use)."""
    group, _, leaf = name.rpartition(" ")
    if not group:
        return sub.add_parser(name, help=help)
    if group not in groups:
        members = [n.rpartition(" ")[2] for n in REGISTRY if n.rpartition(" ")[0] == group]
        p = sub.add_parser(group, help=f"{group}: {', '.join(members)}")
        groups[group] = p.add_subparsers(dest=f"{group}_kind", required=True, parser_class=_Parser)
    return groups[group].add_parser(leaf, help=help)


def _shown(preset: dict) -> str:
    """{"lr": 1e-4, "schedule": None} -> "--lr 0.0001 --schedule constant"."""
    shown = {k: "constant" if k == "schedule" and v is None else v for k, v in preset.items()}
    return " ".join(f"--{k.replace('_', '-')} {v}" for k, v in shown.items())


def parse(argv: list[str]) -> argparse.Namespace:
    """Parse the command line; with --preset NAME, parse again with that preset's values as the defaults, so flags
    given explicitly still win."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "preset", None):
        args.parser.set_defaults(**args.task.presets[args.preset])
        args = parser.parse_args(argv)
    return args


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="siren", description="Implicit neural representations with periodic activations.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    groups: dict = {}
    for name, task in REGISTRY.items():
        p = _task_parser(sub, groups, name, task.help)
        add_arguments(p, task.Config)
        add_arguments(p, ModelConfig)
        add_arguments(p, TrainConfig, defaults=task.train_defaults)
        p.add_argument("--out", required=True, help="run folder for outputs and checkpoints")
        p.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
        p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
        p.add_argument("--no-report", action="store_true", help="do not write report.html at the end")
        if task.presets:
            p.add_argument("--preset", choices=sorted(task.presets), help="named defaults for every flag not given: "
                           + "; ".join(f"{k}: {_shown(v)}" for k, v in task.presets.items()))
        p.set_defaults(func=_cmd_task, task=get_task(name), parser=p)

    for name, (help, add, handler) in PRIOR_COMMANDS.items():
        p = _task_parser(sub, groups, name, help)
        add(p)
        p.set_defaults(func=handler)

    ren = sub.add_parser("render", help="render a trained checkpoint at any resolution")
    ren.add_argument("checkpoint", help="checkpoint.pt or its run folder")
    ren.add_argument("--size", type=int, help="image, video: longer side of the output in pixels (default as trained)")
    ren.add_argument("--rate", type=int, help="audio: sample rate of the output in Hz (default as trained)")
    ren.add_argument("--fps", type=float, help="video: frames per second of the output (default as trained; the "
                                               "clip keeps its duration)")
    ren.add_argument("--out", required=True, help="output file: PNG (image), WAV (audio) or MP4 (video)")
    ren.add_argument("--device", default="auto")
    ren.set_defaults(func=_cmd_render)

    me = sub.add_parser("mesh", help="mesh the zero level set of a trained SDF (bounded memory, coarse to fine; "
                                           "pieces far from the input points dropped as in training)")
    me.add_argument("checkpoint", help="checkpoint.pt or its run folder (of `siren sdf`)")
    me.add_argument("--resolution", type=int, default=256, help="grid points per axis (default 256)")
    me.add_argument("--out", required=True, help="mesh file: .ply, .obj or .glb (in the input's units)")
    me.add_argument("--device", default="auto")
    me.set_defaults(func=_cmd_mesh)

    rep = sub.add_parser("report", help="one self-contained HTML page of one or more runs (compares runs of a task)")
    rep.add_argument("runs", nargs="+", help="run folders")
    rep.add_argument("--out", required=True, help="the HTML file to write")
    rep.set_defaults(func=_cmd_report)

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
    tune_allocator()  # a CLI run trains: reuse freed heap blocks instead of fresh zeroed pages (about 2x on CPU)
    try:
        args = parse(argv)
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
