"""Output files: checked before any work starts, written whole or not at all.

Every command that writes a file (``check --trace-out`` and ``--certificate-out``,
``trace html -o``, ``trace export -o``, ``graph -o``, ``export -o``, ``run
--html-dir``) goes through this module, for three reasons:

- a bad path is found before the search, so a long run never ends in an error
  after its verdict was computed (and lost);
- an output never names one of the command's inputs (``trace export t.json -o
  t.json`` would overwrite the trace it reads);
- a file is written to a temporary file in the same folder and renamed over the
  target (``os.replace``), so a full disk or an error half-way leaves the old file
  or none, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

from mhpcheck.model.errors import UsageError


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (after links), or would once ``a`` exists."""
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _writable_folder(folder: Path, option: str, shown: str) -> None:
    if not folder.exists():
        raise UsageError(f"{option} {shown}: folder {folder} does not exist")
    if not folder.is_dir():
        raise UsageError(f"{option} {shown}: {folder} is not a folder")
    try:  # a probe, not os.access: root and read-only mounts answer differently
        fd, probe = tempfile.mkstemp(prefix=".mhpcheck-probe.", dir=folder)
    except OSError as err:
        raise UsageError(f"{option} {shown}: folder {folder} is not writable "
                         f"({err.strerror})") from None
    os.close(fd)
    _remove(probe)


def check_output_file(path: str | None, option: str, inputs: Iterable[str] = ()) -> None:
    """Refuse ``path`` (given as ``option``) unless a file can be written there.

    Its folder must exist and be writable; an existing ``path`` must be a regular,
    writable file and none of ``inputs``. ``None`` (no such output) passes.
    """
    if path is None:
        return
    if path == "":
        raise UsageError(f"{option}: empty path")
    target = Path(path)
    for other in inputs:
        if _same_file(target, Path(other)) or target.resolve() == Path(other).resolve():
            raise UsageError(f"{option} {path}: is also an input of this command; "
                             "write somewhere else")
    _writable_folder(target.parent, option, path)
    if target.exists() or target.is_symlink():
        try:
            mode = os.stat(target).st_mode
        except OSError as err:
            raise UsageError(f"{option} {path}: {err.strerror}") from None
        if stat.S_ISDIR(mode):
            raise UsageError(f"{option} {path}: is a folder, not a file")
        if not stat.S_ISREG(mode):  # /dev/null too: a rename would replace the device
            raise UsageError(f"{option} {path}: is not a regular file (a device, FIFO or "
                             "socket); name a file")
        if not os.access(target, os.W_OK):
            raise UsageError(f"{option} {path}: file is not writable")


def check_output_folder(path: str | None, option: str) -> None:
    """Refuse ``path`` unless it is a writable folder or can be made as one.

    A folder that does not exist yet is made when the first file is written; the
    nearest existing folder above it must be writable.
    """
    if path is None:
        return
    if path == "":
        raise UsageError(f"{option}: empty path")
    folder = Path(path)
    if folder.exists():
        _writable_folder(folder, option, path)
        return
    above = folder.absolute().parent
    while not above.exists():
        above = above.parent
    _writable_folder(above, option, path)


def write_atomic(path: str | Path, content: str | Callable[[IO[bytes]], None],
                 option: str = "output") -> None:
    """Write ``content`` (text, or a function writing bytes) to ``path`` whole or not at all.

    The bytes go to a temporary file in the same folder, which then replaces
    ``path`` in one rename; on any error the temporary file is removed and
    ``path`` is left as it was.
    """
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                   dir=target.parent)
    except OSError as err:
        raise UsageError(f"{option} {path}: cannot write ({err.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(content, str):
                fh.write(content.encode("utf-8"))
            else:
                content(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except OSError as err:
        _remove(tmp)
        raise UsageError(f"{option} {path}: cannot write ({err.strerror})") from None
    except BaseException:
        _remove(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove(tmp: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)


__all__ = ["check_output_file", "check_output_folder", "write_atomic"]
