"""The editor: PySide6 widgets over app.model. Never imports wgpu (runner.py reaches the GPU).

PySide6 6.12.0 on CPython 3.11 drops a reference to None on every call of a Qt method that
returns nothing (QObject.setObjectName, QWidget.update, QGraphicsItem.setPos, ...). On 3.12+
None is immortal and this is harmless; on 3.11 the count reaches zero after some thousands of
calls and the interpreter aborts ("none_dealloc: deallocating None"). 6.11.3 does not do it.
Importing this package checks for the leak once and, if it is there, gives None a reference
count no session can use up, which is what Python 3.12 does for every build.
"""
from __future__ import annotations

import sys


def _none_leaks() -> bool:
    from PySide6.QtCore import QObject
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(16):
        probe.setObjectName("probe")
    return before - sys.getrefcount(None) >= 8


def _keep_none_alive() -> None:
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    if _none_leaks():
        import ctypes
        # ob_refcnt is the first field of every object in a release build of CPython;
        # True and False leak the same way through methods returning bool
        for obj in (None, True, False):
            ctypes.c_ssize_t.from_address(id(obj)).value += 1 << 40


_keep_none_alive()
