"""Concat along an axis (the last by default; `axis` as Softmax's, the batch excluded). Seen
around the axis, y is (outer, total, inner) and input k is (outer, width_k, inner) at offset
Σ widths before it. Forward copies each input into its range of y; backward takes each
input's range of dy back (adding)."""
import numpy as np

from gpu.program import groups_1d
from ._axis import axis_param, outer_inner, resolve_axis
from .spec import LayerKind, Param, Port, ShapeError, fmt_shape, need_batched

NAMES = "abcdefgh"


def _ports(p):
    # an out-of-bounds count can reach here from a file (it loads, and validation flags it):
    # clamp it rather than index past NAMES
    n = p.get("inputs", 2)
    n = n if isinstance(n, int) and not isinstance(n, bool) else 2
    return [Port(NAMES[i]) for i in range(max(0, min(n, len(NAMES))))]


def _shape(s, p):
    ports = [pt.name for pt in _ports(p)]
    first = need_batched(s, ports[0])
    for q in ports:   # a (?,) tensor has no feature axis to join along
        if len(s[q]) < 2:
            raise ShapeError(q, f"expected a tensor with a feature axis (?, ..., features), got {fmt_shape(s[q])}")
    axis = p.get("axis", -1)
    ax = resolve_axis(first, axis, ports[0])
    for q in ports[1:]:
        x = s[q]
        if len(x) != len(first) or any(x[i] != first[i] for i in range(len(first)) if i != ax):
            want = ", ".join("*" if i == ax else "?" if d is None else str(d) for i, d in enumerate(first))
            where = "the last axis" if ax == len(first) - 1 else f"axis {axis}"
            raise ShapeError(q, f"got {fmt_shape(x)}, expected ({want}) "
                                f"to match {{node}}.{ports[0]} {fmt_shape(first)} in all but {where}")
    return {"y": (*first[:ax], sum(s[q][ax] for q in ports), *first[ax + 1:])}


def _axis(ctx) -> int:
    return resolve_axis(ctx.shape_out(), ctx.params.get("axis", -1), "y")


def _lower(ctx):
    ax = _axis(ctx)
    outer, total, inner = outer_inner(ctx.shape_out(), ax)
    offset = 0
    for pt in _ports(ctx.params):
        width = ctx.shape_in(pt.name)[ax]
        u = dict(outer=outer, width=width, total=total, offset=offset, inner=inner)
        n = outer * width * inner
        ctx.forward("place", groups_1d(n), {"x": ctx.x(pt.name)}, {"y": ctx.y()}, **u)
        if ctx.dy() and ctx.dx(pt.name):
            ctx.backward("take", groups_1d(n), {"dy": ctx.dy()}, {"dx": ctx.dx(pt.name)}, **u)
        offset += width


def _reference(i, w, p):
    xs = [i[pt.name] for pt in _ports(p)]
    ax = resolve_axis((None, *xs[0].shape[1:]), p.get("axis", -1), "a")
    return {"y": np.concatenate(xs, axis=ax)}


KIND = LayerKind(
    name="concat", version=1, category="Combine",
    inputs=_ports, outputs=[Port("y")],
    params=[Param("inputs", "int", 2, min=2, max=len(NAMES), doc="how many tensors to join"),
            axis_param("the axis to join along")],
    shape=_shape, reference=_reference,
    lower=_lower, shader="layers/concat.wgsl", entries=("place", "take"),
    doc="Joins tensors side by side along an axis (the last by default; 1 is the channels of (?, C, H, W)).",
    summary=lambda p: "" if p.get("axis", -1) == -1 else f"axis {p['axis']}",
    color="#c0392b",
)
