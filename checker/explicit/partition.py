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

_M1, _M2 = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53)


def owners(keys: Keys, n: int) -> Owners:
    """The owner (0 .. n-1) of each key: the high half of a mixed key, modulo ``n``.

    Mixing spreads one-word states, whose keys are the states themselves and differ
    in a few low bits, evenly over the workers."""
    if n == 1:
        return np.zeros(len(keys), np.intp)
    h = keys ^ (keys >> np.uint64(33))
    h *= _M1
    h ^= h >> np.uint64(33)
    h *= _M2
    h ^= h >> np.uint64(33)
    out: Owners = ((h >> np.uint64(32)) % np.uint64(n)).astype(np.intp)
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
    order = np.argsort(who, kind="stable")
    bounds = np.cumsum(np.bincount(who, minlength=n))[:-1]
    ordered = rows[..., order]
    return list(np.split(ordered, bounds, axis=-1))
