"""The `axis` param of Softmax, Concat and Split: an index into the whole shape, batch
included (axis 0 is the batch and can't be chosen), negative counting from the end (-1 is
the last axis, the default, which is the old feature-axis behaviour)."""
from __future__ import annotations

import math

from .spec import Param, ShapeError, fmt_shape


def axis_param(doc: str) -> Param:
    return Param("axis", "int", -1, min=-8, max=7, doc=doc + " (0 is the batch; -1 the last axis)")


def resolve_axis(shape, axis: int, port: str) -> int:
    """The non-negative axis of `shape`, or a ShapeError on `port`."""
    rank = len(shape)
    ax = axis + rank if axis < 0 else axis
    if not 0 <= ax < rank:
        raise ShapeError(port, f"axis {axis} is outside {fmt_shape(shape)}, which has {rank} axes")
    if ax == 0 and shape[0] is None:
        raise ShapeError(port, f"axis {axis} is the batch axis of {fmt_shape(shape)}; choose a feature axis")
    return ax


def outer_inner(shape, ax: int) -> tuple[int, int, int]:
    """A concrete shape seen as (outer, shape[ax], inner) around axis ax."""
    return math.prod(shape[:ax]), shape[ax], math.prod(shape[ax + 1:])
