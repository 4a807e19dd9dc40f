"""Hash partitioning of packed states: which of ``n`` workers owns a state.

A state's owner is a hash of its sort key (``vector.state_keys``: the word itself for
one-word states, else a 64-bit hash of the words) modulo ``n``. It depends on the key
alone, so whoever holds a key (a successor, a parent on a trace) knows where the state
lives without asking anyone.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .vector_compile import Packed

Keys = npt.NDArray[np.uint64]
Owners = npt.NDArray[np.intp]

#: Fibonacci hashing: the high bits of the key times 2^64 / golden ratio.
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_SHIFT = np.uint64(40)


def owners(keys: Keys, n: int) -> Owners:
    """The owner (0 .. n-1) of each key: the top 24 bits of the key times an odd
    constant (which depend on every bit of the key), scaled to ``n``.

    This spreads one-word states, whose keys are the states themselves and often differ
    in a few bits only, evenly over the workers, in four passes over the batch."""
    if n == 1:
        return np.zeros(len(keys), np.intp)
    if n >= 1 << 24:
        raise ValueError(f"at most {(1 << 24) - 1} workers, got {n}")
    h = keys * _GOLDEN
    h >>= _SHIFT
    h *= np.uint64(n)
    h >>= np.uint64(24)
    out: Owners = h.view(np.int64).astype(np.intp, copy=False)
    return out


def owner(key: int, n: int) -> int:
    """The owner of one key."""
    return int(owners(np.array([key], np.uint64), n)[0])


def split(keys: Keys, rows: Packed, n: int) -> list[Packed]:
    """``rows`` (with their ``keys``) cut into one array per owner, each keeping the
    order of ``rows`` (so rows sorted by key stay sorted within each part)."""
    if n == 1:
        return [rows]
    who = owners(keys, n)
    # a stable sort of 16-bit owners is a radix sort: linear in the batch
    order = np.argsort(who.astype(np.uint16) if n <= 1 << 16 else who, kind="stable")
    bounds = np.cumsum(np.bincount(who, minlength=n))[:-1]
    ordered = rows[..., order]
    return list(np.split(ordered, bounds, axis=-1))
