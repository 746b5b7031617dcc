"""Plain data describing GPU work: which tensors to allocate and which kernels to dispatch.

A Program is produced by `app.model.lower` and executed by `gpu.engine.Engine`.
This module imports no wgpu, so the model side can build Programs without a GPU.

Conventions every Dispatch follows (see DESIGN.md, "The training step on the GPU"):
- Every tensor is its own storage buffer of 32-bit elements (f32, u32 or i32).
- A WGSL file is split into sections by lines `//! entry NAME`. Text before the first
  marker is shared by all entries. A Dispatch compiles: generated header + wgsl/common.wgsl
  + the shared part + the section of its entry. So each entry only needs the bindings it uses.
- The header is generated from the Dispatch: one `var<storage, read|read_write> NAME: array<T>`
  per Binding (binding numbers in order), and, when `uniforms` is non-empty,
  `struct Uniforms { ... }` with `var<uniform> U: Uniforms` holding fixed values.
- Values that change while training (learning rate, step counter) live in ordinary
  tensors the host writes between submits, never in uniforms.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

WORKGROUP = 64          # the 1-D workgroup size every elementwise kernel declares
MAX_GROUPS = 65535      # WebGPU's per-dimension limit on workgroup counts

DTYPES = {"f32": np.float32, "u32": np.uint32, "i32": np.int32}


@dataclass(frozen=True)
class Tensor:
    name: str                         # unique within a Program, e.g. "dense1.y", "d:dense1.y"
    size: int                         # number of 32-bit elements (>= 1)
    dtype: str = "f32"
    init: np.ndarray | None = None    # uploaded once when the Program is built; zeros if None
    node: str | None = None           # owning node id, for error messages

    def __post_init__(self):
        if self.dtype not in DTYPES:
            raise ValueError(f"tensor {self.name}: unknown dtype {self.dtype!r}")
        if self.size < 1:
            raise ValueError(f"tensor {self.name}: size must be >= 1, got {self.size}")
        if self.init is not None and self.init.size != self.size:
            raise ValueError(f"tensor {self.name}: init has {self.init.size} elements, size is {self.size}")


@dataclass(frozen=True)
class Binding:
    name: str        # the WGSL variable name
    tensor: str      # Tensor.name
    write: bool = False


@dataclass(frozen=True)
class Dispatch:
    shader: str                                   # path under wgsl/, e.g. "layers/dense.wgsl"
    entry: str                                    # entry point (section) name
    bindings: tuple[Binding, ...]
    groups: tuple[int, int, int]                  # workgroup counts
    uniforms: tuple[tuple[str, str, float], ...] = ()   # (name, "u32"|"i32"|"f32", value)
    node: str | None = None                       # the node this kernel belongs to, for errors


def groups_1d(threads: int, workgroup: int = WORKGROUP) -> tuple[int, int, int]:
    """Workgroup counts covering `threads` invocations; spills into y past 65535 groups.
    Kernels recover the linear index with `linear_id(gid, nwg)` from common.wgsl."""
    n = max(1, -(-threads // workgroup))
    if n <= MAX_GROUPS:
        return (n, 1, 1)
    return (MAX_GROUPS, -(-n // MAX_GROUPS), 1)


@dataclass
class Program:
    tensors: dict[str, Tensor] = field(default_factory=dict)
    phases: dict[str, list[Dispatch]] = field(default_factory=dict)   # e.g. forward, backward, update, stats
    zeroed: list[str] = field(default_factory=list)   # tensors cleared before every training step (gradients)
    meta: dict = field(default_factory=dict)          # free-form facts for the host (param names, stat slots)

    def add(self, tensor: Tensor) -> Tensor:
        if tensor.name in self.tensors:
            raise ValueError(f"duplicate tensor {tensor.name}")
        self.tensors[tensor.name] = tensor
        return tensor

    def emit(self, phase: str, dispatch: Dispatch) -> None:
        for b in dispatch.bindings:
            if b.tensor not in self.tensors:
                raise ValueError(f"{dispatch.shader}:{dispatch.entry} binds unknown tensor {b.tensor}")
        self.phases.setdefault(phase, []).append(dispatch)
