"""`make bench`: our explicit engines against SPIN on the same instances, in one run.

For every instance the model is exported to its SPIN twin (``check-model export``'s
code), pan is compiled for an exhaustive search (no
partial-order reduction, breadth-first: ``-DSAFETY -DNOREDUCE -DBFS``) and run with
``-c0`` (search to the end), and our engines explore the same system looking for
deadlocks, which is what pan looks for in the twin (invalid end states). Each search
runs in its own process so that its peak RSS is its own. A distinct-state count that
differs from SPIN's fails the benchmark (exit 1); no timing is ever asserted.

The report goes to bench/results/LATEST.md (and LATEST.json): per instance, the
states, each tool's search time, states per second, ratio to SPIN, peak RSS and bytes
per state, with the machine and the versions.

    python bench/run.py [--quick] [--only NAME] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

#: The hotplug configuration cross-checked against SPIN: one block of three pageblocks
#: (a virtio-mem page, an LRU folio, a balloon page) with every actor switched on.
HOTPLUG_KNOBS: dict[str, Any] = {
    "population": "V|L|B", "allocator": True, "walker": True, "vmem_unplug": True,
    "vmem_plug": True, "balloon_ops": True, "stray": "transient", "signals": True,
    "hwpoison": True, "notifier_veto": True, "forced_unload": True, "vmem_remove": True,
    "kthread_offline": True,
}

#: A hotplug configuration wider than 64 bits (86: bfs-vec packs it into two words):
#: two pageblocks of two pages (two unplugged subblocks, an LRU folio, a balloon page).
HOTPLUG_WIDE_KNOBS: dict[str, Any] = {
    "population": "VV|LB", "allocator": True, "walker": True, "vmem_unplug": True,
    "vmem_plug": True, "balloon_ops": True, "stray": "transient", "signals": True,
    "notifier_veto": True, "forced_unload": True, "vmem_remove": True,
}


@dataclass(frozen=True)
class Instance:
    name: str
    model: str
    params: dict[str, Any]
    engines: tuple[str, ...]
    knobs: dict[str, Any] = field(default_factory=dict)
    preset: str | None = None


#: The compiled engine with one and with two probing threads ($MHPCHECK_JIT_THREADS).
JIT = ("bfs-jit:1", "bfs-jit:2")

INSTANCES = (
    Instance("philosophers N=10", "philosophers", {"n": 10}, ("bfs", "bfs-vec", *JIT)),
    Instance("philosophers N=14", "philosophers", {"n": 14}, ("bfs-vec", *JIT)),
    Instance("philosophers N=16", "philosophers", {"n": 16}, ("bfs-vec", *JIT)),
    Instance("philosophers N=18", "philosophers", {"n": 18}, ("bfs-vec", *JIT)),
    Instance("peterson N=5", "peterson", {"n": 5}, ("bfs", "bfs-vec", *JIT)),
    Instance("peterson N=6", "peterson", {"n": 6}, ("bfs-vec", *JIT)),
    Instance("hotplug legacy, 3 pageblocks V|L|B, all actors", "hotplug", {"pageblocks": 3},
             ("bfs-vec", *JIT), HOTPLUG_KNOBS, "legacy"),
    Instance("hotplug legacy, 2 pageblocks of 2 pages VV|LB, 86 bits (two words)", "hotplug",
             {"pageblocks": 2, "pages": 2, "spare": 2}, ("bfs-vec", *JIT), HOTPLUG_WIDE_KNOBS,
             "legacy"),
    # bench/protocols.py: every variable a byte, as a new user writes them in Promela
    Instance("ring buffer, 4 slots, 3 producers, 2 consumers, 96 bits", "bench:ring",
             {"slots": 4, "values": 4, "producers": 3, "consumers": 2}, ("bfs-vec", *JIT)),
    Instance("ring buffer, 5 slots, 2 producers, 3 consumers, 104 bits", "bench:ring",
             {"slots": 5, "values": 5, "producers": 2, "consumers": 3}, ("bfs-vec", *JIT)),
    Instance("bakery N=4, tickets up to 10, 160 bits", "bench:bakery", {"n": 4, "bound": 10},
             ("bfs-vec", *JIT)),
    Instance("sliding window 4, 6 channel slots, 120 bits", "bench:window",
             {"window": 4, "slots": 6, "messages": 40}, ("bfs-vec", *JIT)),
)
QUICK = ("philosophers N=10", "peterson N=5")


# -- one search per process ---------------------------------------------------------------

def build(model: str, params: dict[str, Any], knobs: dict[str, Any],
          preset: str | None) -> Any:
    """The instance's system: a registered model, or ``bench:NAME`` from protocols.py."""
    if model.startswith("bench:"):
        sys.path.insert(0, str(HERE))
        from protocols import PROTOCOLS
        return PROTOCOLS[model.removeprefix("bench:")](params, knobs).build()
    from mhpcheck.registry import build_system
    return build_system(model, params, knobs, preset)


