"""Add: y = a + b (+ c ...). Backward: every input's gradient gets dy added, through the
generic ops/axpy.wgsl add_into; the forward sums in layers/add.wgsl.

With broadcast on, a sets the shape and every other input may be a bias-like operand that
broadcasts to it (numpy's rule, shapes aligned on the right, e.g. (C, 1, 1) or (?, C, 1, 1)
onto (?, C, H, W), (W,) onto (?, C, H, W), (1,) onto anything), provided the axes where it
is not 1 are adjacent: seen around them a is (outer, mid, inner) and the operand is (mid,).
Its gradient sums dy over the axes it was repeated along (one invocation per element)."""
import math

from gpu.program import WORKGROUP, groups_1d
from .spec import LayerKind, Param, Port, ShapeError, fmt_shape, same_shape

NAMES = "abcdefgh"


def _ports(p):
    # an out-of-bounds count can reach here from a file (it loads, and validation flags it):
    # clamp it rather than index past NAMES
    n = p.get("inputs", 2)
    n = n if isinstance(n, int) and not isinstance(n, bool) else 2
    return [Port(NAMES[i]) for i in range(max(0, min(n, len(NAMES))))]


def _block(a, b, port) -> tuple[int, int] | None:
    """None when b has a's shape; else the axes [lo, hi) of a that b spans (see the docstring)."""
    if tuple(b) == tuple(a):
        return None
    if len(b) > len(a):
        raise ShapeError(port, f"got {fmt_shape(b)}, which has more axes than {{node}}.a {fmt_shape(a)}")
    aligned = (1,) * (len(a) - len(b)) + tuple(b)
    spans = [i for i, d in enumerate(aligned) if d != 1]
    if any(aligned[i] != a[i] for i in spans):
        raise ShapeError(port, f"got {fmt_shape(b)}, which doesn't broadcast to {{node}}.a {fmt_shape(a)} "
                               f"(each axis, aligned on the right, must match or be 1)")
    if spans and spans != list(range(spans[0], spans[-1] + 1)):
        raise ShapeError(port, f"got {fmt_shape(b)}: the axes where it isn't 1 must be adjacent to broadcast "
                               f"onto {{node}}.a {fmt_shape(a)}")
    return (spans[0], spans[-1] + 1) if spans else (len(a), len(a))


def _shape(s, p):
    ports = [pt.name for pt in _ports(p)]
    if not p.get("broadcast", False):
        return {"y": same_shape(s, ports)}
    for q in ports[1:]:
        _block(s["a"], s[q], q)
    return {"y": tuple(s["a"])}


def _lower(ctx):
    ports = [pt.name for pt in _ports(ctx.params)]
    n = ctx.size_out()
    a = ctx.shape_in("a")
    blocks = {p: _block(a, ctx.shape_in(p), p) if ctx.params.get("broadcast", False) else None for p in ports}

    def layout(p):
        lo, hi = blocks[p]
        return dict(n=n, mid=math.prod(a[lo:hi]), inner=math.prod(a[hi:]))

    if blocks["b"] is None:
        ctx.forward("add2", groups_1d(n), {"a": ctx.x("a"), "b": ctx.x("b")}, {"y": ctx.y()}, n=n)
    else:
        ctx.forward("add_b", groups_1d(n), {"a": ctx.x("a"), "b": ctx.x("b")}, {"y": ctx.y()}, **layout("b"))
    for p in ports[2:]:
        if blocks[p] is None:
            ctx.add_into("forward", ctx.x(p), ctx.y(), n)
        else:
            ctx.forward("acc_b", groups_1d(n), {"x": ctx.x(p)}, {"y": ctx.y()}, **layout(p))
    if ctx.dy() is None:
        return
    for p in ports:
        if not ctx.dx(p):
            continue
        if blocks[p] is None:
            ctx.add_into("backward", ctx.dy(), ctx.dx(p), n)
        else:
            u = layout(p)
            ctx.backward("grad_b", groups_1d(u["mid"] * WORKGROUP), {"dy": ctx.dy()}, {"dx": ctx.dx(p)}, **u)


def _reference(i, w, p):
    ports = [pt.name for pt in _ports(p)]
    return {"y": sum((i[q] for q in ports[1:]), i["a"].copy())}   # numpy broadcasts onto a


KIND = LayerKind(
    name="add", version=1, category="Combine",
    inputs=_ports, outputs=[Port("y")],
    params=[Param("inputs", "int", 2, min=2, max=len(NAMES), doc="how many tensors to add"),
            Param("broadcast", "bool", False,
                  doc="let the inputs after a be smaller and repeat over a's other axes, like a bias")],
    shape=_shape, reference=_reference,
    lower=_lower, shader="layers/add.wgsl", entries=("add2", "add_b", "acc_b", "grad_b"),
    doc="Elementwise sum; the classic skip connection. With broadcast, adds a bias-like tensor "
        "such as (C, 1, 1) to (?, C, H, W).",
    summary=lambda p: "broadcast" if p.get("broadcast", False) else "",
    color="#c0392b",
)
