"""Re-pin the distributed-scale spec: explore two blocks of three single-page pageblocks
with every actor on (skippable-v2) with ``bfs-dist``, and with --write rewrite
``skippable-v2-two-blocks-dist.toml`` from what the run found (verdicts, the state
count, trace lengths) for every safety property of the preset. Nothing in the file is
typed by hand.

    .venv/bin/python specs/hotplug/13-distributed/regenerate.py --write [--workers N]
        [--address HOST:PORT]

Two blocks of four pageblocks (187,410,204 states, 7 minutes and 7.6 GB per worker on
two workers) was pinned before the model followed virtio-mem's plug path into the
offlining window; that grew two-block spaces 5x to 14x, which put four pageblocks past
this machine's 24 GiB, so the pinned configuration is three pageblocks per block.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from mhpcheck.checker.checker import ENGINES, Checker
from mhpcheck.cli.progress import periodic_printer
from mhpcheck.registry import build_system

HERE = Path(__file__).parent
SPEC = HERE / "skippable-v2-two-blocks-dist.toml"
PRESET = "skippable-v2"
PARAMS: dict[str, Any] = {"blocks": 2, "pageblocks": 3, "pages": 1, "spare": 2}
KNOBS: dict[str, Any] = {
    "population": "V|L|B/V|L|B", "stray": "transient", "signals": True,
    "allocator": True, "walker": True, "forced_unload": True, "vmem_remove": True,
    "vmem_unplug": True, "vmem_plug": True, "notifier_veto": True}


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    return str(v)


def inline(d: dict[str, Any]) -> str:
    return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in d.items()) + " }"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--address", default=None)
    args = ap.parse_args()
    ts = build_system("hotplug", PARAMS, KNOBS, PRESET)
    props = [(p.aliases or (p.name,))[0] for p in ts.properties
             if p.kind in ENGINES["bfs-dist"].kinds]
    t0 = time.perf_counter()
    results = Checker(ts).check_many(props, "bfs-dist", progress=periodic_printer(
        lambda line: print(line, file=sys.stderr, flush=True), 30.0),
        workers=args.workers, address=args.address)
    secs = time.perf_counter() - t0
    r0 = results[0]
    print(f"{r0.stats.distinct_states:,} states, depth {r0.stats.depth}, {secs:.0f} s, "
          f"{r0.extra}")
    lines = [
        "# Two all-features blocks of three pageblocks, by bfs-dist (slow tier: run with "
        f"--tier slow; {secs / 60:.0f} minutes on two workers here).",
        "# Written by specs/hotplug/13-distributed/regenerate.py --write: do not edit.",
        'model = "hotplug"', f'preset = "{PRESET}"', 'tier = "slow"',
        f"params = {inline(PARAMS)}", f"knobs = {inline(KNOBS)}",
        f'description = "Two memory blocks, each with an unplugged virtio-mem subblock, an '
        f'LRU page and a balloon page, every actor on ({r0.stats.distinct_states:,} states, '
        f'depth {r0.stats.depth}): the largest configuration pinned, explored by bfs-dist '
        f'on Ray workers (docs/guide.md). bfs-vec agrees on every configuration both finish."']
    for p, r in zip(props, results, strict=True):
        print(f"  {p}: {r.verdict.value}" + (f", trace {len(r.trace)} steps"
                                             if r.trace else ""))
        lines += ["", "[[check]]", f'property = "{p}"', 'engine = "bfs-dist"',
                  f'expect = "{r.verdict.value}"',
                  f"expect_states = {r.stats.distinct_states}"]
        if r.trace is not None:
            lines.append(f"expect_trace_length = {len(r.trace)}")
    if args.write:
        SPEC.write_text("\n".join(lines) + "\n")
        print(f"wrote {SPEC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