def child(engine: str, spec: dict[str, Any]) -> None:
    """Run one of our engines on one instance and print its figures as JSON
    (``bfs-jit:T``: bfs-jit with T probing threads)."""
    from mhpcheck.checker.checker import Checker
    from mhpcheck.checker.result import Verdict
    from mhpcheck.model.system import DEADLOCK_FREE

    engine, _, threads = engine.partition(":")
    if threads:
        os.environ["MHPCHECK_JIT_THREADS"] = threads
    checker = Checker(build(spec["model"], spec["params"], spec["knobs"], spec["preset"]))
    out: dict[str, Any] = {}
    if engine == "bfs-vec":  # the vectorised code generation, timed on its own
        t0 = time.perf_counter()
        layout = checker.batch.layout
        out = {"compile_seconds": time.perf_counter() - t0, "bits": layout.total_bits,
               "words": layout.n_words}
    r = checker.check(DEADLOCK_FREE, engine)
    out.update({"states": r.stats.distinct_states, "transitions": r.stats.transitions,
                "depth": r.stats.depth, "seconds": r.stats.seconds,
                "deadlock": r.verdict is Verdict.VIOLATED})
    if engine in ("bfs-vec", "bfs-jit"):
        out["stored_bytes_per_state"] = r.extra["bytes_per_state"]
    if engine == "bfs-jit":  # compiling (or loading from the disk cache), timed apart
        out.update(compile_seconds=r.extra["compile_seconds"], jit_cache=r.extra["jit_cache"],
                   threads=r.extra["threads"])
    print(json.dumps(out))


