"""The GPU adapter's name for the status bar, found off the GUI thread: making the device can
take a while, and there may be no GPU at all. The name itself comes from runner.py, the one UI
module that reaches the GPU."""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from .runner import adapter_name


class AdapterProbe(QObject):
    """Runs a describe function (adapter_name by default) on a daemon thread; `found` arrives
    on the GUI thread."""

    found = Signal(str)

    def start(self, describe=adapter_name) -> None:
        def run():
            text = describe()
            try:
                self.found.emit(text)
            except RuntimeError:      # the window closed meanwhile
                pass
        threading.Thread(target=run, name="adapter-probe", daemon=True).start()
