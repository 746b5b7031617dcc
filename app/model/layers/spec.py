"""The declaration every layer kind makes: ports, typed params, learnable tensors, shape rule,
float64 reference forward, and how it lowers to WGSL dispatches.

A kind lives in one file of this package plus one WGSL file; nothing else needs to change
to add one (palette, inspector, validation, JSON, lowering and tests work from this).
"""
from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

BATCH = None  # the symbolic batch dimension in a shape, printed as "?"

Shape = tuple  # of int, with BATCH (None) in the first place for per-sample tensors


def fmt_shape(shape: Shape) -> str:
    inner = ", ".join("?" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


class ShapeError(ValueError):
    """A shape rule's complaint about one port of one node."""

    def __init__(self, port: str, message: str):
        super().__init__(message)
        self.port = port


class ParamError(ValueError):
    pass


@dataclass(frozen=True)
class Port:
    name: str
    doc: str = ""


MAX_DIM = 1 << 24     # the largest extent a "shape" param may give one axis
MAX_RANK = 8          # and the most axes it may have


def _describe(value: Any, limit: int = 60) -> str:
    """A value as it would look in the graph file (JSON: "abc", true, null), cut short so that
    a 50 MB string in a file never becomes a 50 MB error message."""
    if isinstance(value, str) and len(value) > limit:
        value = value[:limit]
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:       # an int too large for a float (a JSON file can hold 10**400)
        return False


@dataclass(frozen=True)
class Param:
    """A typed hyperparameter. type is one of: int, float, bool, choice, shape."""
    name: str
    type: str
    default: Any
    min: float | None = None
    max: float | None = None
    choices: tuple = ()
    doc: str = ""

    def bounds_text(self) -> str:
        if self.min is not None and self.max is not None:
            return f" in [{self.min}, {self.max}]"
        if self.min is not None:
            return f" >= {self.min}"
        if self.max is not None:
            return f" <= {self.max}"
        return ""

    def check(self, value: Any) -> Any:
        """Return the value if valid, else raise ParamError saying what was expected."""
        t = self.type
        if t == "bool":
            if not isinstance(value, bool):
                raise ParamError(f"expected true or false, got {_describe(value)}")
            return value
        if t == "choice":
            if value not in self.choices:
                raise ParamError(f"expected one of {', '.join(map(str, self.choices))}, got {_describe(value)}")
            return value
        if t == "shape":
            ok = isinstance(value, list | tuple) and 1 <= len(value) <= MAX_RANK and all(
                isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= MAX_DIM for d in value)
            if not ok:
                raise ParamError(f"expected a list of 1 to {MAX_RANK} integers in [1, {MAX_DIM}], "
                                 f"got {_describe(value)}")
            return list(value)
        if t == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
            what = "an integer"
        else:
            ok = isinstance(value, int | float) and not isinstance(value, bool) and _finite(value)
            what = "a number"
        if not ok or (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            raise ParamError(f"expected {what}{self.bounds_text()}, got {_describe(value)}")
        return float(value) if t == "float" else value


@dataclass(frozen=True)
class Weight:
    """A persistent tensor of a node. Shapes have no batch dimension.

    trainable=False declares state rather than a parameter (BatchNorm's running statistics):
    it is saved and restored with the weights and copied into evaluation, but it gets no
    gradient and no optimizer update; the kind's own kernels write it (lower.py: Lowered.buffers)."""
    name: str
    shape: tuple[int, ...]
    init: str = "glorot"       # zeros | ones | uniform | glorot | he | normal
    scale: float = 1.0         # for uniform (±scale) and normal (std)
    trainable: bool = True

    def initial(self, rng: np.random.Generator) -> np.ndarray:
        shape = self.shape
        fan_in = math.prod(shape[:-1]) if len(shape) > 1 else (shape[0] if shape else 1)
        fan_out = shape[-1] if shape else 1
        if self.init == "zeros":
            return np.zeros(shape)
        if self.init == "ones":
            return np.ones(shape)
        if self.init == "uniform":
            return rng.uniform(-self.scale, self.scale, shape)
        if self.init == "normal":
            return rng.normal(0.0, self.scale, shape)
        if self.init == "glorot":
            a = math.sqrt(6.0 / (fan_in + fan_out))
            return rng.uniform(-a, a, shape)
        if self.init == "he":
            return rng.normal(0.0, math.sqrt(2.0 / fan_in), shape)
        raise ValueError(f"unknown initialiser {self.init!r}")


@dataclass(frozen=True)
class Mode:
    """What a modal kind's reference (LayerKind.modal) needs to follow the engine exactly:
    training or evaluation (BatchNorm's batch vs running statistics, Dropout's mask vs the
    identity), the optimizer steps taken before this forward (counters[0], which Dropout's
    mask depends on), and the node id (mixed into Dropout's seed)."""
    training: bool = False
    step: int = 0
    node: str = ""


EVAL = Mode()

ROLES = ("layer", "data", "target", "loss", "parameter")


@dataclass(frozen=True)
class LayerKind:
    name: str
    version: int
    category: str
    inputs: Callable[[dict], list[Port]] | list[Port]
    outputs: list[Port]
    params: list[Param]
    shape: Callable[[dict, dict], dict]                 # (input shapes, params) -> output shapes
    reference: Callable[[dict, dict, dict], dict]       # (inputs, weights, params) -> outputs, float64
    lower: Callable[[Any], None] | None = None          # (LowerContext) -> emits dispatches
    weights: Callable[[dict, dict], list[Weight]] = lambda shapes, params: []
    shader: str | None = None                           # path under wgsl/
    entries: tuple[str, ...] = ()                       # entry points the shader must have
    role: str = "layer"
    doc: str = ""
    summary: Callable[[dict], str] = lambda params: ""  # key params shown on the node
    color: str = "#7f8c8d"                              # category colour on the canvas
    # True: `reference` takes a keyword `mode` (a Mode; called without it: evaluation) and
    # `lower` reads ctx.training, because the kind behaves differently while training
    modal: bool = False

    def input_ports(self, params: dict) -> list[Port]:
        return self.inputs(params) if callable(self.inputs) else list(self.inputs)

    def defaults(self) -> dict:
        # copies, so that no two nodes share (and mutate) one default list
        return {p.name: (list(p.default) if isinstance(p.default, tuple) else copy.deepcopy(p.default))
                for p in self.params}

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)


# ---- helpers shared by several kinds -------------------------------------------------

def feature_size(shape: Shape) -> int:
    """Elements per sample (the batch dimension excluded)."""
    return math.prod(shape[1:]) if len(shape) > 1 else 1   # exact: no int64 wrap-around


def need_batched(shapes: dict, port: str) -> Shape:
    s = shapes[port]
    if len(s) < 1 or s[0] is not BATCH:
        raise ShapeError(port, f"expected a batched tensor (?, ...), got {fmt_shape(s)}")
    return s


def same_shape(shapes: dict, ports: list[str]) -> Shape:
    """All ports must carry one shape; the error names both shapes and the port they must match."""
    first = ports[0]
    for p in ports[1:]:
        if tuple(shapes[p]) != tuple(shapes[first]):
            raise ShapeError(p, f"got {fmt_shape(shapes[p])}, expected {fmt_shape(shapes[first])} to match {{node}}.{first}")
    return tuple(shapes[first])
