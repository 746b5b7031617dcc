"""Scale: y = x ⊙ w with a learnable w per feature, the f(x, w) = x·w layer.
Backward: dx += dy ⊙ w, dw += Σ_batch dy ⊙ x."""
from gpu.program import WORKGROUP, groups_1d
from .spec import LayerKind, Param, Port, Weight, feature_size, need_batched


def _lower(ctx):
    n, f = ctx.size_out(), feature_size(ctx.shape_in("x"))
    rows = n // f
    ctx.forward("forward", groups_1d(n), {"x": ctx.x("x"), "w": ctx.w("w")}, {"y": ctx.y()}, n=n, f=f)
    if ctx.dy() is None:
        return
    if ctx.dx("x"):
        ctx.backward("backward_x", groups_1d(n), {"dy": ctx.dy(), "w": ctx.w("w")}, {"dx": ctx.dx("x")}, n=n, f=f)
    ctx.backward("backward_w", groups_1d(f * WORKGROUP), {"dy": ctx.dy(), "x": ctx.x("x")}, {"dw": ctx.dw("w")}, rows=rows, f=f)


KIND = LayerKind(
    name="scale", version=1, category="Core",
    inputs=[Port("x")], outputs=[Port("y")],
    params=[Param("init", "choice", "ones", choices=("ones", "uniform", "normal"), doc="initial weights")],
    weights=lambda s, p: [Weight("w", tuple(s["x"][1:]), p["init"], scale=0.5 if p["init"] != "ones" else 1.0)],
    shape=lambda s, p: {"y": need_batched(s, "x")},
    reference=lambda i, w, p: {"y": i["x"] * w["w"]},
    lower=_lower, shader="layers/scale.wgsl", entries=("forward", "backward_x", "backward_w"),
    doc="Multiplies every feature by its own learnable weight: y = x·w.",
    color="#16a085",
)
