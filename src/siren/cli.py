"""`siren <command> ...`: a thin layer over the Python API. Bad input becomes one line `error: ...`, exit code 2.

Two registries make every command: each training task (`siren.tasks.REGISTRY`), with the flags of its Config
dataclass, of its model kind's config (`siren.models.MODEL_CONFIGS`) and of the training settings (`TrainConfig`),
run by `siren.launch.launch`; and each command that does not train (`siren.commands.COMMANDS`), with the flags of
its own Config. A two-word name ("fit image", "prior inpaint") is a subcommand of a group ("fit", "prior").
The commands in `LIGHT` parse without the training tasks (whose modules take about a second to import).
"""
from __future__ import annotations

import argparse
import sys
import warnings

from . import commands
from .errors import SirenError
from .options import Parser, add_arguments, from_args
from .runtime import require_writable, tune_allocator

LIGHT = {"compress": "codec", "decompress": "codec"}     # command -> the one `siren.commands` module it needs


def _command(args) -> dict:
    """The parsed arguments as stored in config.json (everything but the handler)."""
    return {k: v for k, v in vars(args).items() if k not in ("func", "task", "parser", "command_", "extra")}


def _cmd_task(args) -> int:
    from .launch import launch
    from .models import MODEL_CONFIGS
    from .train import TrainConfig
    task = args.task
    require_writable(args.out)                  # before the task loads its data or solves its reference
    summary = launch(task, from_args(task.Config, args), from_args(MODEL_CONFIGS[task.model_kind], args),
                     from_args(TrainConfig, args), args.out, overwrite=args.overwrite, resume=args.resume,
                     command=_command(args), report=not args.no_report)
    if summary is None:             # a non-zero rank of a torchrun launch: rank 0 reports
        return 0
    if summary["interrupted"]:
        return 130
    shown = ", ".join(f"{k} {v:.4g}" for k, v in summary["metrics"].items() if isinstance(v, float))
    print(f"done: {summary['steps']} steps ({shown}); outputs in {args.out}")
    return 0


def _cmd_other(args) -> int:
    command = args.command_
    print(command.run(from_args(command.Config, args)))
    return 0


def _task_parser(sub, groups: dict, names: list[str], name: str, help: str) -> argparse.ArgumentParser:
    """The parser of command `name` (one of `names`); "fit image" goes under the group "fit" (made on first
    use)."""
    group, _, leaf = name.rpartition(" ")
    if not group:
        return sub.add_parser(name, help=help, description=help)
    if group not in groups:
        members = [n.rpartition(" ")[2] for n in names if n.rpartition(" ")[0] == group]
        p = sub.add_parser(group, help=f"{group}: {', '.join(members)}")
        groups[group] = p.add_subparsers(dest=f"{group}_kind", required=True, parser_class=Parser)
    return groups[group].add_parser(leaf, help=help, description=help)


def _shown(preset: dict) -> str:
    """{"lr": 1e-4, "schedule": None} -> "--lr 0.0001 --schedule constant"."""
    shown = {k: "constant" if k == "schedule" and v is None else v for k, v in preset.items()}
    return " ".join(f"--{k.replace('_', '-')} {v}" for k, v in shown.items())


def parse(argv: list[str]) -> argparse.Namespace:
    """Parse the command line; with --preset NAME, parse again with that preset's values as the defaults, so flags
    given explicitly still win; with --init RUN, likewise with the learned initialization's architecture and
    test-time learning rate (`siren.launch.init_defaults`) as the defaults, over the preset's. Arguments a command
    does not declare are an error, except for commands that take them (`extra`: they arrive in args.extra)."""
    parser = build_parser(LIGHT.get(argv[0]) if argv else None)
    args, extra = parser.parse_known_args(argv)
    defaults = dict(args.task.presets[args.preset]) if getattr(args, "preset", None) else {}
    if getattr(args, "init", None):
        from .launch import init_defaults
        lr_given = any(a == "--lr" or a.startswith("--lr=") for a in argv)
        defaults.update(init_defaults(args.init, lr_given=lr_given))
    if defaults:
        args.parser.set_defaults(**defaults)
        args, extra = parser.parse_known_args(argv)
    if extra and not getattr(getattr(args, "command_", None), "extra", False):
        args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    return args


