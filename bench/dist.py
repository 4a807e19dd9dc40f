"""bfs-dist on one machine: one worker against two, with bfs-vec (one process) beside.

For each instance, each search runs in its own process (so that the lead's peak RSS is
its own): ``bfs-vec``, then ``bfs-dist`` with 1 and with 2 workers on a local Ray.
Reported per run: states (which must equal bfs-vec's, else exit 1), depth, wall
seconds, states per second, the lead's and each worker's CPU seconds, each worker's
peak RSS, bytes of states sent between workers per state, and the machine's load
average before and after (the machine may be shared: CPU seconds say what the work
cost, wall seconds what it took). No timing is asserted.

    python bench/dist.py [--only NAME] [--workers 1,2] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

ALL_FEATURES: dict[str, Any] = {
    "stray": "transient", "signals": True, "allocator": True, "walker": True,
    "forced_unload": True, "vmem_remove": True, "vmem_unplug": True, "vmem_plug": True,
    "notifier_veto": True}

#: name -> (model, params, knobs, preset, property checked: one that holds, so the
#: whole space is explored and no trace is rebuilt)
INSTANCES: dict[str, tuple[str, dict[str, Any], dict[str, Any], str | None, str]] = {
    "philosophers-18": ("philosophers", {"n": 18}, {}, None, "neighbours-never-both-eat"),
    "hotplug-2x3x1": ("hotplug", {"blocks": 2, "pageblocks": 3, "pages": 1, "spare": 2},
                      {**ALL_FEATURES, "population": "V|L|B/V|L|B"}, "skippable-v2", "S1"),
}


def child(name: str, engine: str, workers: int) -> None:
    """One search, in this process; prints its figures as JSON."""
    from mhpcheck.checker.checker import Checker
    from mhpcheck.registry import build_system
    model, params, knobs, preset, prop = INSTANCES[name]
    ts = build_system(model, params, knobs, preset)
    checker = Checker(ts)
    t0 = time.perf_counter()
    kw: dict[str, Any] = {"workers": workers} if engine == "bfs-dist" else {}
    r = checker.check(prop, engine, **kw)
    wall = time.perf_counter() - t0
    use = resource.getrusage(resource.RUSAGE_SELF)
    out = {"verdict": r.verdict.value, "states": r.stats.distinct_states,
           "depth": r.stats.depth, "transitions": r.stats.transitions,
           "wall_s": round(wall, 2), "search_s": r.stats.seconds,
           "states_per_s": round(r.stats.distinct_states / max(r.stats.seconds, 1e-9)),
           "lead_cpu_s": round(use.ru_utime + use.ru_stime, 2),
           "lead_peak_rss": use.ru_maxrss * 1024, **r.extra}
    print(json.dumps(out))


def measure(name: str, engine: str, workers: int) -> dict[str, Any]:
    load = os.getloadavg()[0]
    got = subprocess.run([sys.executable, __file__, "--child", name, engine, str(workers)],
                         capture_output=True, text=True, check=False)
    if got.returncode != 0:
        raise SystemExit(f"{name} {engine} x{workers} failed:\n{got.stderr[-3000:]}")
    row: dict[str, Any] = json.loads(got.stdout.strip().splitlines()[-1])
    row.update(instance=name, engine=engine, workers=workers if engine == "bfs-dist" else 0,
               load_before=round(load, 2), load_after=round(os.getloadavg()[0], 2))
    return row


def mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB"


def report(rows: list[dict[str, Any]]) -> str:
    """The table of runs, then where each bfs-dist run's time went."""
    lines = ["# bfs-dist: one worker against two on one machine", "",
             f"Machine: {platform.node()}, {os.cpu_count()} CPUs, Python "
             f"{platform.python_version()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}."
             " One run; the load average (1 min) before and after each search says how "
             "busy the machine was. `levels s`: the search proper (bfs-dist: from the first "
             "level to the last, without starting Ray, the workers and their compile); "
             "speed-up: levels/s against one worker; CPU speed-up: one worker's CPU seconds "
             "over the busiest worker's (what wall time would show on idle cores).", "",
             "| instance | engine | workers | states | depth | total s | levels s | speed-up "
             "| CPU speed-up | lead CPU s | workers' CPU s | sent B/state | visited B/state "
             "| peak RSS per worker | load |", "|" + "---|" * 15]
    base: dict[str, dict[str, Any]] = {}
    for r in rows:
        phases = r.get("phase_seconds", {})
        levels = phases.get("levels_wall", r["search_s"])
        cpus = r.get("cpu_seconds_per_worker", [])
        if r["engine"] == "bfs-dist" and r["workers"] == 1:
            base[r["instance"]] = {"levels": levels, "cpu": cpus[0]}
        one = base.get(r["instance"])
        speed = cpu_speed = ""
        if r["engine"] == "bfs-dist" and one:
            speed = f"{one['levels'] / levels:.2f}x"
            cpu_speed = f"{one['cpu'] / max(cpus):.2f}x"
        peaks = ", ".join(mb(p) for p in r.get("peak_rss_per_worker", [])) or \
            mb(r["lead_peak_rss"])
        lines.append(
            f"| {r['instance']} | {r['engine']} | {r['workers'] or ''} | {r['states']:,} "
            f"| {r['depth']} | {r['search_s']:.1f} | {levels:.1f} | {speed} | {cpu_speed} "
            f"| {r['lead_cpu_s']:.1f} | {', '.join(f'{c:.1f}' for c in cpus)} "
            f"| {r.get('bytes_sent_per_state', '')} | {r['bytes_per_state']} | {peaks} "
            f"| {r['load_before']} -> {r['load_after']} |")
    names = sorted({k for r in rows for k in r.get("phase_seconds", {})} - {"levels_wall"},
                   key=PHASES.index)
    lines += ["", "Where the levels' time went (seconds; per level the slowest worker, "
              "summed over levels; the rest of `levels` is Ray moving the batches and the "
              "lead waiting):", "",
              "| instance | workers | " + " | ".join(names) + " | levels |",
              "|" + "---|" * (len(names) + 3)]
    for r in rows:
        ph = r.get("phase_seconds")
        if ph:
            lines.append(f"| {r['instance']} | {r['workers']} | "
                         + " | ".join(f"{ph.get(n, 0):.2f}" for n in names)
                         + f" | {ph['levels_wall']:.2f} |")
    return "\n".join(lines) + "\n"


