"""How far BFS and PDR get in 60 seconds, on the hotplug skippable-v2 preset and on
the dining philosophers, measured in one run on one machine.

For each configuration of a ladder (smallest first):

- BFS: each explicit engine (``bfs``, the interpreter, and ``bfs-vec``, the vectorised
  one) explores the whole state space (checking S1, or the philosophers' mutex) within
  60 s; we record the distinct states and the time;
- PDR: the symbolic engine proves every safety property of the set (S1..S6, or the
  two philosophers invariants) within 60 s *in total*; we record the time and the
  lemma counts of the certificates.

An engine that fails a rung is not run on the larger ones (PDR gets one more rung, as
its cost does not grow with the state count alone). The figure of merit is the ratio
of the state counts of the largest configuration each engine finishes, against each
BFS engine (for PDR the state count comes from BFS where BFS finishes, and otherwise
from the model's own exact count when it has one, or stays "unknown").

    .venv/bin/python bench/symbolic_scale.py [--quick] [--out bench/results]

Writes symbolic_scale.json and symbolic_scale.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

from mhpcheck.checker.checker import Checker, check
from mhpcheck.checker.result import Budget, Verdict
from mhpcheck.model.system import TransitionSystem
from mhpcheck.registry import build_system

LIMIT = 60.0

ALL_FEATURES = {"stray": "before-reuse", "signals": True, "allocator": True, "walker": True,
                "forced_unload": True, "vmem_remove": True, "vmem_unplug": True,
                "vmem_plug": True, "notifier_veto": True}

#: (label, params, knobs) of the hotplug ladder, smallest first.
HOTPLUG = [
    ("1 block x 2 pageblocks x 1 page, no actors",
     {"blocks": 1, "pageblocks": 2, "pages": 1, "spare": 1}, {}),
    ("1x1x1 V, all features", {"blocks": 1, "pageblocks": 1, "pages": 1, "spare": 1},
     {**ALL_FEATURES, "population": "V"}),
    ("1x2x1 V|L, all features", {"blocks": 1, "pageblocks": 2, "pages": 1, "spare": 1},
     {**ALL_FEATURES, "population": "V|L"}),
    ("1x3x1 V|L|B, all features", {"blocks": 1, "pageblocks": 3, "pages": 1, "spare": 2},
     {**ALL_FEATURES, "population": "V|L|B"}),
    ("1x4x1 V|L|B|L, all features", {"blocks": 1, "pageblocks": 4, "pages": 1, "spare": 2},
     {**ALL_FEATURES, "population": "V|L|B|L"}),
    ("2x2x1 V|L/V|L, all features", {"blocks": 2, "pageblocks": 2, "pages": 1, "spare": 2},
     {**ALL_FEATURES, "population": "V|L/V|L"}),
    ("2x3x1 V|L|B/V|L|B, all features",
     {"blocks": 2, "pageblocks": 3, "pages": 1, "spare": 2},
     {**ALL_FEATURES, "population": "V|L|B/V|L|B"}),
    ("2x4x1 V|L|B|L/V|L|B|L, all features",
     {"blocks": 2, "pageblocks": 4, "pages": 1, "spare": 2},
     {**ALL_FEATURES, "population": "V|L|B|L/V|L|B|L"}),
]
HOTPLUG_PROPS = ["S1", "S2", "S3", "S4", "S5", "S6"]
#: The explicit engines, each measured on its own.
BFS_ENGINES = ("bfs", "bfs-vec")
#: PDR is tried on this many rungs past its first failure.
PDR_GRACE = 1
PHIL_PROPS = ["neighbours-never-both-eat", "eating-holds-both-forks"]


def bfs_run(ts: TransitionSystem, prop: str, engine: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    r = check(ts, ts.property(prop), engine, Budget(timeout=LIMIT))
    return {"verdict": r.verdict.value, "states": r.stats.distinct_states,
            "seconds": round(time.perf_counter() - t0, 2),
            "finished": r.verdict.conclusive}


def pdr_run(ts: TransitionSystem, props: list[str]) -> dict[str, Any]:
    """PDR on ``props`` in one call (later proofs reuse earlier ones), LIMIT in all."""
    t0 = time.perf_counter()
    out: dict[str, Any] = {"properties": {}, "finished": True}
    results = Checker(ts).check_many(props, "pdr", total_timeout=LIMIT)
    for p, r in zip(props, results, strict=True):
        out["properties"][p] = {"verdict": r.verdict.value, "message": r.message,
                                "lemmas": r.extra.get("lemmas")}
        if r.verdict not in (Verdict.PROVED, Verdict.VIOLATED):
            out["finished"] = False
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out


def ladder(configs: list[tuple[str, TransitionSystem, dict[str, Any]]], bfs_prop: str,
           pdr_props: list[str]) -> list[dict[str, Any]]:
    """Run the engines up the ladder of (label, system, params), each until it fails."""
    rows = []
    bfs_on = set(BFS_ENGINES)
    pdr_misses = 0
    for label, ts, params in configs:
        row: dict[str, Any] = {"config": label, "params": params, "slots": ts.n_slots,
                               "actions": len(ts.actions)}
        for engine in BFS_ENGINES:
            if engine in bfs_on:
                row[engine] = bfs_run(ts, bfs_prop, engine)
                if not row[engine]["finished"]:
                    bfs_on.discard(engine)
        if pdr_misses <= PDR_GRACE:
            row["pdr"] = pdr_run(ts, pdr_props)
            pdr_misses += not row["pdr"]["finished"]
        print(json.dumps(row), flush=True)
        rows.append(row)
        if not bfs_on and pdr_misses > PDR_GRACE:
            break
    return rows


def ladder_hotplug(quick: bool) -> list[dict[str, Any]]:
    configs = [(label, build_system("hotplug", params, knobs, preset="skippable-v2"),
                {**params, **knobs}) for label, params, knobs in
               (HOTPLUG[:3] if quick else HOTPLUG)]
    return ladder(configs, "S1", HOTPLUG_PROPS)


def ladder_philosophers(quick: bool) -> list[dict[str, Any]]:
    sizes = (8, 10, 12, 16, 24) if quick else (8, 10, 12, 13, 14, 16, 20, 24, 28, 32)
    configs = [(f"n = {n}", build_system("philosophers", {"n": n}), {"n": n})
               for n in sizes]
    return ladder(configs, PHIL_PROPS[0], PHIL_PROPS)


def philosophers_states(n: int) -> int:
    """Reachable states of the philosophers model, exactly (checked against BFS, n <= 9).

    A state is fixed by the ring of pcs (fork i is taken iff philosopher i holds it or
    i-1 eats); the reachable rings are those where an eating philosopher's right
    neighbour thinks: the trace of the n-th power of a 3x3 transfer matrix.
    """
    m = [[1, 1, 1], [1, 1, 1], [1, 0, 0]]  # rows: pc_i, cols: pc_(i+1); e -> only t
    size = 3
    # matrix power trace
    res = [[int(i == j) for j in range(size)] for i in range(size)]
    base = m
    k = n
    while k:
        if k & 1:
            res = [[sum(res[i][t] * base[t][j] for t in range(size)) for j in range(size)]
                   for i in range(size)]
        base = [[sum(base[i][t] * base[t][j] for t in range(size)) for j in range(size)]
                for i in range(size)]
        k >>= 1
    return sum(res[i][i] for i in range(size))


def states_of(row: dict[str, Any]) -> int | None:
    """The row's state count, from whichever BFS engine finished it."""
    for engine in BFS_ENGINES:
        if row.get(engine, {}).get("finished"):
            return int(row[engine]["states"])
    return None


