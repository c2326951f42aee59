"""The commands that do not train, behind one registry (the training tasks are `siren.tasks.REGISTRY`).

A command is a name ("render", "prior inpaint": a subcommand of the group "prior"), a help line, a Config
dataclass of its own options (fields declared with `siren.options.option`: the CLI flags come from it) and a
function run(config) -> the line to print. `@command(name, help, Config)` registers one; with extra=True the
command also receives the arguments its Config does not declare, in the field `extra` (`siren render`: the options
of the checkpoint's task). `load()` imports the modules that register every command: render, mesh, report,
stats, prior inpaint, prior interpolate, compress, decompress, export, meta encode, meta decode; `load(module)` one
of them (`siren compress` / `decompress` start without the training tasks: `siren.cli.LIGHT`).
"""
from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Command", "COMMANDS", "command", "load"]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    Config: type
    run: Callable[[object], str]
    extra: bool = False


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, Config: type, extra: bool = False):
    """Decorator: register run(config) -> str as the command `name` with the options of the dataclass Config
    (extra: see the module docstring)."""
    if not dataclasses.is_dataclass(Config):
        raise TypeError(f"{Config.__name__} must be a dataclass")

    def register(run):
        if name in COMMANDS:
            raise ValueError(f"command {name!r} is taken")
        COMMANDS[name] = Command(name, help, Config, run, extra)
        return run
    return register


MODULES = ("checkpoints", "codec", "export", "meta", "prior", "runs")


def load(module: str | None = None) -> dict[str, Command]:
    """Import one command module (or all of `MODULES`), registering its commands -> COMMANDS."""
    for name in (module,) if module else MODULES:
        importlib.import_module(f".{name}", __name__)
    return COMMANDS
