"""Generated WGSL sources by name: kernels written for one graph or one shape class
(app/model/matmul.py, app/model/fused.py). Plain Python, no wgpu, so the model side can
register what it generates; gpu/shaders.py reads a registered name like a file under wgsl/.
A Program also carries its generated sources in meta["sources"], which the Engine registers,
so a Program built in another process still runs."""
from __future__ import annotations

import threading

_texts: dict[str, str] = {}
_lock = threading.Lock()


class SourceConflict(ValueError):
    pass


def register(name: str, text: str) -> str:
    """Make `text` available as shader `name`; names are content-addressed by their makers, so
    the same name with other text is an error. Returns the name."""
    with _lock:
        have = _texts.get(name)
        if have is not None and have != text:
            raise SourceConflict(f"generated shader {name!r} registered twice with different text")
        _texts[name] = text
    return name


def get(name: str) -> str | None:
    return _texts.get(name)