def summary(rows: list[dict[str, Any]], exact: Any = None) -> dict[str, Any]:
    pdr_ok = [r for r in rows if r.get("pdr", {}).get("finished")]
    pdr_best = max(pdr_ok, key=lambda r: states_of(r) or (exact(r) if exact else 0) or 0,
                   default=None)
    out: dict[str, Any] = {"pdr_largest": pdr_best and pdr_best["config"]}
    pdr_states = None
    if pdr_best is not None:
        pdr_states = states_of(pdr_best) or (exact(pdr_best) if exact else None)
        out["pdr_states"] = pdr_states
    for engine in BFS_ENGINES:
        best = max((r for r in rows if r.get(engine, {}).get("finished")),
                   key=lambda r: r[engine]["states"], default=None)
        out[f"{engine}_largest"] = best and best["config"]
        out[f"{engine}_states"] = best and best[engine]["states"]
        if pdr_states and best:
            out[f"ratio_vs_{engine}"] = round(pdr_states / best[engine]["states"], 4)
    return out


def markdown(result: dict[str, Any]) -> str:
    lines = ["# Symbolic scale: BFS vs PDR in 60 s", "",
             f"Machine: {result['machine']}; one run, {result['date']}.", ""]
    head = " | ".join(f"{e} states | {e} s | {e} done" for e in BFS_ENGINES)
    for name in ("hotplug", "philosophers"):
        lines += [f"## {name}", "",
                  f"| configuration | slots | {head} | PDR s | PDR done |",
                  "|---|---|" + "---|---|---|" * len(BFS_ENGINES) + "---|---|"]
        for r in result[name]["rows"]:
            cells = [f"{r.get(e, {}).get('states', '-')} | {r.get(e, {}).get('seconds', '-')}"
                     f" | {r.get(e, {}).get('finished', '-')}" for e in BFS_ENGINES]
            p = r.get("pdr", {})
            lines.append(f"| {r['config']} | {r['slots']} | {' | '.join(cells)} | "
                         f"{p.get('seconds', '-')} | {p.get('finished', '-')} |")
        lines += ["", "Summary: " + json.dumps(result[name]["summary"]), ""]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default="bench/results")
    args = ap.parse_args()
    hot = ladder_hotplug(args.quick)
    phil = ladder_philosophers(args.quick)
    result = {
        "machine": f"{platform.machine()} {platform.processor() or ''} python "
                   f"{platform.python_version()}".strip(),
        "date": time.strftime("%Y-%m-%d"),
        "limit_s": LIMIT,
        "hotplug": {"preset": "skippable-v2", "properties": HOTPLUG_PROPS, "rows": hot,
                    "summary": summary(hot)},
        "philosophers": {"properties": PHIL_PROPS, "rows": phil,
                         "summary": summary(phil, lambda r: philosophers_states(
                             r["params"]["n"]))},
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "symbolic_scale.json").write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    (out / "symbolic_scale.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