def _flag(parser: argparse.ArgumentParser | None, field: str) -> str:
    """The command-line name of a config field: its flag (or positional's name) in `parser`."""
    for action in getattr(parser, "_actions", []):
        if action.dest == field:
            return action.option_strings[0] if action.option_strings else (action.metavar or field).upper()
    return "--" + field.replace("_", "-")


def build_parser(module: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or with `module` only of the commands of that `siren.commands` module (no
    training task)."""
    parser = Parser(prog="siren", description="Implicit neural representations with periodic activations.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    groups: dict = {}
    if module:
        registry, others = {}, commands.load(module)
    else:
        from .models import MODEL_CONFIGS
        from .tasks import REGISTRY as registry
        from .train import TrainConfig
        others = commands.load()
    names = [*registry, *others]
    for name, task in registry.items():
        p = _task_parser(sub, groups, names, name, task.help)
        add_arguments(p, task.Config)
        add_arguments(p, MODEL_CONFIGS[task.model_kind])
        add_arguments(p, TrainConfig, defaults=task.train_defaults)
        p.add_argument("--out", required=True, help="run folder for outputs and checkpoints")
        p.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
        p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
        p.add_argument("--no-report", action="store_true", help="do not write report.html at the end")
        if task.presets:
            p.add_argument("--preset", choices=sorted(task.presets), help="named defaults for every flag not given: "
                           + "; ".join(f"{k}: {_shown(v)}" for k, v in task.presets.items()))
        p.set_defaults(func=_cmd_task, task=task, parser=p)

    for name, command in others.items():
        if module and name not in LIGHT:
            continue
        p = _task_parser(sub, groups, names, name, command.help)
        add_arguments(p, command.Config)
        p.set_defaults(func=_cmd_other, command_=command, parser=p)
    return parser


def _out_of_memory(e: Exception) -> bool:
    """Whether `e` is a failed allocation: NumPy's MemoryError, PyTorch's on CPU or CUDA."""
    return isinstance(e, MemoryError) or (isinstance(e, RuntimeError) and any(
        s in str(e) for s in ("can't allocate memory", "out of memory")))


def main(argv: list[str] | None = None) -> int:
    """Run `siren ARGV` -> exit status (0, 1 for a bug, 2 for bad input, 130 interrupted). A torchrun worker ends
    here with that status (`siren.distributed.leave`)."""
    code = _main(sys.argv[1:] if argv is None else argv)
    if "siren.distributed" in sys.modules:      # only a training run can be a torchrun worker
        sys.modules["siren.distributed"].leave(code)
    return code


def _main(argv: list[str]) -> int:
    debug = "--debug" in argv
    warnings.showwarning = lambda msg, *a, **k: print(f"warning: {msg}", file=sys.stderr)
    tune_allocator()  # a CLI run trains: reuse freed heap blocks instead of fresh zeroed pages (about 2x on CPU)
    args = None
    try:
        args = parse(argv)
        return args.func(args)
    except SirenError as e:
        if debug:
            raise
        shown = f"{_flag(getattr(args, 'parser', None), e.field)} {e.message}" if e.field else str(e)
        print(f"error: {shown}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug, not bad input: still one line unless --debug
        if debug:
            raise
        if _out_of_memory(e):       # a size no check foresaw (e.g. a wide network): bad input all the same
            print(f"error: out of memory: {str(e).splitlines()[0][:200]} (use smaller sizes, fewer points per step "
                  f"or a smaller network)", file=sys.stderr)
            return 2
        print(f"error: unexpected {type(e).__name__}: {e} (rerun with --debug for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
