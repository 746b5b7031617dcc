"""Dense: y = x·W + b. Backward: dX += dY·Wᵀ, dW += Xᵀ·dY, db += Σ_rows dY,
all through the transpose flags of ops/matmul.wgsl (no transpose kernels)."""
import numpy as np

from gpu.program import WORKGROUP, groups_1d
from .spec import LayerKind, Param, Port, ShapeError, Weight, fmt_shape


def _shape(s, p):
    x = s["x"]
    if len(x) != 2 or x[0] is not None:
        raise ShapeError("x", f"expected (?, features), got {fmt_shape(x)}; add a Flatten before Dense")
    return {"y": (None, p["units"])}


def _weights(s, p):
    ws = [Weight("w", (s["x"][-1], p["units"]), "glorot")]
    if p["bias"]:
        ws.append(Weight("b", (p["units"],), "zeros"))
    return ws


def _reference(i, w, p):
    y = i["x"] @ w["w"]
    return {"y": y + w["b"] if p["bias"] else y}


def _lower(ctx):
    rows, fin = ctx.shape_in("x")
    units = ctx.params["units"]
    bias = ctx.w("b") if ctx.params["bias"] else None
    ctx.matmul("forward", ctx.x("x"), ctx.w("w"), ctx.y(), rows, units, fin, bias=bias)
    dy = ctx.dy()
    if dy is None:
        return
    if ctx.dx("x"):
        ctx.matmul("backward", dy, ctx.w("w"), ctx.dx("x"), rows, fin, units, tb=True, acc=True)
    ctx.matmul("backward", ctx.x("x"), dy, ctx.dw("w"), fin, units, rows, ta=True, acc=True)
    if bias:
        # one workgroup per column (wgsl/layers/dense.wgsl)
        ctx.backward("bias_grad", groups_1d(units * WORKGROUP), {"dy": dy}, {"db": ctx.dw("b")},
                     rows=rows, cols=units)


KIND = LayerKind(
    name="dense", version=1, category="Core",
    inputs=[Port("x")], outputs=[Port("y")],
    params=[Param("units", "int", 16, min=1, max=65536, doc="output features"),
            Param("bias", "bool", True, doc="add a learnable bias")],
    weights=_weights, shape=_shape, reference=_reference, lower=_lower,
    shader="layers/dense.wgsl", entries=("bias_grad",),
    doc="Fully connected: y = x·W + b.",
    summary=lambda p: f"{p['units']} units" + ("" if p["bias"] else ", no bias"),
    color="#16a085",
)
