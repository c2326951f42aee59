"""siren.options: a config dataclass <-> argparse flags, and back."""
from __future__ import annotations

import argparse
from dataclasses import dataclass

import pytest

from siren.options import add_arguments, from_args, option


@dataclass
class Example:
    path: str | None = option(None, "input", positional=True)
    width: int = option(7, "a width")
    scale: float | None = option(None, "a scale")
    mode: str = option("a", "a mode", choices=["a", "b"])
    fast: bool = option(False, "go fast")
    progress: bool = option(True, "hide progress", flag="--no-progress")


def _parse(argv, defaults=None):
    p = argparse.ArgumentParser()
    add_arguments(p, Example, defaults)
    return from_args(Example, p.parse_args(argv))


def test_defaults_round_trip_to_the_dataclass():
    assert _parse([]) == Example()


def test_flags_types_switches_and_positionals():
    got = _parse(["in.png", "--width", "3", "--scale", "0.5", "--mode", "b", "--fast", "--no-progress"])
    assert got == Example("in.png", 3, 0.5, "b", True, False)
    assert isinstance(got.width, int) and isinstance(got.scale, float)


def test_overridden_defaults_and_choices():
    assert _parse([], {"width": 99}).width == 99
    with pytest.raises(SystemExit):
        _parse(["--mode", "c"])


def test_a_renamed_flag_still_works_with_a_warning():
    """--first-omega (the name before first_omega_0) sets the same field, with a deprecation warning naming the
    new flag; the new name gives no warning."""
    import warnings

    from siren.cli import parse
    with pytest.warns(FutureWarning, match="--first-omega is deprecated: use --first-omega-0"):
        old = parse(["fit", "image", "--demo", "cameraman", "--first-omega", "20", "--out", "x"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new = parse(["fit", "image", "--demo", "cameraman", "--first-omega-0", "20", "--out", "x"])
    assert old.first_omega_0 == new.first_omega_0 == 20.0
