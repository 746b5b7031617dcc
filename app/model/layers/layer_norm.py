"""LayerNorm: each sample is normalised on its own over its last axis (axes = last, as in
transformers) or over all its features (axes = all, e.g. (C, H, W)), then scaled and shifted
elementwise by learnable γ, β of the normalised shape (PyTorch's elementwise affine):

    y = γ·(x − μ)/√(σ² + ε) + β,   μ, σ² (biased) over the D normalised values of one row.

No batch statistics, so training and evaluation are the same. Backward per row, with
g = dy·γ and x̂ = (x − μ)/√(σ² + ε):  dx += (g − Σg/D − x̂·Σ(g·x̂)/D)/√(σ² + ε);
and per feature over all rows: dγ += Σ dy·x̂, dβ += Σ dy.
"""
import math

import numpy as np

from gpu.program import groups_1d, WORKGROUP
from .spec import LayerKind, Param, Port, ShapeError, Weight, fmt_shape


def _normalized(s, p) -> tuple:
    x = s["x"]
    if len(x) < 2 or x[0] is not None:
        raise ShapeError("x", f"expected a batched tensor with features (?, ...), got {fmt_shape(x)}")
    return tuple(x[-1:]) if p["axes"] == "last" else tuple(x[1:])


def _weights(s, p):
    shape = _normalized(s, p)
    return [Weight("gamma", shape, "ones"), Weight("beta", shape, "zeros")]


def _shape(s, p):
    _normalized(s, p)
    return {"y": tuple(s["x"])}


def _reference(i, w, p):
    x = i["x"]
    axes = (-1,) if p["axes"] == "last" else tuple(range(1, x.ndim))
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    return {"y": w["gamma"] * (x - mean) / np.sqrt(var + p["eps"]) + w["beta"]}


def _lower(ctx):
    shape = ctx.shape_in("x")
    d = math.prod(_normalized({"x": (None, *shape[1:])}, ctx.params))
    rows = ctx.size_in("x") // d
    u = dict(R=rows, D=d, eps=ctx.params["eps"])
    stat = ctx.scratch("stat", 2 * rows)       # μ[r], then 1/√(σ² + ε)[r]
    per_row = groups_1d(rows * WORKGROUP)      # one workgroup per row
    ctx.forward("forward", per_row, {"x": ctx.x("x"), "gamma": ctx.w("gamma"), "beta": ctx.w("beta")},
                {"y": ctx.y(), "stat": stat}, **u)
    dy = ctx.dy()
    if dy is None:
        return
    if ctx.dx("x"):
        ctx.backward("backward_x", per_row, {"x": ctx.x("x"), "dy": dy, "gamma": ctx.w("gamma"), "stat": stat},
                     {"dx": ctx.dx("x")}, **u)
    ctx.backward("backward_w", groups_1d(d * WORKGROUP), {"x": ctx.x("x"), "dy": dy, "stat": stat},
                 {"dgamma": ctx.dw("gamma"), "dbeta": ctx.dw("beta")}, **u)


KIND = LayerKind(
    name="layer_norm", version=1, category="Core",
    inputs=[Port("x")], outputs=[Port("y")],
    params=[Param("axes", "choice", "last", choices=("last", "all"),
                  doc="normalise over the last axis, or over every axis but the batch"),
            Param("eps", "float", 1e-5, min=1e-12, max=1.0, doc="added to the variance")],
    weights=_weights, shape=_shape, reference=_reference, lower=_lower,
    shader="layers/layer_norm.wgsl", entries=("forward", "backward_x", "backward_w"),
    doc="Normalises each sample over its last axis (or all its features), then scales and shifts it "
        "elementwise. The same in training and evaluation.",
    summary=lambda p: f"over {p['axes']}",
    color="#8e44ad",
)
