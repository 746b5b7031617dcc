"""The GPU adapter's name for the status bar, found off the GUI thread (making the device can
take a while, and there may be no GPU at all). It belongs with runner.py, which owns the GPU
session, once that exists; the window only needs `describe_adapter` and `AdapterProbe`.
"""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal


def describe_adapter() -> str:
    """One line naming the adapter, or saying why there is none. Never raises."""
    try:
        from gpu.device import adapter_name     # imported here: wgpu loads only when asked
        return adapter_name()
    except Exception as e:                      # no wgpu, no adapter, a driver that fails
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return f"no GPU adapter ({reason})"


class AdapterProbe(QObject):
    """Runs a describe function on a daemon thread; `found` arrives on the GUI thread."""

    found = Signal(str)

    def start(self, describe=describe_adapter) -> None:
        def run():
            text = describe()
            try:
                self.found.emit(text)
            except RuntimeError:      # the window closed meanwhile
                pass
        threading.Thread(target=run, name="adapter-probe", daemon=True).start()
