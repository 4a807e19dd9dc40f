"""The bench's own protocols (bench/protocols.py): every variable a byte, so states are
wider than 64 bits; on small instances their properties hold, bfs-jit gives bfs's
counts, and SPIN stores as many states of the exported twin as we find."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from test_promela import needs_spin, spin_counts

from mhpcheck.checker.checker import Checker
from mhpcheck.checker.explicit.bfs import explore
from mhpcheck.checker.explicit.vector_compile import layout_of
from mhpcheck.checker.result import Verdict
from mhpcheck.model.promela import export_promela
from mhpcheck.model.system import DEADLOCK_FREE, TransitionSystem

sys.path.insert(0, str(ROOT / "bench"))
from protocols import PROTOCOLS

SMALL: dict[str, dict[str, Any]] = {
    "ring": {"slots": 3, "values": 2, "producers": 2, "consumers": 1},
    "bakery": {"n": 2, "bound": 3},
    "window": {"window": 2, "slots": 2, "messages": 3},
}


def _build(name: str) -> TransitionSystem:
    return PROTOCOLS[name](SMALL[name]).build()


@pytest.mark.parametrize("name", sorted(SMALL))
def test_properties_hold_and_states_span_words(name: str) -> None:
    ts = _build(name)
    assert layout_of(ts).n_words >= 2
    checker = Checker(ts)
    results = checker.check_many([*ts.properties, DEADLOCK_FREE], "bfs")
    assert [r.verdict for r in results] == [Verdict.HOLDS] * len(results)


def test_ring_buffer_on_bfs_jit_counts_as_bfs() -> None:
    """Dynamic indexing at head and tail, two words a state."""
    ts = _build("ring")
    got = Checker(ts).check(DEADLOCK_FREE, "bfs-jit")
    ref = explore(ts)
    assert (got.stats.distinct_states, got.stats.transitions) == (len(ref.states),
                                                                  ref.transitions)


@needs_spin
@pytest.mark.parametrize("name", sorted(SMALL))
def test_spin_stores_as_many_states_of_the_twin(name: str, tmp_path: Path) -> None:
    ts = _build(name)
    stored, transitions, out = spin_counts(export_promela(ts).text, tmp_path)
    ref = explore(ts)
    assert stored == len(ref.states)
    assert transitions - 1 == ref.transitions
    assert "errors: 0" in out
