"""Add: y = a + b (+ c ...). Backward: every input's gradient gets dy added, through the
generic ops/axpy.wgsl add_into; the forward sums in layers/add.wgsl."""
from gpu.program import groups_1d
from .spec import LayerKind, Param, Port, same_shape

NAMES = "abcdefgh"


def _ports(p):
    # an out-of-bounds count can reach here from a file (it loads, and validation flags it):
    # clamp it rather than index past NAMES
    n = p.get("inputs", 2)
    n = n if isinstance(n, int) and not isinstance(n, bool) else 2
    return [Port(NAMES[i]) for i in range(max(0, min(n, len(NAMES))))]


def _lower(ctx):
    ports = [pt.name for pt in _ports(ctx.params)]
    n = ctx.size_out()
    ctx.forward("add2", groups_1d(n), {"a": ctx.x("a"), "b": ctx.x("b")}, {"y": ctx.y()}, n=n)
    for p in ports[2:]:
        ctx.add_into("forward", ctx.x(p), ctx.y(), n)
    if ctx.dy() is None:
        return
    for p in ports:
        if ctx.dx(p):
            ctx.add_into("backward", ctx.dy(), ctx.dx(p), n)


KIND = LayerKind(
    name="add", version=1, category="Combine",
    inputs=_ports, outputs=[Port("y")],
    params=[Param("inputs", "int", 2, min=2, max=len(NAMES), doc="how many tensors to add")],
    shape=lambda s, p: {"y": same_shape(s, [pt.name for pt in _ports(p)])},
    reference=lambda i, w, p: {"y": sum(i[pt.name] for pt in _ports(p))},
    lower=_lower, shader="layers/add.wgsl", entries=("add2",),
    doc="Elementwise sum; the classic skip connection.",
    color="#c0392b",
)
