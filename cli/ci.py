"""What CI shows of a spec run: failure messages, the command that reproduces a check,
the JUnit XML report and the summary counts of the JSON report.

The pytest plugin (``cli.pytest_plugin``) and ``check-model run --junit`` share
``failure_message``, so a failing check reads the same in pytest's output, in a
JUnit viewer and in the terminal: expected against actual (verdict and counts), the
trace in short (its steps' actions, then the first lines of the step table), and a
``check-model check`` command line that runs the one check again.
"""

from __future__ import annotations

import re
import shlex
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from mhpcheck.model.exprparse import parse_property_name
from mhpcheck.model.parametric import system_of
from mhpcheck.model.system import TransitionSystem

from .runner import Outcome
from .spec import Check, Spec

#: How much of a trace a failure message shows: actions, then lines of the step table.
TRACE_ACTIONS = 30
TRACE_LINES = 25


def _value(value: Any) -> str:
    """A parameter or knob value as the command line takes it (true/false, not True)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def reproduce_command(spec: Spec, check: Check) -> str:
    """The ``check-model check`` command line that runs ``check`` of ``spec`` alone:
    the same model, parameters, preset, knobs, property, engine, bounds and options,
    quoted for a POSIX shell."""
    argv = ["check-model", "check", spec.model]
    for name, value in spec.params:
        argv += ["--param", f"{name}={_value(value)}"]
    if spec.preset is not None:
        argv += ["--preset", spec.preset]
    for name, value in spec.knobs:
        argv += ["--set", f"{name}={_value(value)}"]
    own = parse_property_name(check.property)
    if own is None:
        argv += ["-p", check.property]
    else:
        argv += [f"--{own[0]}-expr", own[1]]
    argv += ["-e", check.engine]
    budget = check.budget
    if budget.max_depth is not None:
        argv += ["--max-depth", str(budget.max_depth)]
    if budget.max_states is not None:
        argv += ["--max-states", str(budget.max_states)]
    if budget.timeout is not None:
        argv += ["--timeout", f"{budget.timeout:g}"]
    if check.symmetry:
        argv.append("--symmetry")
    for name in check.invariants:
        argv += ["--invariant", name]
    return shlex.join(argv)


def _expected(check: Check) -> str:
    parts = [check.expect]
    if check.expect_states is not None:
        parts.append(f"{check.expect_states:,} distinct states")
    if check.expect_trace_length is not None:
        parts.append(f"a trace of {check.expect_trace_length} steps")
    return ", ".join(parts)


def _actual(outcome: Outcome) -> str:
    r = outcome.result
    verdict = r.verdict.value + (f" ({r.bound})" if r.bound else "")
    trace = "no trace" if r.trace is None else f"a trace of {len(r.trace)} steps"
    return (f"{verdict}, {r.stats.distinct_states:,} distinct states, {trace} "
            f"[{r.engine}: depth {r.stats.depth}, {r.stats.transitions:,} transitions, "
            f"{r.stats.seconds:.2f} s]")


def trace_summary(outcome: Outcome, ts: TransitionSystem | None) -> list[str]:
    """The result's trace in short: the steps' actions on one line, then (given the
    system) the first ``TRACE_LINES`` lines of the step table in plain ASCII."""
    trace = outcome.result.trace
    if trace is None:
        return []
    labels = [step.label for step in trace.steps[1:]]
    if trace.loop_action is not None:
        labels.append(f"{trace.loop_action[0]}(...) back to state {trace.loop}")
    shown = labels[:TRACE_ACTIONS]
    more = f" ... ({len(labels) - len(shown)} more)" if len(labels) > len(shown) else ""
    lines = [f"trace ({trace.kind}, {len(trace)} steps): "
             f"{' -> '.join(shown) or '(the initial state)'}{more}"]
    if ts is not None:
        from .render import render_trace
        from .viewer import Options
        shown_in = system_of(ts, trace)
        table = render_trace(shown_in, trace, Options(width=100, ascii=True, show_map=False,
                                                      docs=False)).splitlines()
        lines += [f"    {line}".rstrip() for line in table[:TRACE_LINES]]
        if len(table) > TRACE_LINES:
            lines.append(f"    ... ({len(table) - TRACE_LINES} more lines: run the command "
                         "below, or check-model trace show)")
    return lines


def failure_message(outcome: Outcome, ts: TransitionSystem | None = None) -> str:
    """Why ``outcome`` is not ok, readable in a CI log: the check, expected against
    actual, the problems, the trace in short and the command that reproduces it."""
    check = outcome.check
    head = f"{outcome.spec.path} {check.key} {check.property} (engine {check.engine}): " \
           f"{outcome.status}"
    lines = [head,
             f"  expected: {_expected(check)}",
             f"  actual:   {_actual(outcome)}"]
    lines += [f"  problem:  {p}" for p in outcome.problems]
    if outcome.result.message:
        lines.append(f"  engine:   {outcome.result.message}")
    if check.note:
        lines.append(f"  note:     {check.note}")
    lines += [f"  {line}" for line in trace_summary(outcome, ts)]
    lines.append(f"  reproduce: {reproduce_command(outcome.spec, check)}")
    return "\n".join(line.rstrip() for line in lines)


def summary_json(outcomes: Sequence[Outcome], seconds: float, specs: int,
                 skipped_specs: int) -> dict[str, Any]:
    """The ``summary`` object of the JSON report: counts by status and the run's time."""
    counts = {status: sum(1 for o in outcomes if o.status == status)
              for status in ("ok", "mismatch", "inconclusive")}
    return {"checks": len(outcomes), **counts, "seconds": round(seconds, 3),
            "specs": specs, "skipped_specs": skipped_specs}


