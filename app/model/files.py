"""Reading a user's file: only a regular one. A FIFO named as a graph, weights or dataset
would block the read forever, and a device could stream without end."""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


def check_regular(path: str | os.PathLike) -> None:
    """OSError (with a plain strerror) unless `path` is a regular file; a symlink to one is fine."""
    st = os.stat(path)             # FileNotFoundError, or ELOOP for a symlink loop
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise OSError(errno.EINVAL, "not a regular file (a pipe, device or socket)")


def read_file(path: str | os.PathLike) -> bytes:
    check_regular(path)
    return Path(path).read_bytes()
