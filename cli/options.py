"""Options and error handling shared by the check-model commands."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

import click

from mhpcheck.model.errors import (
    EXIT_ERROR,
    EXIT_INCONCLUSIVE,
    EXIT_OK,
    EXIT_VIOLATED,
    MhpError,
)
from mhpcheck.model.system import TransitionSystem
from mhpcheck.registry import build_system

EXIT_FAIL = EXIT_VIOLATED
__all__ = ["EXIT_ERROR", "EXIT_FAIL", "EXIT_INCONCLUSIVE", "EXIT_OK"]

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print ``message`` on stderr and exit ``code`` (2: usage, spec or model error)."""
    click.echo(f"check-model: error: {message}", err=True)
    sys.exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn every MhpError into a one-line message and its exit code, never a traceback."""
    try:
        yield
    except MhpError as err:
        fail(str(err), err.exit_code)


def parse_value(raw: str) -> bool | int | str:
    """A command-line value: true/false, an integer, or a string."""
    low = raw.lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return int(raw)
    except ValueError:
        return raw


def parse_pairs(pairs: tuple[str, ...], option: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(f"{option} expects KEY=VALUE, got {pair!r}")
        out[key.strip()] = parse_value(value.strip())
    return out


def system_from_options(model: str, params: tuple[str, ...], knobs: tuple[str, ...],
                        preset: str | None) -> TransitionSystem:
    """Build MODEL with --param, --set and --preset values."""
    return build_system(model, parse_pairs(params, "--param"), parse_pairs(knobs, "--set"),
                        preset)


def model_options(fn: F) -> F:
    """--param, --set and --preset, shared by commands that build a model."""
    fn = click.option("--preset", default=None, help="A named set of knob values.")(fn)
    fn = click.option("--set", "knobs", multiple=True, metavar="KNOB=VALUE",
                      help="Set a design knob (repeatable).")(fn)
    fn = click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
                      help="Set a size parameter (repeatable).")(fn)
    return fn
