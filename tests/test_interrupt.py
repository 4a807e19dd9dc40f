"""Ctrl-C (SIGINT) stops every engine within about a second, Z3 calls included.

Z3 used to take the signal itself: a BMC check replayed its "unknown" into a general
solver and ran on for minutes, and PDR reported the interrupt as an "unknown" verdict.
Each case runs the CLI in a subprocess, lets the engine get going, sends SIGINT and
waits; the limits are generous (the machine may be busy), the latency measured on an
idle one is a few tenths of a second.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHECK_MODEL = str(Path(sys.executable).parent / "check-model")
PETERSON = ["peterson", "--param", "n=4", "-p", "mutex"]
#: Each runs for many seconds on an idle machine, mostly inside Z3 (or numpy, bfs-vec).
CASES = {
    "bmc": [*PETERSON, "-e", "bmc", "--max-depth", "200"],
    "kind": [*PETERSON, "-e", "kind", "--max-depth", "200"],
    "pdr": [*PETERSON, "-e", "pdr"],
    "bfs": ["peterson", "--param", "n=6", "-p", "mutex", "-e", "bfs"],
    "bfs-vec": ["peterson", "--param", "n=7", "-p", "mutex", "-e", "bfs-vec"],
}
#: Seconds the engine runs before the signal, and the most it may take to stop.
RUN_S = 3.0
STOP_S = 5.0


def _default_sigint() -> None:
    """In the child: SIGINT as a terminal delivers it (a shell without job control
    starts background jobs with SIGINT ignored, and exec keeps that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("engine", sorted(CASES))
def test_ctrl_c_stops_the_engine_promptly_without_a_verdict(engine: str) -> None:
    proc = subprocess.Popen([CHECK_MODEL, "check", *CASES[engine], "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)
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
