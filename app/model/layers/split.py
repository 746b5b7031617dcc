"""Split: x -> a, b along an axis: a takes the first `size` entries of that axis, b the rest
(size 0: two equal halves). Chain Splits for more parts. Forward copies each part out of x;
backward adds each part's dy back into its range of dx (a part nobody uses gives nothing)."""
from gpu.program import groups_1d
from ._axis import axis_param, outer_inner, resolve_axis
from .spec import LayerKind, Param, Port, ShapeError, fmt_shape, need_batched


def _sizes(s, p) -> tuple[int, int, int]:
    x = need_batched(s, "x")
    ax = resolve_axis(x, p["axis"], "x")
    total = x[ax]
    size = p["size"] or total // 2
    if p["size"] == 0 and total % 2:
        raise ShapeError("x", f"axis {p['axis']} of {fmt_shape(x)} has {total} entries, which don't halve; set size")
    if not 1 <= size < total:
        raise ShapeError("x", f"axis {p['axis']} of {fmt_shape(x)} has {total} entries: can't split off {size} "
                              f"and leave some")
    return ax, size, total


def _shape(s, p):
    ax, size, total = _sizes(s, p)
    x = s["x"]
    return {"a": (*x[:ax], size, *x[ax + 1:]), "b": (*x[:ax], total - size, *x[ax + 1:])}


def _reference(i, w, p):
    x = i["x"]
    ax, size, _ = _sizes({"x": (None, *x.shape[1:])}, p)
    return {"a": x.take(range(size), axis=ax), "b": x.take(range(size, x.shape[ax]), axis=ax)}


def _lower(ctx):
    shape = ctx.shape_in("x")
    ax, size, total = _sizes({"x": (None, *shape[1:])}, ctx.params)
    outer, _, inner = outer_inner(shape, ax)
    for port, offset, width in (("a", 0, size), ("b", size, total - size)):
        u = dict(outer=outer, width=width, total=total, offset=offset, inner=inner)
        n = outer * width * inner
        ctx.forward("take", groups_1d(n), {"x": ctx.x("x")}, {"y": ctx.y(port)}, **u)
        if ctx.dx("x") and ctx.dy(port):
            ctx.backward("give", groups_1d(n), {"dy": ctx.dy(port)}, {"dx": ctx.dx("x")}, **u)


KIND = LayerKind(
    name="split", version=1, category="Combine",
    inputs=[Port("x")], outputs=[Port("a", "the first `size` entries"), Port("b", "the rest")],
    params=[axis_param("the axis to cut"),
            Param("size", "int", 0, min=0, max=1 << 24, doc="entries that go to a (0: half)")],
    shape=_shape, reference=_reference, lower=_lower,
    shader="layers/split.wgsl", entries=("take", "give"),
    doc="Cuts a tensor in two along an axis; the inverse of Concat.",
    summary=lambda p: f"axis {p['axis']}" + (f", {p['size']} | rest" if p["size"] else ", halves"),
    color="#c0392b",
)