#: The phases of a level, in order: expanding, deduplicating and cutting by owner at
#: the sender; deduplicating against the visited set, storing, checking at the owner.
PHASES = ["expand", "dedup_sender", "split", "dedup_owner", "store", "check_states"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", nargs=3, metavar=("INSTANCE", "ENGINE", "WORKERS"))
    ap.add_argument("--only", action="append", choices=list(INSTANCES))
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--no-vec", action="store_true", help="skip the bfs-vec runs")
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite dist.md from the runs in dist.json")
    args = ap.parse_args()
    if args.report_only:
        rows_ = json.loads((args.out / "dist.json").read_text())
        (args.out / "dist.md").write_text(report(rows_))
        return 0
    if args.child:
        name, engine, workers = args.child
        child(name, engine, int(workers))
        return 0
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    for name in args.only or list(INSTANCES):
        runs = [] if args.no_vec else [("bfs-vec", 0)]
        runs += [("bfs-dist", int(w)) for w in args.workers.split(",")]
        for engine, workers in runs:
            row = measure(name, engine, workers)
            print(json.dumps(row), flush=True)
            rows.append(row)
        counts = {(r["states"], r["depth"]) for r in rows if r["instance"] == name}
        if len(counts) != 1:
            failures.append(f"{name}: counts differ: {sorted(counts)}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "dist.json").write_text(json.dumps(rows, indent=1) + "\n")
    text = report(rows)
    if failures:
        text += "\nFAILED: " + "; ".join(failures) + "\n"
    (args.out / "dist.md").write_text(text)
    print(text)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
