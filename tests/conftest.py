"""Shared fixtures: the repository root and a way to build the toy models; and the seed
of the property-based tests.

Hypothesis draws from a fixed seed (``CI_SEED``) unless ``--hypothesis-seed`` names
another, so ``make test`` (and a plain ``pytest``) generates the same systems on every
run and a red build is reproducible; the seed is printed in pytest's header and again
under the results. The "ci" profile also turns off the example database, whose replays
of earlier local failures would make one checkout's run differ from another's.
``make fuzz`` passes fresh random seeds instead, under the "fuzz" profile
(docs/design.md, "Testing").

Ctrl-C behaves as at a terminal even when the suite was started in the background by
a shell without job control (a script, a CI wrapper running ``cmd &``): such a shell
starts it with SIGINT ignored, Python then installs no KeyboardInterrupt handler, and
every child inherits the ignore, so the interrupt tests would fail by how they were
launched.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

#: The seed of every property-based test in ``make test`` (any fixed number would do).
CI_SEED = 20261204
# No per-example deadline and no "too slow" health check: both time the machine, and a
# busy CI machine would fail a correct run by chance.
_UNTIMED = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("ci", database=None, print_blob=True, **_UNTIMED)
settings.register_profile("fuzz", print_blob=True, **_UNTIMED)
settings.load_profile(os.environ.get("MHP_HYPOTHESIS_PROFILE", "ci"))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: Any) -> None:
    """Fix hypothesis' seed when the command line names none (this runs before the
    hypothesis plugin reads the option); take SIGINT back if it was ignored."""
    if config.getoption("hypothesis_seed", None) is None:
        config.option.hypothesis_seed = str(CI_SEED)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # children exec with SIG_DFL
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _seed_line(config: Any) -> str:
    seed = config.getoption("hypothesis_seed", None)
    return (f"hypothesis seed {seed} (profile {settings.get_current_profile_name()!r}; "
            f"rerun with --hypothesis-seed={seed})")


def pytest_report_header(config: Any) -> str:
    return _seed_line(config)


def pytest_terminal_summary(terminalreporter: Any, config: Any) -> None:
    """The seed again at the end, where a failure is read (``-q`` hides the header)."""
    terminalreporter.write_line(_seed_line(config))