def case_name(check: Check) -> str:
    """A check's name in JUnit reports and pytest: its number and property,
    ``check2:mutual-exclusion``. Brackets (``check[2]``, ``pc[i]`` in a property of the
    user's own) become parentheses: pytest reads a bracket in a name as the start of
    a parameter id and its JUnit report would cut the name there."""
    name = f"{check.key.replace('[', '').replace(']', '')}:{check.property}"
    return name.replace("[", "(").replace("]", ")")


def class_name(spec_path: str) -> str:
    """A spec's JUnit class name: its path without ``.toml``, with dots for slashes (JUnit
    viewers group test cases by the dotted prefix, as by a package)."""
    path = Path(spec_path)
    parts = [p for p in path.with_suffix("").parts if p not in ("/", ".", "..")]
    return ".".join(parts)


#: Characters XML 1.0 cannot carry at all (escaping does not help): C0 controls but
#: tab, newline and carriage return, surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """``text`` with the characters XML cannot carry replaced by U+FFFD (a property of
    the user's own, or an engine's message, might hold one)."""
    return _NOT_XML.sub("\ufffd", text)


def junit_tree(cases: Sequence[tuple[Outcome, str | None]], skipped: Sequence[Spec],
               seconds: float, tier: str) -> ET.ElementTree[ET.Element]:
    """A JUnit XML document: one testcase per check, a ``failure`` (type mismatch or
    inconclusive) carrying its failure message, and a ``skipped`` testcase per check of
    a spec of another tier."""
    outcomes = [o for o, _ in cases]
    failures = sum(1 for o in outcomes if not o.ok)
    n_skipped = sum(len(s.checks) for s in skipped)
    suites = ET.Element("testsuites", name="check-model", tests=str(len(outcomes) + n_skipped),
                        failures=str(failures), errors="0", time=f"{seconds:.3f}")
    suite = ET.SubElement(suites, "testsuite", name="check-model run",
                          tests=str(len(outcomes) + n_skipped), failures=str(failures),
                          errors="0", skipped=str(n_skipped), time=f"{seconds:.3f}")
    for outcome, message in cases:
        case = ET.SubElement(suite, "testcase", classname=xml_text(class_name(outcome.spec.path)),
                             name=xml_text(case_name(outcome.check)),
                             time=f"{outcome.result.stats.seconds:.3f}")
        if not outcome.ok:
            failure = ET.SubElement(case, "failure", type=outcome.status,
                                    message=xml_text("; ".join(outcome.problems)))
            failure.text = xml_text(message or "; ".join(outcome.problems))
    for spec in skipped:
        for check in spec.checks:
            case = ET.SubElement(suite, "testcase", classname=xml_text(class_name(spec.path)),
                                 name=xml_text(case_name(check)), time="0")
            ET.SubElement(case, "skipped", message=f"tier {spec.tier} (run with --tier "
                          f"{spec.tier} or --tier all; this run: --tier {tier})")
    ET.indent(suites)
    return ET.ElementTree(suites)


def write_junit(tree: ET.ElementTree[ET.Element]) -> Callable[[IO[bytes]], None]:
    """A writer for ``output.write_atomic``: the document as UTF-8 with its declaration."""
    def write(fh: IO[bytes]) -> None:
        tree.write(fh, encoding="utf-8", xml_declaration=True)
        fh.write(b"\n")
    return write


__all__ = ["case_name", "class_name", "failure_message", "junit_tree", "reproduce_command",
           "summary_json", "trace_summary", "write_junit", "xml_text"]
