"""Reading a user's text file (a spec, a trace) without hanging, crashing or reading forever.

``open(path).read()`` on a FIFO waits for a writer, on a link to /dev/zero never
ends, and on a binary file raises UnicodeDecodeError; each is one line here,
naming the file, in the error class of the caller (SpecError, TraceError).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import MhpError


def read_text_file(path: str | Path, what: str, error: type[MhpError],
                   limit: int) -> str:
    """The UTF-8 text of the regular file ``path``, or ``error`` saying why not.

    A FIFO, a device (a link to /dev/zero) or a folder is refused before it is
    opened (reading one would hang or never end); so is a file over ``limit`` bytes
    and one that is not UTF-8 text (binary).
    """
    try:  # O_NONBLOCK: opening a FIFO must not wait for a writer before fstat refuses it
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as err:
        raise error(f"{path}: cannot read ({err.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise error(f"{path}: is a folder, not a {what}")
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{path}: not a regular file (a FIFO, socket or device), "
                        f"not a {what}")
        if info.st_size > limit:
            raise error(f"{path}: {info.st_size:,} bytes is too large for a {what} "
                        f"(at most {limit:,})")
        try:
            raw = fh.read(limit + 1)
        except OSError as err:
            raise error(f"{path}: cannot read ({err.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise error(f"{path}: not UTF-8 text (byte 0x{raw[err.start]:02x} at offset "
                    f"{err.start}): is it a {what}?") from None
    if "\x00" in text:
        raise error(f"{path}: binary (a NUL byte at offset {text.index(chr(0))}), not a {what}")
    return text


