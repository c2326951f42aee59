"""Config dataclasses <-> command-line flags: one place for each option's default and help text.

A config is a dataclass whose fields are declared with `option(default, help, ...)`. `add_arguments` turns its
fields into argparse flags (`hidden_features` -> `--hidden-features`; a bool -> a switch; `positional=True` -> a
positional argument, optional unless `required`; `nargs="+"` -> a list), and `from_args` builds the dataclass
back from the parsed namespace. The same dataclass is the Python API and what config.json stores.
"""
from __future__ import annotations

import argparse
import dataclasses
import re
import types
import typing
import warnings

from .errors import SirenError

__all__ = ["option", "add_arguments", "from_args", "Parser"]


_NUMBER = r"(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|inf(?:inity)?|nan"
NEGATIVE_VALUE = re.compile(rf"^-(?:{_NUMBER})(?:,\s*[-+]?(?:{_NUMBER}))*$", re.IGNORECASE)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are SirenErrors (one line, exit code 2 in the CLI), not sys.exit.

    A token that starts with "-" and reads as numbers is a value, not a flag: besides argparse's -1 and -.5 also
    -1e-3, -inf and comma-separated points such as -0.4,0 (`--source -0.4,0`; argparse alone takes it for an
    unknown flag). No flag of siren looks like a number, so none is shadowed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_VALUE    # argparse's own (3.10-3.13): r'^-\d+$|^-\d*\.\d+$'

    def error(self, message):
        raise SirenError(f"{message} (see {self.prog} --help)")


def option(default=None, help: str = "", *, positional: bool = False, choices=None, flag: str | None = None,
           metavar: str | None = None, required: bool = False, nargs: str | None = None, aliases: tuple = ()):
    """A dataclass field with its CLI help. flag: the switch's name when it differs from the field's (e.g. a bool
    field `progress` = True shown as `--no-progress`); required: the flag (or positional) must be given; nargs:
    argparse's, e.g. "+" for a list of values; aliases: former names of the flag, still accepted with a warning
    that names the new one."""
    meta = {"help": help, "positional": positional, "choices": choices, "flag": flag, "metavar": metavar,
            "required": required, "nargs": nargs, "aliases": tuple(aliases)}
    return dataclasses.field(default=default, metadata=meta)


class _Store(argparse._StoreAction):
    """argparse's store, with a deprecation warning when the flag is given by a former name (an alias)."""

    def __call__(self, parser, namespace, values, option_string=None):
        if option_string is not None and option_string != self.option_strings[0]:
            warnings.warn(f"{option_string} is deprecated: use {self.option_strings[0]}", FutureWarning,
                          stacklevel=2)
        super().__call__(parser, namespace, values, option_string)


def _base_type(hint):
    """int | None -> int; bool -> bool; str -> str; list[str] -> str."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return _base_type(args[0]) if len(args) == 1 else str
    if typing.get_origin(hint) in (list, tuple):          # nargs="+": argparse converts each value
        return typing.get_args(hint)[0]
    return hint


def add_arguments(parser: argparse.ArgumentParser, config_type, defaults: dict | None = None) -> None:
    """Add one flag per field of the dataclass `config_type`; `defaults` overrides field defaults (e.g. a task's
    own number of steps). Help texts end with the default."""
    defaults = defaults or {}
    hints = typing.get_type_hints(config_type)
    for f in dataclasses.fields(config_type):
        if not f.init or "help" not in f.metadata:
            continue
        meta, kind = f.metadata, _base_type(hints[f.name])
        default = defaults.get(f.name, f.default)
        shown = "" if default in (None, False, True) else f" (default {default})"
        if meta["positional"]:
            nargs = meta.get("nargs") or (None if meta.get("required") else "?")
            parser.add_argument(f.name, nargs=nargs, default=default, help=meta["help"] + shown,
                                metavar=meta["metavar"])
        elif kind is bool:
            action = "store_false" if default else "store_true"
            parser.add_argument(meta["flag"] or "--" + f.name.replace("_", "-"), dest=f.name, action=action,
                                default=default, help=meta["help"])
        else:
            name = meta["flag"] or "--" + f.name.replace("_", "-")
            parser.add_argument(name, *meta.get("aliases", ()), dest=f.name, type=kind,
                                default=default, choices=meta["choices"], help=meta["help"] + shown,
                                metavar=meta["metavar"], required=meta.get("required", False),
                                nargs=meta.get("nargs"), action=_Store if meta.get("aliases") else "store")


def from_args(config_type, args: argparse.Namespace):
    """The dataclass `config_type` built from the parsed flags that `add_arguments` made for it."""
    return config_type(**{f.name: getattr(args, f.name) for f in dataclasses.fields(config_type)
                          if f.init and hasattr(args, f.name)})