def run_measured(cmd: list[str], cwd: Path | None = None) -> tuple[str, float, int]:
    """Run ``cmd`` under a wrapper process whose only child it is, so that the wrapper's
    RUSAGE_CHILDREN peak RSS is the command's own; its stdout, wall seconds, RSS bytes."""
    wrapper = [sys.executable, str(Path(__file__).resolve()), "--rusage", "--", *cmd]
    proc = subprocess.run(wrapper, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    head, _, body = proc.stdout.partition("\n")
    info = json.loads(head)
    return body, float(info["wall"]), int(info["maxrss"])


def rusage_wrapper(cmd: list[str]) -> int:
    """Run ``cmd``; print {"wall", "maxrss"} on one line, then the command's stdout."""
    import resource
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(json.dumps({"wall": wall, "maxrss": maxrss}))
    sys.stdout.write(proc.stdout)
    return proc.returncode


# -- SPIN -----------------------------------------------------------------------------------

def ensure_spin() -> None:
    """Install SPIN from Debian's packages if it is missing."""
    if shutil.which("spin"):
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    print("bench: spin not found; installing the Debian package", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run([*sudo, "apt-get", "install", "-y", "spin"], env=env).returncode != 0:
        subprocess.run([*sudo, "apt-get", "update"], env=env, check=True)
        subprocess.run([*sudo, "apt-get", "install", "-y", "spin"], env=env, check=True)
    if not shutil.which("spin"):
        raise SystemExit("bench: spin is still missing after apt-get install")


def spin_run(pml: str, workdir: Path, states_hint: int) -> dict[str, Any]:
    """Compile and run pan for ``pml``; its counts, search time and peak RSS."""
    (workdir / "twin.pml").write_text(pml)
    t0 = time.perf_counter()
    subprocess.run(["spin", "-o2", "-a", "twin.pml"], cwd=workdir, check=True, capture_output=True)
    subprocess.run(["gcc", "-O2", "-DSAFETY", "-DNOREDUCE", "-DBFS", "-o", "pan", "pan.c"],
                   cwd=workdir, check=True, capture_output=True)
    compile_s = time.perf_counter() - t0
    w = max(10, math.ceil(math.log2(max(states_hint, 2))) + 1)
    out, wall, rss = run_measured(["./pan", "-c0", "-n", "-m1000000", f"-w{w}"], workdir)

    def grab(pattern: str) -> str:
        m = re.search(pattern, out)
        if not m:
            raise RuntimeError(f"pan output lacks {pattern!r}:\n{out}")
        return m.group(1)

    seconds = float(grab(r"pan: elapsed time ([\d.e+-]+) seconds"))
    timing = "pan elapsed"
    if seconds < 0.1:  # pan prints hundredths: time repeated whole runs instead
        walls: list[float] = []
        while len(walls) < 50 and sum(walls) < 1.0:
            t1 = time.perf_counter()
            subprocess.run(["./pan", "-c0", "-n", "-m1000000", f"-w{w}"], cwd=workdir,
                           check=True, capture_output=True)
            walls.append(time.perf_counter() - t1)
        seconds = sorted(walls)[len(walls) // 2]
        timing = f"median wall of {len(walls)} runs"
    return {"states": int(grab(r"(\d+) states, stored")),
            "transitions": int(grab(r"(\d+) transitions")) - 1,
            "depth": int(grab(r"depth reached (\d+)")),
            "errors": int(grab(r"errors: (\d+)")),
            "seconds": seconds, "timing": timing, "wall": wall, "rss": rss,
            "compile_seconds": compile_s, "hash_log2": w}


# -- the run --------------------------------------------------------------------------------

def versions() -> dict[str, str]:
    import numpy

    def first_line(cmd: list[str]) -> str:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True).stdout
            return out.strip().splitlines()[0] if out.strip() else "?"
        except OSError:
            return "?"

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": mem,
            "os": platform.platform(), "python": platform.python_version(),
            "numpy": numpy.__version__, "spin": first_line(["spin", "-V"]),
            "gcc": first_line(["gcc", "--version"])}


def ours(engine: str, inst: Instance) -> dict[str, Any]:
    spec = {"model": inst.model, "params": inst.params, "knobs": inst.knobs,
            "preset": inst.preset}
    out, wall, rss = run_measured([sys.executable, str(Path(__file__).resolve()), "--child",
                                   engine, json.dumps(spec)])
    data: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    data.update(wall=wall, rss=rss)
    return data


def twin_text(inst: Instance) -> tuple[str, int]:
    from mhpcheck.model.promela import export_promela
    ts = build(inst.model, inst.params, inst.knobs, inst.preset)
    twin = export_promela(ts)
    return twin.text, twin.spin_offset


def fmt_int(n: float) -> str:
    return f"{n:,.0f}"


def report(rows: list[dict[str, Any]], info: dict[str, str], failures: list[str]) -> str:
    lines = [
        "# Benchmark: mhpcheck against SPIN, same instances, one run",
        "",
        "Written by `make bench` (bench/run.py); do not edit. Each search ran in its own",
        "process. SPIN: the twin from `check-model export`, pan built with `-O2 -DSAFETY",
        "-DNOREDUCE -DBFS` and run with `-c0 -n`; time is pan's own `elapsed time`. Ours: the",
        "same system searched for deadlocks (what pan checks in the twin: invalid end",
        "states); time is the search alone (model building and code generation are shown",
        "apart; the process wall time includes them, and Python's start for ours). Rates",
        "are distinct states stored per second; pan reports its time in hundredths, so where",
        "that is under 0.1 s SPIN's time is the median wall time of repeated whole runs",
        "(process start included: pessimistic for SPIN). Bytes/state is peak RSS over",
        "states (for bfs-vec also the visited set alone, which is all it stores per",
        "state; for bfs-jit its states in BFS order and its hash table). bfs-jit:T ran",
        "with T probing threads; its compile (numba, into a disk cache that starts empty",
        "for each bench run, so bfs-jit:1 compiles and bfs-jit:2 loads) is not in its",
        "search time. One run: repeat runs vary by 10 to 15 %.",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}; {info['os']}.",
        f"Versions: Python {info['python']}, numpy {info['numpy']}, {info['spin']}, "
        f"{info['gcc']}.",
        f"Date: {time.strftime('%Y-%m-%d')}.",
        "",
        "| instance | states | depth | engine | search s | states/s | vs SPIN | process wall s "
        "| peak RSS MB | bytes/state (RSS) | bytes/state (stored) |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        row = {**row, "name": row["name"].replace("|", "\\|")}
        spin = row["spin"]
        spin_rate = spin["states"] / max(spin["seconds"], 1e-3)
        lines.append(
            f"| {row['name']} | {fmt_int(spin['states'])} | {spin['depth']} | SPIN (pan BFS"
            f"{'' if spin['timing'] == 'pan elapsed' else '; ' + spin['timing']}) | "
            f"{spin['seconds']:.2f} | {fmt_int(spin_rate)} | 1.00x | {spin['wall']:.2f} | "
            f"{spin['rss'] / 2**20:.0f} | {spin['rss'] / spin['states']:.0f} | |")
        for engine, data in row["ours"].items():
            if "error" in data:
                lines.append(f"| {row['name']} | | | {engine} | {data['error']} | | | | | | |")
                continue
            rate = data["states"] / max(data["seconds"], 1e-6)
            stored = data.get("stored_bytes_per_state")
            lines.append(
                f"| {row['name']} | {fmt_int(data['states'])} | {data['depth']} | {engine} | "
                f"{data['seconds']:.2f} | {fmt_int(rate)} | {rate / spin_rate:.2f}x | "
                f"{data['wall']:.2f} | {data['rss'] / 2**20:.0f} | "
                f"{data['rss'] / data['states']:.0f} | "
                f"{'' if stored is None else f'{stored:.0f}'} |")
    lines += ["", "Compile and build times (not in the rates above):", ""]
    for row in rows:
        parts = [f"SPIN `spin -o2 -a` + gcc {row['spin']['compile_seconds']:.2f} s"]
        for engine, data in row["ours"].items():
            if "jit_cache" in data:
                parts.append(f"{engine} compile {data['compile_seconds']:.2f} s "
                             f"(disk cache {data['jit_cache']})")
            elif "compile_seconds" in data:
                parts.append(f"{engine} code generation {data['compile_seconds']:.2f} s")
        lines.append(f"- {row['name']}: " + ", ".join(parts))
    lines += ["", "State counts: " + ("all equal to SPIN's." if not failures else
                                      "MISMATCH: " + "; ".join(failures)), ""]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="only the two small instances")
    ap.add_argument("--only", action="append", default=[], help="instance name (repeatable)")
    ap.add_argument("--out", default=str(HERE / "results"), help="report folder")
    args = ap.parse_args()
    ensure_spin()
    # bfs-jit's compiled kernels go to a cache that starts empty, so the compile times
    # reported are those of a first run
    os.environ["MHPCHECK_JIT_CACHE"] = tempfile.mkdtemp(prefix="mhp-bench-jit-")
    chosen = [i for i in INSTANCES if (not args.quick or i.name in QUICK)
              and (not args.only or i.name in args.only)]
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    for inst in chosen:
        try:
            text, offset = twin_text(inst)
        except Exception as err:  # a model not there yet: say so, go on
            print(f"bench: skipping {inst.name}: {err}", file=sys.stderr)
            continue
        results = {engine: ours(engine, inst) for engine in inst.engines}
        hint = max((r.get("states", 0) for r in results.values()), default=1024)
        with tempfile.TemporaryDirectory(prefix="mhp-bench-") as tmp:
            spin = spin_run(text, Path(tmp), hint)
        spin["states"] -= offset
        for engine, data in results.items():
            if "error" not in data and data["states"] != spin["states"]:
                failures.append(f"{inst.name}: {engine} {data['states']} states, "
                                f"SPIN {spin['states']}")
        rows.append({"name": inst.name, "model": inst.model, "params": inst.params,
                     "knobs": inst.knobs, "preset": inst.preset, "spin": spin, "ours": results})
        summary = ", ".join(f"{e} {d.get('seconds', float('nan')):.2f} s"
                            for e, d in results.items())
        print(f"bench: {inst.name}: {spin['states']:,} states; SPIN {spin['seconds']:.2f} s, "
              f"{summary}", file=sys.stderr)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    info = versions()
    (out / "LATEST.md").write_text(report(rows, info, failures))
    (out / "LATEST.json").write_text(json.dumps({"machine": info, "rows": rows,
                                                 "failures": failures}, indent=1,
                                                sort_keys=True) + "\n")
    print(f"bench: wrote {out / 'LATEST.md'}", file=sys.stderr)
    if failures:
        print("bench: distinct-state counts differ from SPIN's:\n  " + "\n  ".join(failures),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], json.loads(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--rusage":
        sys.exit(rusage_wrapper(sys.argv[3:]))
    else:
        sys.exit(main())
