"""Where Python's cycle collector may run in the editor: on the GUI thread only."""
from __future__ import annotations

_collector = None


def collect_garbage_on_gui_thread() -> None:
    """Python's cycle collector runs in whichever thread happens to allocate. Run in a worker
    (the training worker, the dataset preview's loader) it can destroy a closed window's Qt
    objects there, and PySide6 deadlocks: that thread waits for the GIL inside a QObject
    destructor while the GUI thread, holding the GIL, waits for a lock the destructor holds.
    Seen as hung UI tests, twice. So, once per process: automatic collection off, and
    pyqtgraph's GarbageCollector collects on a GUI-thread timer (once a second) instead."""
    global _collector
    if _collector is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector
        _collector = GarbageCollector(interval=1.0)
