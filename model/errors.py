"""User-facing errors: each names what to fix (file, key, model, action, variable)."""

from __future__ import annotations


class MhpError(Exception):
    """Base of every error the CLI reports as exit code 2 without a traceback."""


class ModelError(MhpError):
    """A model is malformed: the message names the action and the variable."""


class SpecError(MhpError):
    """A spec file is malformed: the message names the file and the key."""


class TraceError(MhpError):
    """A trace file cannot be read or does not replay."""


class ReplayMismatch(TraceError):
    """A recorded trace diverges from the explicit semantics at a named step."""
