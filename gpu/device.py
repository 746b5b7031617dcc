"""The one wgpu device of this process, and the choice of adapter behind it.

Choice order: discrete GPU, integrated GPU, other, then CPU adapters (lavapipe/llvmpipe);
at equal type Vulkan/Metal/D3D12 before OpenGL. `WIREGRAD_ADAPTER=<substring>` picks the
first adapter (in that order) whose name, description, type or backend contains it.

After a device loss (a KernelError during Engine.run whose cause is GPUInternalError or
GPUOutOfMemoryError, or a "device was lost" log line), call `reset_device()`, then build a
new Engine from the Program with the host's copy of the weights written back in.
"""
from __future__ import annotations

import os
import sys
import threading

import wgpu

from .errors import NoAdapterError

ENV_ADAPTER = "WIREGRAD_ADAPTER"

INSTALL_HINT = ("On Linux, install Mesa's software Vulkan driver (lavapipe) with: "
                "sudo apt-get install mesa-vulkan-drivers libvulkan1")

_TYPE_RANK = {"DiscreteGPU": 0, "IntegratedGPU": 1, "CPU": 3}   # anything else ranks 2
_BACKEND_RANK = {"Vulkan": 0, "Metal": 0, "D3D12": 0, "OpenGL": 2, "OpenGLES": 2}   # else 1

# Kernels with many bindings or big tensors need more than WebGPU's default limits.
_WANTED_LIMITS = ("max-storage-buffers-per-shader-stage",
                  "max-storage-buffer-binding-size", "max-buffer-size")

_lock = threading.Lock()
_device = None
_adapter = None


def describe(adapter) -> dict:
    info = adapter.info
    return {"name": info.get("device", "") or "unknown adapter",
            "description": info.get("description", ""),
            "type": info.get("adapter_type", "Unknown"),
            "backend": info.get("backend_type", "Unknown")}


def _rank(adapter) -> tuple[int, int]:
    d = describe(adapter)
    return _TYPE_RANK.get(d["type"], 2), _BACKEND_RANK.get(d["backend"], 1)


def _matches(adapter, pattern: str) -> bool:
    d = describe(adapter)
    text = " ".join((d["name"], d["description"], d["type"], d["backend"])).lower()
    return pattern.lower() in text


def _one_line(d: dict) -> str:
    desc = f" [{d['description']}]" if d["description"] else ""
    return f"{d['name']}{desc} ({d['type']}, {d['backend']})"


def choose_adapter(adapters: list, pattern: str | None = None):
    """The preferred adapter of `adapters` (see module doc); `pattern` narrows the choice.
    Raises NoAdapterError when there is none, or none matches `pattern`."""
    if not adapters:
        raise NoAdapterError(f"No GPU or software adapter was found by wgpu. {INSTALL_HINT}")
    ranked = sorted(adapters, key=_rank)    # stable: keeps wgpu's order within a rank
    if not pattern:
        return ranked[0]
    for a in ranked:
        if _matches(a, pattern):
            return a
    available = "; ".join(_one_line(describe(a)) for a in ranked)
    raise NoAdapterError(f"No wgpu adapter matches {ENV_ADAPTER}={pattern!r}. "
                         f"Available adapters: {available}")


def _enumerate() -> list:
    return list(wgpu.gpu.enumerate_adapters_sync())


def _request_device(adapter):
    limits = {k: adapter.limits[k] for k in _WANTED_LIMITS if k in adapter.limits}
    # subgroups where offered: the generated matmuls use them (gpu/capabilities.py)
    features = [f for f in ("subgroup",) if f in adapter.features]
    return adapter.request_device_sync(label="wiregrad", required_limits=limits,
                                       required_features=features)


def get_device():
    """The process-wide wgpu device, created on first use."""
    global _device, _adapter
    with _lock:
        if _device is None:
            adapter = choose_adapter(_enumerate(), os.environ.get(ENV_ADAPTER))
            _device = _request_device(adapter)
            _adapter = adapter
        return _device


def adapter_name() -> str:
    """One line naming the adapter behind get_device(), e.g. 'llvmpipe (...) (CPU, Vulkan)'."""
    get_device()
    return _one_line(describe(_adapter))


def reset_device() -> None:
    """Forget the current device (e.g. after it was lost); the next get_device() makes a new
    one. Engines built on the old device keep it until they are dropped; build new ones.
    The pipelines cached for the old device are dropped."""
    global _device, _adapter
    with _lock:
        old, _device, _adapter = _device, None, None
    if old is not None:
        from . import shaders       # local import: shaders imports this module's package
        shaders.forget_device(old)


def _survey() -> tuple[list[dict], NoAdapterError | None]:
    ranked = sorted(_enumerate(), key=_rank)
    try:
        chosen, error = choose_adapter(ranked, os.environ.get(ENV_ADAPTER)), None
    except NoAdapterError as e:
        chosen, error = None, e
    return [{**describe(a), "chosen": a is chosen} for a in ranked], error


def list_adapters() -> list[dict]:
    """Every adapter wgpu sees, in preference order: dicts with name, description, type,
    backend, and chosen (True for the one get_device() would pick)."""
    return _survey()[0]


def adapters_main() -> int:
    """`wiregrad adapters`: print one adapter per line, '*' marking the chosen one.
    Returns 1 (after saying why on stderr) when none would be chosen."""
    adapters, error = _survey()
    for d in adapters:
        print(f"{'*' if d['chosen'] else ' '} {_one_line(d)}")
    if error is not None:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
