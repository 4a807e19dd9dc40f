"""A pytest plugin that runs mhpcheck spec files as tests: ``pytest specs/``.

Registered through the ``pytest11`` entry point, so it is active wherever mhpcheck is
installed. Each check of a spec file is one test item, named after the file and the
check (``specs/textbook/peterson_n3.toml::check[1] mutual-exclusion``); a check that
does not meet its expectation fails with the message ``check-model run --junit``
writes (``cli.ci.failure_message``): expected against actual, the trace in short and
the ``check-model check`` command that reproduces it. ``--junitxml``, ``-k``, ``-x``
and pytest-xdist work as for any test.

Which TOML files are collected: only spec files (a string ``model`` and ``[[check]]``
tables; ``pyproject.toml`` and other TOML are left alone), and only under the paths
given on pytest's command line, so a plain ``pytest`` that runs a project's
``testpaths`` collects no spec it did not collect before. ``--mhp-specs`` (or the ini
option ``mhp_specs = true``) collects spec files under every path pytest searches,
``testpaths`` included.

Tiers: checks of a spec whose tier is not ``--mhp-tier`` (default ``default``; ``all``
for every tier) are skipped with a reason that names the option.

The checks of one spec run together, as in ``check-model run``: the first item of a
file to run explores for all of its selected items (one exploration answers every
check with the same engine and budget), and the others take their outcome from it.
The engine modules are imported only when a spec file is collected.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mhpcheck.cli.runner import Outcome
    from mhpcheck.cli.spec import Check, Spec
    from mhpcheck.model.system import TransitionSystem

#: Read at most this much of a .toml file to decide whether it is a spec.
_PEEK_BYTES = 1 << 20


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mhpcheck", "mhpcheck spec files")
    group.addoption("--mhp-tier", default="default", metavar="TIER",
                    help="Run the checks of spec files of this tier ('all': every tier); "
                         "the others are skipped. Default: default.")
    group.addoption("--mhp-specs", action="store_true", default=False,
                    help="Collect mhpcheck spec files (*.toml) under every path pytest "
                         "searches, testpaths included, not only under the paths given "
                         "on the command line.")
    parser.addini("mhp_specs", type="bool", default=False,
                  help="Like --mhp-specs: collect spec files under testpaths too.")


def _given_paths(config: pytest.Config) -> list[Path]:
    """The paths named on the command line (node ids without their ``::`` part); none
    when pytest fell back to testpaths or the current folder."""
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        return []
    here = config.invocation_params.dir
    return [(here / arg.split("::", 1)[0]).resolve() for arg in config.args]


def _wanted(config: pytest.Config, path: Path) -> bool:
    """Whether ``path`` may be collected as a spec: asked for everywhere, or under a path
    the command line names."""
    if config.getoption("mhp_specs") or config.getini("mhp_specs"):
        return True
    resolved = path.resolve()
    return any(resolved == given or given in resolved.parents
               for given in _given_paths(config))


def is_spec_file(path: Path) -> bool:
    """Whether the TOML file ``path`` is an mhpcheck spec: a string ``model`` and a list of
    ``[[check]]`` tables. A file that is not valid TOML counts when it has a
    ``[[check]]`` header and a ``model`` line, so its syntax error is reported rather
    than the file silently left out."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(_PEEK_BYTES)
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        return bool(re.search(r"^\s*\[\[\s*check\s*\]\]", text, re.M)
                    and re.search(r"^\s*model\s*=", text, re.M))
    return isinstance(data.get("model"), str) and isinstance(data.get("check"), list)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> SpecFile | None:
    if file_path.suffix != ".toml" or not _wanted(parent.config, file_path):
        return None
    if not is_spec_file(file_path):
        return None
    spec_file: SpecFile = SpecFile.from_parent(parent, path=file_path)
    return spec_file


class CheckFailed(Exception):
    """A check did not meet its expectation; the message says how and how to rerun it."""


class SpecFile(pytest.File):
    """One spec file: its checks are the items; it runs them together and keeps the
    outcomes (or the error that stopped the run) for its items."""

    spec: Spec | None = None
    _outcomes: dict[str, Outcome] | None = None
    _system: TransitionSystem | None = None
    _error: BaseException | None = None

    def collect(self) -> Iterator[pytest.Item]:
        from dataclasses import replace

        from mhpcheck.cli.ci import case_name
        from mhpcheck.cli.spec import load_spec

        spec = load_spec(self.path)
        try:  # messages name the file as the user would: from where pytest was started
            shown = self.path.relative_to(self.config.invocation_params.dir)
        except ValueError:
            shown = self.path
        self.spec = spec = replace(spec, path=str(shown))
        tier = self.config.getoption("mhp_tier")
        for check in spec.checks:
            item: SpecItem = SpecItem.from_parent(self, name=case_name(check), check=check)
            if tier not in ("all", spec.tier):
                item.add_marker(pytest.mark.skip(
                    reason=f"spec of tier {spec.tier} (run it with --mhp-tier {spec.tier} "
                           f"or --mhp-tier all)"))
            yield item

    def outcome(self, item: SpecItem) -> tuple[Outcome, TransitionSystem]:
        """``item``'s outcome; the first call runs every check of this file that the
        session selected (``-k``, node ids) and does not skip, in one batch. An error
        (a spec that does not resolve, say) is kept and fails every item."""
        if self._error is not None:
            raise self._error
        if self._outcomes is None:
            self._outcomes = {}
        if item.check.key not in self._outcomes:
            try:
                self._run(item)
            except Exception as err:
                self._error = err
                raise
        assert self._system is not None
        return self._outcomes[item.check.key], self._system

    def _run(self, item: SpecItem) -> None:
        from dataclasses import replace

        from mhpcheck.cli.runner import run_checks
        from mhpcheck.cli.spec import resolve

        assert self.spec is not None and self._outcomes is not None
        if self._system is None:
            self._system = resolve(self.spec)
        done = self._outcomes
        selected = {i.check.key for i in self.session.items
                    if isinstance(i, SpecItem) and i.parent is self
                    and i.get_closest_marker("skip") is None and i.check.key not in done}
        selected.add(item.check.key)
        checks = tuple(c for c in self.spec.checks if c.key in selected)
        for got in run_checks(replace(self.spec, checks=checks), self._system):
            done[got.check.key] = got

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> Any:
        from mhpcheck.model.errors import MhpError

        if isinstance(excinfo.value, MhpError):  # a spec error: its one line names the key
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class SpecItem(pytest.Item):
    """One check of a spec file: passes when its outcome is ok."""

    def __init__(self, *, check: Check, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check

    @property
    def spec_file(self) -> SpecFile:
        assert isinstance(self.parent, SpecFile)
        return self.parent

    def runtest(self) -> None:
        from mhpcheck.cli.ci import failure_message, reproduce_command

        outcome, ts = self.spec_file.outcome(self)
        r = outcome.result
        self.user_properties += [("verdict", r.verdict.value), ("expected", self.check.expect),
                                 ("distinct_states", r.stats.distinct_states),
                                 ("engine", r.engine),
                                 ("reproduce", reproduce_command(outcome.spec, self.check))]
        if not outcome.ok:
            raise CheckFailed(failure_message(outcome, ts))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> Any:
        from mhpcheck.model.errors import MhpError

        if isinstance(excinfo.value, CheckFailed | MhpError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, self.nodeid


__all__ = ["CheckFailed", "SpecFile", "SpecItem", "is_spec_file"]
