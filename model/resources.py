"""How much memory this machine can give a run, for refusing an instance before it is built.

An instance too big for memory should end in one line with exit 3
(``ResourceLimit``), not in the kernel's OOM killer or a MemoryError half-way
through compiling; the estimates that decide it live with what they estimate
(``model.compile.check_fits``), the machine's side lives here.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

GB = 1 << 30


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _cgroup_available() -> int | None:
    """What the cgroup (v2) lets this process still use, when it sets a limit: the limit
    less what the group uses, not counting inactive file cache (reclaimed first)."""
    root = Path("/sys/fs/cgroup")
    try:
        raw = (root / "memory.max").read_text().strip()
        if raw == "max":
            return None
        used = int((root / "memory.current").read_text().strip())
        for line in (root / "memory.stat").read_text().splitlines():
            if line.startswith("inactive_file "):
                used -= int(line.split()[1])
        return max(int(raw) - used, 0)
    except (OSError, ValueError, IndexError):
        return None


def _rlimit_available() -> int | None:
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft == resource.RLIM_INFINITY else soft


def available_memory() -> int | None:
    """Bytes this process can still allocate: the least of the free memory, the cgroup's
    limit and the address-space limit (None when none is known)."""
    known = [m for m in (_meminfo_available(), _cgroup_available(), _rlimit_available())
             if m is not None]
    return min(known) if known else None


def gigabytes(n: float) -> str:
    """``n`` bytes in GB with one decimal (two significant digits below 1 GB)."""
    return f"{n / GB:.1f} GB" if n >= GB / 10 else f"{n / GB:.2g} GB"


__all__ = ["GB", "available_memory", "gigabytes"]
