"""Autosave and crash recovery.

Each window owns one recovery slot: a file it rewrites (atomically) while it has unsaved
changes, next to a QLockFile it holds for as long as it lives. A recovery file whose lock can be
taken belongs to a process that is gone without cleaning up, i.e. one that crashed or was
killed: the next start offers it back. A live instance's lock can't be taken (the stale check
looks at whether the owning process runs, never at the lock's age), so two running instances
never take or clobber each other's files.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLockFile, QStandardPaths

from ..model import graphfile
from ..model.document import Document

ENV_DIR = "WIREGRAD_RECOVERY_DIR"
FORMAT = "wiregrad.recovery"


def recovery_dir() -> Path:
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env)
    base = QStandardPaths.writableLocation(QStandardPaths.AppLocalDataLocation)
    return Path(base or Path.home() / ".local" / "share" / "wiregrad") / "recovery"


def _lock(path: Path) -> QLockFile:
    lock = QLockFile(str(path.with_suffix(".lock")))
    lock.setStaleLockTime(0)        # only a dead owner makes a lock stale, however old it is
    return lock


class RecoverySlot:
    """One window's recovery file."""

    def __init__(self, directory: Path | None = None):
        self.dir = Path(directory or recovery_dir())
        self.path = self.dir / f"{os.getpid()}-{uuid.uuid4().hex[:8]}.json"
        self.lock = _lock(self.path)
        self.ok = False
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self.ok = self.lock.tryLock(0)
        except OSError:
            pass          # no recovery (a read-only home); editing still works

    def write(self, doc: Document, source: str | None) -> bool:
        if not self.ok:
            return False
        data = {"format": FORMAT, "source": source, "saved_at": time.time(), "graph": graphfile.to_json(doc)}
        try:
            graphfile.atomic_write(self.path, json.dumps(data, allow_nan=False).encode("utf-8"))
        except (OSError, ValueError):
            return False
        return True

    def clear(self) -> None:
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass

    def close(self) -> None:
        self.clear()
        if self.ok:
            self.lock.unlock()


@dataclass
class Recovered:
    """Unsaved work left by a process that is gone. Holds the file's lock until restored or discarded."""
    path: Path
    lock: QLockFile
    source: str | None
    saved_at: float
    graph: dict

    def document(self) -> Document:
        return graphfile.from_json(self.graph)

    def describe(self) -> str:
        name = Path(self.source).name if self.source else "an untitled graph"
        return f"{name}, autosaved {time.strftime('%Y-%m-%d %H:%M', time.localtime(self.saved_at))}"

    def discard(self) -> None:
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass
        self.lock.unlock()


def orphans(directory: Path | None = None) -> list[Recovered]:
    """Recovery files whose owner is gone, newest first. Unreadable ones are removed."""
    folder = Path(directory or recovery_dir())
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        lock = _lock(path)
        if not lock.tryLock(0):
            continue                  # its window is still open, in this process or another
        try:
            data = json.loads(path.read_text("utf-8"))
            if data.get("format") != FORMAT or not isinstance(data.get("graph"), dict):
                raise ValueError("not a recovery file")
            found.append(Recovered(path, lock, data.get("source"), float(data.get("saved_at", 0)), data["graph"]))
        except (OSError, ValueError, AttributeError):
            Recovered(path, lock, None, 0, {}).discard()
    return sorted(found, key=lambda r: -r.saved_at)
