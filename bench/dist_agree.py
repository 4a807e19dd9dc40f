"""bfs-dist against bfs-vec on every default-tier spec configuration (specs/, examples/).

Each distinct configuration is explored once by each engine, all its safety properties
together; any difference in verdict, states, transitions, depth, per-action coverage or
trace length is printed and the script exits 1. Too slow for `make test` (about 100 s
on two shared cores); run it after a change to the model or the engines.

    python bench/dist_agree.py [--workers N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from mhpcheck.checker.checker import Checker
from mhpcheck.checker.engine import SAFETY
from mhpcheck.checker.result import CheckResult
from mhpcheck.cli.spec import collect, load_spec, resolve

ROOT = Path(__file__).resolve().parent.parent


def summary(r: CheckResult) -> tuple[object, ...]:
    return (r.verdict, r.stats.distinct_states, r.stats.transitions, r.stats.depth,
            r.coverage, None if r.trace is None else len(r.trace))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    paths = [p for p in collect([str(ROOT / "specs"), str(ROOT / "examples")])
             if load_spec(p).tier == "default"]
    seen: set[str] = set()
    configs = differences = 0
    t0 = time.perf_counter()
    for path in paths:
        spec = load_spec(path)
        key = repr((spec.model, spec.params, spec.knobs, spec.preset, str(path.parent)))
        if key in seen:
            continue
        seen.add(key)
        checker = Checker(resolve(spec))
        props = [p.name for p in checker.ts.properties if p.kind in SAFETY]
        if not props:
            continue
        configs += 1
        vec = checker.check_many(props, "bfs-vec")
        dist = checker.check_many(props, "bfs-dist", workers=args.workers)
        for a, b in zip(vec, dist, strict=True):
            if summary(a) != summary(b):
                differences += 1
                print(f"DIFF {path} {a.property}: bfs-vec {summary(a)} bfs-dist {summary(b)}")
    print(f"{configs} configurations, {differences} differences, "
          f"{time.perf_counter() - t0:.0f} s")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
