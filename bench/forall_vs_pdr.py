"""Proof time against instance size: finite PDR and the forall engine, in one run.

For the philosophers' mutex and the token ring's mutex, at growing n, each engine
proves the property with a 60 s budget: PDR proves the one finite instance; the forall
engine proves it for every n (its time includes the finite certificate re-check at
that n, which the Checker always runs). A rung an engine does not finish in time is
recorded as such and the engine is not run on larger ones.

    .venv/bin/python bench/forall_vs_pdr.py [--quick] [--out bench/results]

Writes forall_vs_pdr.json and forall_vs_pdr.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

from mhpcheck.checker.checker import Checker
from mhpcheck.checker.result import Budget, Verdict
from mhpcheck.model.base import Model
from mhpcheck.model.textbook.philosophers import Philosophers
from mhpcheck.model.textbook.tokenring import TokenRing

LIMIT = 60.0
CASES: list[tuple[str, type[Model], str, list[int]]] = [
    ("philosophers", Philosophers, "neighbours-never-both-eat", [5, 10, 20, 32, 48, 64]),
    ("tokenring", TokenRing, "at-most-one-critical", [5, 10, 20, 40, 60, 100]),
]


def run_case(model: type[Model], prop: str, sizes: list[int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    alive = {"pdr": True, "forall": True}
    for n in sizes:
        row: dict[str, Any] = {"n": n}
        for engine in ("pdr", "forall"):
            if not alive[engine]:
                row[engine] = None
                continue
            t0 = time.perf_counter()
            r = Checker(model(params={"n": n})).check(prop, engine, Budget(timeout=LIMIT))
            took = time.perf_counter() - t0
            lines = len((r.certificate or "").splitlines())
            row[engine] = {"verdict": r.verdict.value, "seconds": round(took, 2),
                           "engine_seconds": r.stats.seconds, "certificate_lines": lines}
            if r.verdict is not Verdict.PROVED or took > LIMIT:
                alive[engine] = False
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="the two smallest sizes only")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = ap.parse_args()
    report: dict[str, Any] = {"machine": platform.platform(), "python": platform.python_version(),
                              "limit_s": LIMIT, "cases": {}}
    for name, model, prop, sizes in CASES:
        report["cases"][name] = {"property": prop,
                                 "rows": run_case(model, prop, sizes[:2] if args.quick else sizes)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "forall_vs_pdr.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = ["# Proof time against size: finite PDR and the forall engine", "",
             f"One run on {report['machine']}, Python {report['python']}; {LIMIT:.0f} s "
             "budget per proof. forall proves the property for every n; PDR proves the one "
             "instance. Each cell: the engine's own time / the whole check, which adds the "
             "Checker's finite certificate re-check at n. cert = certificate lines.", ""]
    for name, case in report["cases"].items():
        lines += [f"## {name}: {case['property']}", "",
                  "| n | pdr | pdr cert | forall | forall cert |", "|---|---|---|---|---|"]
        for row in case["rows"]:
            cells = [str(row["n"])]
            for engine in ("pdr", "forall"):
                got = row[engine]
                if got is None:
                    cells += ["not run (failed a smaller n)", ""]
                else:
                    cells += [f"{got['verdict']} {got['engine_seconds']} / {got['seconds']} s",
                              str(got["certificate_lines"])]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    (out / "forall_vs_pdr.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
