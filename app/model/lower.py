"""Document + batch size -> gpu.program.Program.

Lowering is where the induction over layers becomes a list of kernels:
- forward: every node in topological order writes its outputs;
- the loss nodes are the base case: the gradient of each loss output is the constant
  1/batch (the cost is the sum over loss nodes of the mean per-sample loss);
- backward: nodes in reverse order, each handed dC/d(outputs), adds its share into
  dC/d(inputs) and dC/d(params). All gradient tensors are zeroed before each step and
  every backward kernel *adds*, so where one tensor feeds several consumers their
  contributions sum (the fan-out rule) without any bookkeeping.
- update: the optimizer, one dispatch per parameter tensor.
gpu/ knows nothing about layer kinds; layers know nothing about buffers.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gpu.program import Binding, Dispatch, Program, Tensor, groups_1d
from .layers import get_kind
from .layers.spec import feature_size
from .shapes import analyse


class LoweringError(ValueError):
    pass


def grad_name(tensor: str) -> str:
    return f"d:{tensor}"


def _uniform(name: str, value) -> tuple[str, str, float]:
    if isinstance(value, bool):
        return (name, "u32", int(value))
    if isinstance(value, int | np.integer):
        return (name, "i32" if value < 0 else "u32", int(value))
    return (name, "f32", float(value))


@dataclass
class LowerContext:
    """What a layer's `lower(ctx)` sees: its tensors by port, concrete shapes, and emit helpers."""
    program: Program
    node: str
    kind: object
    params: dict
    batch: int
    in_shapes: dict
    out_shapes: dict
    inputs: dict          # port -> tensor name
    outputs: dict         # port -> tensor name
    input_grads: dict     # port -> grad tensor name, or None where no gradient is needed
    output_grads: dict    # port -> grad tensor name, or None where nothing downstream needs it
    weight_names: dict = field(default_factory=dict)  # weight -> tensor name

    # names ------------------------------------------------------------------
    def x(self, port): return self.inputs[port]
    def y(self, port="y"): return self.outputs[port]
    def dx(self, port): return self.input_grads.get(port)
    def dy(self, port="y"): return self.output_grads.get(port)
    def w(self, name): return self.weight_names[name]
    def dw(self, name): return grad_name(self.weight_names[name])

    def shape_in(self, port): return self.in_shapes[port]
    def shape_out(self, port="y"): return self.out_shapes[port]
    def size_in(self, port): return int(np.prod(self.in_shapes[port]))
    def size_out(self, port="y"): return int(np.prod(self.out_shapes[port]))

    def scratch(self, suffix: str, size: int) -> str:
        return self.program.add(Tensor(f"{self.node}.{suffix}", max(1, size), node=self.node)).name

    # emitting ---------------------------------------------------------------
    def emit(self, phase, entry, groups, reads=None, writes=None, shader=None, **uniforms):
        shader = shader or self.kind.shader
        if shader == self.kind.shader and entry not in self.kind.entries:
            raise LoweringError(f"{self.kind.name}: entry {entry!r} is not declared in its entries")
        bindings = tuple([Binding(k, v) for k, v in (reads or {}).items()]
                         + [Binding(k, v, write=True) for k, v in (writes or {}).items()])
        self.program.emit(phase, Dispatch(
            shader=shader, entry=entry, bindings=bindings, groups=tuple(groups),
            uniforms=tuple(_uniform(k, v) for k, v in uniforms.items()), node=self.node))

    def forward(self, entry, groups, reads=None, writes=None, shader=None, **u):
        self.emit("forward", entry, groups, reads, writes, shader, **u)

    def backward(self, entry, groups, reads=None, writes=None, shader=None, **u):
        self.emit("backward", entry, groups, reads, writes, shader, **u)

    # shared building blocks ------------------------------------------------------
    def matmul(self, phase, a, b, c, m, n, k, ta=False, tb=False, acc=False, bias=None):
        """c (+)= op(a)[m,k] · op(b)[k,n] (+ bias[n]); transposes are index tricks, not copies."""
        reads = {"a": a, "b": b}
        if bias is not None:
            reads["bias"] = bias
        self.emit(phase, "matmul_bias" if bias is not None else "matmul",
                  matmul_groups(m, n), reads, {"c": c}, shader="ops/matmul.wgsl",
                  M=m, N=n, K=k, ta=int(ta), tb=int(tb), acc=int(acc))

    def add_into(self, phase, src, dst, n):
        self.emit(phase, "add_into", groups_1d(n), {"x": src}, {"y": dst}, shader="ops/axpy.wgsl", n=n)


MATMUL_TILE = 4   # each invocation of ops/matmul.wgsl computes a 4x4 block of C


def matmul_groups(m: int, n: int) -> tuple[int, int, int]:
    blocks = -(-m // MATMUL_TILE) * -(-n // MATMUL_TILE)
    return groups_1d(blocks)
