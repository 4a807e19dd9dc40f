"""Every error mhpcheck reports, each with its exit code: the one errors module.

A user's mistake is one line naming what to fix (the file and key, the option, the
model, action and variable), never a traceback. The exit codes are part of the
product and documented in the README:

====  =====================================================================
0     every check as expected (or: the property holds / is proved)
1     a mismatch (or: the property is violated)
2     a usage, spec, model or trace error (``UsageError``, ``SpecError``,
      ``ModelError``, ``TraceError``), an engine that does not check a kind
      of property (``Unsupported``)
3     inconclusive: a bound, a timeout, a solver's "unknown", or a resource
      limit (``ResourceLimit``: the instance is too big for this machine)
4     an internal error: mhpcheck contradicted itself (``InternalError``)
130   interrupted (Ctrl-C)
====  =====================================================================
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_VIOLATED = 1
EXIT_ERROR = 2
EXIT_INCONCLUSIVE = 3
EXIT_INTERNAL = 4
EXIT_INTERRUPTED = 130


class MhpError(Exception):
    """Base of every error the CLI reports in one line without a traceback."""

    exit_code: int = EXIT_ERROR


class UsageError(MhpError):
    """A command-line option or API argument is wrong: the message names it."""


class SpecError(MhpError):
    """A spec file is malformed: the message names the file and the key."""


class ModelError(MhpError):
    """A model is malformed: the message names the action and the variable."""


class TraceError(MhpError):
    """A trace file cannot be read or does not replay."""


class ReplayMismatch(TraceError):
    """A recorded trace diverges from the explicit semantics at a named step."""


class Unsupported(UsageError):
    """An engine does not check this kind of property (one message everywhere)."""

    def __init__(self, engine: str, kind: str, prop: str, engines: tuple[str, ...]) -> None:
        others = ", ".join(engines) if engines else "none"
        super().__init__(f"engine {engine} does not check {kind} properties "
                         f"(property {prop}); engines that do: {others}")
        self.engine, self.kind, self.prop = engine, kind, prop


class ResourceLimit(MhpError):
    """The instance does not fit this machine's memory or the run's budget (exit 3)."""

    exit_code = EXIT_INCONCLUSIVE


class InternalError(MhpError):
    """mhpcheck contradicted itself (for example, a trace that does not replay): a bug."""

    exit_code = EXIT_INTERNAL


class Interrupted(MhpError):
    """The user pressed Ctrl-C; the message says what was explored so far."""

    exit_code = EXIT_INTERRUPTED
