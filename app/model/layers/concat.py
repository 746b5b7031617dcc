"""Concat along the feature (last) axis. Forward copies each input into its column range
of y; backward takes each input's range of dy back."""
import numpy as np

from gpu.program import groups_1d
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
    for q in ports[1:]:
        if tuple(s[q][:-1]) != tuple(first[:-1]):
            raise ShapeError(q, f"got {fmt_shape(s[q])}, expected ({', '.join('?' if d is None else str(d) for d in first[:-1])}, *) "
                                f"to match {{node}}.{ports[0]} {fmt_shape(first)} in all but the last axis")
    return {"y": (*first[:-1], sum(s[q][-1] for q in ports))}


def _lower(ctx):
    total = ctx.shape_out()[-1]
    rows = ctx.size_out() // total
    offset = 0
    for pt in _ports(ctx.params):
        width = ctx.shape_in(pt.name)[-1]
        u = dict(rows=rows, width=width, total=total, offset=offset)
        ctx.forward("place", groups_1d(rows * width), {"x": ctx.x(pt.name)}, {"y": ctx.y()}, **u)
        if ctx.dy() and ctx.dx(pt.name):
            ctx.backward("take", groups_1d(rows * width), {"dy": ctx.dy()}, {"dx": ctx.dx(pt.name)}, **u)
        offset += width


KIND = LayerKind(
    name="concat", version=1, category="Combine",
    inputs=_ports, outputs=[Port("y")],
    params=[Param("inputs", "int", 2, min=2, max=len(NAMES), doc="how many tensors to join")],
    shape=_shape,
    reference=lambda i, w, p: {"y": np.concatenate([i[pt.name] for pt in _ports(p)], axis=-1)},
    lower=_lower, shader="layers/concat.wgsl", entries=("place", "take"),
    doc="Joins tensors side by side along the feature axis.",
    color="#c0392b",
)
