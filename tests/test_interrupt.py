"""Ctrl-C (SIGINT) stops every engine within about a second, Z3 calls included.

Z3 used to take the signal itself: a BMC check replayed its "unknown" into a general
solver and ran on for minutes, and PDR reported the interrupt as an "unknown" verdict.
Each case runs the CLI in a subprocess, lets the engine get going, sends SIGINT and
waits; the limits are generous (the machine may be busy), the latency measured on an
idle one is a few tenths of a second.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from mhpcheck.checker.symbolic import z3api as z

CHECK_MODEL = str(Path(sys.executable).parent / "check-model")
PETERSON = ["peterson", "--param", "n=4", "-p", "mutex"]
#: Each runs for many seconds on an idle machine, mostly inside Z3 (or numpy, bfs-vec).
CASES = {
    "bmc": [*PETERSON, "-e", "bmc", "--max-depth", "200"],
    "kind": [*PETERSON, "-e", "kind", "--max-depth", "200"],
    "pdr": [*PETERSON, "-e", "pdr"],
    "bfs": ["peterson", "--param", "n=6", "-p", "mutex", "-e", "bfs"],
    "bfs-vec": ["peterson", "--param", "n=7", "-p", "mutex", "-e", "bfs-vec"],
    "bfs-jit": ["peterson", "--param", "n=7", "-p", "mutex", "-e", "bfs-jit"],
}
#: Seconds the engine runs before the signal, and the most it may take to stop.
RUN_S = 3.0
STOP_S = 5.0


def _compile_ahead(engine: str) -> None:
    """bfs-jit: compile the system's kernels into the disk cache first, so that the signal
    lands in the search (a signal during LLVM's passes waits for them to return)."""
    if engine != "bfs-jit":
        return
    from mhpcheck.checker.explicit.jit import build_kernel
    from mhpcheck.registry import build_system
    build_kernel(build_system("peterson", {"n": 7}, {}, None), [])


@pytest.mark.parametrize("engine", sorted(CASES))
def test_ctrl_c_stops_the_engine_promptly_without_a_verdict(engine: str) -> None:
    _compile_ahead(engine)
    proc = subprocess.Popen([CHECK_MODEL, "check", *CASES[engine], "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        try:
            proc.wait(RUN_S)
        except subprocess.TimeoutExpired:
            pass
        else:
            pytest.fail(f"{engine} finished in under {RUN_S} s: pick a longer run")
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        out, err = proc.communicate(timeout=STOP_S)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert took < STOP_S, (engine, took)
    assert proc.returncode != 0, (engine, out, err)
    for verdict in ("proved", "holds", "unknown", "violated"):
        assert verdict not in out, (engine, out)


def _pigeonhole(n: int) -> tuple[list[z.Term], list[z.Term]]:
    """n + 1 pigeons in n holes: unsatisfiable, and a long proof for a SAT solver."""
    p = [[z.bool_var(f"p{i}_{j}") for j in range(n)] for i in range(n + 1)]
    clauses = [z.or_(row) for row in p]
    for j in range(n):
        for i in range(n + 1):
            clauses += [z.or_([z.not_(p[i][j]), z.not_(p[k][j])]) for k in range(i + 1, n + 1)]
    return [t for row in p for t in row], clauses


@z.fresh_context
def _solve_pigeonhole() -> str:
    s = z.Solver()
    for c in _pigeonhole(11)[1]:
        s.add(c)
    return s.check(timeout=STOP_S * 6)


@z.fresh_context
def _spacer_pigeonhole() -> str:
    """A Horn problem whose one query is the pigeonhole problem (Spacer swallows the
    KeyboardInterrupt in a Z3 callback: the run's interrupt flag raises it again)."""
    horn = z.Horn(timeout=STOP_S * 6)
    x = z.int_var("x")
    pigeons, clauses = _pigeonhole(10)
    inv, bad = horn.relation("Inv", ["int"]), horn.relation("Bad", [])
    horn.declare([x, *pigeons])
    horn.rule(inv([z.int_val(0)]), [])
    horn.rule(bad([]), [inv([x]), *clauses])
    return horn.query(bad)


@pytest.mark.parametrize("call", [_solve_pigeonhole, _spacer_pigeonhole],
                         ids=["solver", "spacer"])
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # that callback
def test_ctrl_c_inside_a_z3_call_raises_keyboard_interrupt(call: Any) -> None:
    """In process: SIGINT half a second into a Z3 call that would run for minutes
    ends it with KeyboardInterrupt, not with an "unknown" answer (each call has a
    timeout, so a regression fails instead of hanging)."""
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            call()
    finally:
        timer.join()
    assert time.monotonic() - start < STOP_S
