"""MatMul: y = a·b with b a (K, N) matrix (typically a Parameter) and a (?, K) or (M, K).
Backward: da += dy·bᵀ and db += aᵀ·dy, by transpose flags on ops/matmul.wgsl."""
from .spec import LayerKind, Port, ShapeError, fmt_shape


def _shape(s, p):
    a, b = s["a"], s["b"]
    if len(a) != 2:
        raise ShapeError("a", f"expected a matrix (?, K) or (M, K), got {fmt_shape(a)}")
    if len(b) != 2 or b[0] is None:
        raise ShapeError("b", f"expected a matrix (K, N) without a batch dimension, got {fmt_shape(b)}")
    if a[1] != b[0]:
        raise ShapeError("b", f"got {fmt_shape(b)}, expected ({a[1]}, N) to match {{node}}.a {fmt_shape(a)}")
    return {"y": (a[0], b[1])}


def _lower(ctx):
    m, k = ctx.shape_in("a")
    n = ctx.shape_in("b")[1]
    ctx.matmul("forward", ctx.x("a"), ctx.x("b"), ctx.y(), m, n, k)
    dy = ctx.dy()
    if dy is None:
        return
    if ctx.dx("a"):
        ctx.matmul("backward", dy, ctx.x("b"), ctx.dx("a"), m, k, n, tb=True, acc=True)
    if ctx.dx("b"):
        ctx.matmul("backward", ctx.x("a"), dy, ctx.dx("b"), k, n, m, ta=True, acc=True)


KIND = LayerKind(
    name="matmul", version=1, category="Core",
    inputs=[Port("a"), Port("b")], outputs=[Port("y")], params=[],
    shape=_shape, reference=lambda i, w, p: {"y": i["a"] @ i["b"]}, lower=_lower,
    shader="ops/matmul.wgsl", entries=("matmul",),
    doc="Matrix product a·b; wire a Parameter into b for a weight you can share.",
    color="#16a085",
)
