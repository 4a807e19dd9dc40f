"""Options and error handling shared by the check-model commands."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from mhpcheck.checker.result import Progress, ProgressFn
from mhpcheck.model.compile import check_fits
from mhpcheck.model.errors import (
    EXIT_ERROR,
    EXIT_INCONCLUSIVE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_VIOLATED,
    Interrupted,
    MhpError,
    ResourceLimit,
)
from mhpcheck.model.resources import available_memory, gigabytes
from mhpcheck.model.system import TransitionSystem
from mhpcheck.registry import build_system
from mhpcheck.userfile import is_model_file, split_ref

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


def env_columns() -> int | None:
    """COLUMNS as a width, or None when unset or not a sensible width (``abc``, ``0``,
    ``-5``, ``1e9``): a bad environment variable is ignored, never an error."""
    raw = os.environ.get("COLUMNS", "").strip()
    if not raw.isascii() or not raw.isdigit():
        return None
    width = int(raw)
    return width if 20 <= width <= 10_000 else None


class NonNegativeInt(click.ParamType[int]):
    """An integer option that must not be negative (``--max-states``, ``--max-depth``)."""

    name = "integer"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = int(str(value).strip(), 10)
            except ValueError:
                self.fail(f"{value!r} is not an integer", param, ctx)
        if number < 0:
            self.fail(f"{number} is negative; give 0 or more", param, ctx)
        return number


class Seconds(click.ParamType[float]):
    """A timeout in seconds: a finite number, 0 or more (``inf`` and ``nan`` are refused:
    ``nan`` compares false with everything and would switch the limit off)."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(number) or number < 0:
            self.fail(f"{value!r} is not a finite number of seconds, 0 or more "
                      "(leave the option out for no limit)", param, ctx)
        return number


NON_NEGATIVE = NonNegativeInt()
SECONDS = Seconds()


class Explored:
    """The latest progress report of the running engine, for a run cut short, and a
    watch on the memory the search uses.

    An interrupted run (Ctrl-C) or one out of memory reports what was explored
    from here; ``record`` wraps the progress callback the engines call (every half
    second or BFS level). Each report also compares the process's resident memory
    with what the machine had available when the command started (``start``): past
    ``MEMORY_SHARE`` of it the search stops with a ResourceLimit (exit 3) saying
    what it explored, before the kernel's OOM killer ends it without a word (a
    Python MemoryError rarely comes first on Linux).
    """

    MEMORY_SHARE = 0.9
    last: Progress | None = None
    limit: int | None = None  # bytes of resident memory the search may reach

    @classmethod
    def start(cls) -> None:
        cls.last = None
        free = available_memory()
        cls.limit = None if free is None else _resident() + int(free * cls.MEMORY_SHARE)

    @classmethod
    def record(cls, show: ProgressFn) -> ProgressFn:
        def recorder(p: Progress) -> None:
            cls.last = p
            if cls.limit is not None and _resident() > cls.limit:
                raise ResourceLimit(f"out of memory: the search holds "
                                    f"{gigabytes(_resident())}, the machine had "
                                    f"{gigabytes(cls.limit)} to give{cls.summary()}; give "
                                    "smaller parameters or --max-states")
            show(p)
        return recorder

    @classmethod
    def summary(cls) -> str:
        p = cls.last
        if p is None:
            return ""
        if not p.states and not p.transitions:  # a symbolic engine: frames, bounds, lemmas
            return f" ({p.note}, after {p.seconds:.1f} s)" if p.note else \
                f" (at depth {p.depth}, after {p.seconds:.1f} s)"
        return (f" (explored {p.states:,} states, depth {p.depth}, {p.transitions:,} "
                f"transitions in {p.seconds:.1f} s)")


def resident_memory() -> int:
    """This process's resident memory in bytes (0 where /proc is missing)."""
    return _resident()


def _resident() -> int:
    """This process's resident memory in bytes (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class Main(click.Group):
    """The top-level group: every failure ends in one line and its exit code.

    Click would print "Aborted!" and exit 1 on Ctrl-C, a usage block on a bad
    option, and a traceback on anything else; here a usage error is one line
    (exit 2), Ctrl-C is "interrupted" (exit 130), an MhpError its message and
    code, and running out of memory a ResourceLimit (exit 3) with what was
    explored.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            if sys.stderr.isatty():  # past the "^C" and any progress line
                click.echo(err=True)
            raise Interrupted(f"interrupted{Explored.summary()}") from None
        except MemoryError:
            raise ResourceLimit(f"out of memory{Explored.summary()}: the instance is too "
                                "big for this machine; give smaller --param values or "
                                "--max-states") from None
        except RecursionError:
            raise ResourceLimit("input nested too deeply (recursion limit)") from None

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        Explored.start()
        try:
            rv = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.Abort:
            fail(f"interrupted{Explored.summary()}", EXIT_INTERRUPTED)
        except click.exceptions.NoArgsIsHelpError as err:  # a bare group: its help
            err.show()
            sys.exit(EXIT_ERROR)
        except click.ClickException as err:
            where = f" (see {err.ctx.command_path} --help)" if \
                isinstance(err, click.UsageError) and err.ctx is not None else ""
            fail(f"{err.format_message()}{where}", EXIT_ERROR)
        except MhpError as err:
            fail(str(err), err.exit_code)
        if not standalone_mode:
            return rv
        sys.exit(rv if isinstance(rv, int) else EXIT_OK)


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


def model_inputs(model: str | None, base: Path | None = None) -> list[str]:
    """The model file MODEL names (relative to ``base``), which no output option may
    overwrite; none for a registered model's name."""
    if model is None or not is_model_file(model):
        return []
    try:
        file, _ = split_ref(model)
    except MhpError:
        return []
    return [str((base or Path()) / file)]


def system_from_options(model: str, params: tuple[str, ...], knobs: tuple[str, ...],
                        preset: str | None) -> TransitionSystem:
    """Build MODEL with --param, --set and --preset values; refuse (ResourceLimit, exit
    3) an instance whose semantics would not fit in memory before compiling them."""
    ts = build_system(model, parse_pairs(params, "--param"), parse_pairs(knobs, "--set"),
                      preset)
    check_fits(ts)
    return ts


def _one_preset(ctx: click.Context, param: click.Parameter,
                value: tuple[str, ...]) -> str | None:
    """The one --preset given (None: none); a second one would silently replace the first."""
    if len(value) > 1:
        raise click.BadParameter(f"given {len(value)} times ({', '.join(value)}); presets do "
                                 "not combine: give one, and --set the knobs that differ",
                                 ctx, param)
    return value[0] if value else None


def model_options(fn: F) -> F:
    """--param, --set and --preset, shared by commands that build a model."""
    fn = click.option("--preset", multiple=True, callback=_one_preset,
                      help="A named set of knob values.")(fn)
    fn = click.option("--set", "knobs", multiple=True, metavar="KNOB=VALUE",
                      help="Set a design knob (repeatable).")(fn)
    fn = click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
                      help="Set a size parameter (repeatable).")(fn)
    return fn
