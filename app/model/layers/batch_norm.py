"""BatchNorm over channels: x is (?, C) or (?, C, ...) — BatchNorm1d for (?, C) and (?, C, L),
BatchNorm2d for (?, C, H, W). Each channel c is normalised over the batch and every position
(M = N·positions values), then scaled and shifted by learnable γ[c], β[c]:

    y = γ·(x − μ)/√(σ² + ε) + β

- Training (lower(training=True), the training step): μ, σ² are the batch's (σ² biased, /M),
  and the running statistics, state tensors that get no gradient (Weight(trainable=False)),
  move towards them, as PyTorch:  running_mean ← (1 − momentum)·running_mean + momentum·μ,
  running_var ← (1 − momentum)·running_var + momentum·σ²·M/(M − 1) (the unbiased variance;
  /M when M = 1). The update runs in the forward, once per step.
- Evaluation (forward-only programs: Session.evaluate, Predictor): μ, σ² are the running
  statistics, which are not changed.

Backward, the full one through the batch statistics (x̂ = (x − μ)/√(σ² + ε)):
    dγ += Σ dy·x̂,   dβ += Σ dy,
    dx += γ/√(σ² + ε) · (dy − Σdy/M − x̂·Σ(dy·x̂)/M)   (training; in evaluation dx += γ·dy/√(σ² + ε)).
"""
import math

import numpy as np

from gpu.program import groups_1d, WORKGROUP
from .spec import EVAL, LayerKind, Param, Port, ShapeError, Weight, fmt_shape


def _channels(s) -> int:
    x = s["x"]
    if len(x) < 2 or x[0] is not None:
        raise ShapeError("x", f"expected (?, channels) or (?, channels, ...), got {fmt_shape(x)}")
    return x[1]


def _shape(s, p):
    _channels(s)
    return {"y": tuple(s["x"])}


def _weights(s, p):
    c = _channels(s)
    return [Weight("gamma", (c,), "ones"), Weight("beta", (c,), "zeros"),
            Weight("running_mean", (c,), "zeros", trainable=False),
            Weight("running_var", (c,), "ones", trainable=False)]


def _axes(x):
    return (0, *range(2, x.ndim))


def _bcast(v, x):
    return v.reshape(1, -1, *([1] * (x.ndim - 2)))


def batch_norm(x, gamma, beta, mean, var, eps):
    return _bcast(gamma, x) * (x - _bcast(mean, x)) / np.sqrt(_bcast(var, x) + eps) + _bcast(beta, x)


def _reference(i, w, p, mode=EVAL):
    x = i["x"]
    if mode.training:
        mean, var = x.mean(axis=_axes(x)), x.var(axis=_axes(x))
    else:
        mean, var = w["running_mean"], w["running_var"]
    return {"y": batch_norm(x, w["gamma"], w["beta"], mean, var, p["eps"])}


def _lower(ctx):
    shape = ctx.shape_in("x")
    n, c, positions = shape[0], shape[1], math.prod(shape[2:])
    size = ctx.size_in("x")
    u = dict(N=n, C=c, S=positions, eps=ctx.params["eps"])
    stat = ctx.scratch("stat", 2 * c)          # μ[c], then 1/√(σ² + ε)[c], as this forward used them
    per_channel = groups_1d(c * WORKGROUP)     # one workgroup per channel
    if ctx.training:
        ctx.forward("stats", per_channel, {"x": ctx.x("x")},
                    {"stat": stat, "rm": ctx.w("running_mean"), "rv": ctx.w("running_var")},
                    momentum=ctx.params["momentum"], **u)
    else:
        ctx.forward("eval_stats", groups_1d(c), {"rm": ctx.w("running_mean"), "rv": ctx.w("running_var")},
                    {"stat": stat}, **u)
    ctx.forward("normalize", groups_1d(size), {"x": ctx.x("x"), "stat": stat, "gamma": ctx.w("gamma"),
                                               "beta": ctx.w("beta")}, {"y": ctx.y()}, **u)
    dy = ctx.dy()
    if dy is None:
        return
    sums = ctx.scratch("sums", 2 * c)          # Σdy[c], then Σdy·x̂[c]
    ctx.backward("grad_stats", per_channel, {"x": ctx.x("x"), "dy": dy, "stat": stat},
                 {"dgamma": ctx.dw("gamma"), "dbeta": ctx.dw("beta"), "sums": sums}, **u)
    if ctx.dx("x"):
        ctx.backward("grad_x", groups_1d(size), {"x": ctx.x("x"), "dy": dy, "stat": stat, "gamma": ctx.w("gamma"),
                                                 "sums": sums}, {"dx": ctx.dx("x")},
                     batch_stats=int(ctx.training), **u)


KIND = LayerKind(
    name="batch_norm", version=1, category="Core",
    inputs=[Port("x", "(?, C) or (?, C, ...)")], outputs=[Port("y")],
    params=[Param("momentum", "float", 0.1, min=0.0, max=1.0,
                  doc="how far the running statistics move towards each batch's"),
            Param("eps", "float", 1e-5, min=1e-12, max=1.0, doc="added to the variance")],
    weights=_weights, shape=_shape,
    reference=_reference, lower=_lower, modal=True,
    shader="layers/batch_norm.wgsl", entries=("stats", "eval_stats", "normalize", "grad_stats", "grad_x"),
    doc="Normalises each channel (axis 1) over the batch and positions, then scales and shifts it. "
        "Training uses the batch's statistics and updates running ones; evaluation uses the running ones. "
        "BatchNorm1d for (?, C), BatchNorm2d for (?, C, H, W).",
    summary=lambda p: f"momentum {p['momentum']:g}",
    color="#8e44ad",
)
