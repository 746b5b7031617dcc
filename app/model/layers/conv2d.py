"""Conv2D, channels first: x (?, C, H, W), w (O, C/G, K, K), b (O,) -> y (?, O, Ho, Wo).

    y[n, o, oy, ox] = b[o] + Σ_{c in o's group, ky, kx} w[o, c, ky, kx] · x[n, c, oy·S − PT + ky·D, ox·S − PL + kx·D]

(cross-correlation, as PyTorch's conv2d; taps that fall in the padding read 0). Groups G split
the channels: output channel o sees only the input channels of its group; depthwise is G = C.

The inductive step: every weight is shared by every position of the output, so
    dw[o, c, ky, kx] += Σ_{n, oy, ox} dy[n, o, oy, ox] · x[n, c, iy, ix]     (one workgroup per weight)
    db[o]           += Σ_{n, oy, ox} dy[n, o, oy, ox]                        (one workgroup per channel)
    dx[n, c, iy, ix] += Σ over every (o, ky, kx, oy, ox) whose tap lands on (iy, ix) of dy · w
                                                                   (one invocation per input element)
All three gather, so no two invocations write one element (WGSL has no float atomics). The
sums over positions run in a workgroup of 64 strided shares: lavapipe ends an invocation's
loops silently after 65535 iterations, and N·Ho·Wo passes that (28x28 images at batch 84).
One group (the usual case) runs as an implicit GEMM on ops/matmul.wgsl (see _lower_gemm);
grouped and depthwise convolutions run direct kernels, one invocation per element written.
"""
import math

import numpy as np

from gpu.program import WORKGROUP, groups_1d
from ._window import geometry, padded, taps, window_params, window_summary
from .spec import LayerKind, Param, Port, ShapeError, Weight


def _groups(s, p) -> int:
    c = s["x"][1]
    g = c if p["depthwise"] else p["groups"]
    if c % g:
        raise ShapeError("x", f"{c} input channels don't split into {g} groups")
    if p["channels"] % g:
        raise ShapeError("x", f"{p['channels']} output channels don't split into {g} groups"
                              + ("; depthwise needs a multiple of the input channels" if p["depthwise"] else ""))
    return g


def _geometry(s, p) -> dict:
    g = geometry(s, p, p["dilation"])
    g["G"] = _groups(s, p)
    return g


def _shape(s, p):
    g = _geometry(s, p)
    return {"y": (None, p["channels"], g["Ho"], g["Wo"])}


def _weights(s, p):
    g = _geometry(s, p)
    k = p["kernel"]
    fan_in = g["C"] // g["G"] * k * k
    ws = [Weight("w", (p["channels"], g["C"] // g["G"], k, k), "uniform", scale=math.sqrt(6.0 / fan_in))]  # He
    if p["bias"]:
        ws.append(Weight("b", (p["channels"],), "zeros"))
    return ws


def conv2d(x, w, b, stride=1, padding="valid", pad=0, dilation=1, groups=1):
    """The float64 reference, with PyTorch's argument order (w is (O, C/G, K, K))."""
    o, cg, k, _ = w.shape
    p = dict(kernel=k, stride=stride, padding=padding, pad=pad)
    g = geometry({"x": (None, *x.shape[1:])}, p, dilation)
    xp = padded(x, g, k, stride, dilation, 0.0)
    og = o // groups
    y = np.zeros((x.shape[0], o, g["Ho"], g["Wo"]))
    for ky, kx, patch in taps(xp, g, k, stride, dilation):
        for grp in range(groups):
            y[:, grp * og:(grp + 1) * og] += np.einsum(
                "nchw,oc->nohw", patch[:, grp * cg:(grp + 1) * cg], w[grp * og:(grp + 1) * og, :, ky, kx])
    if b is not None:
        y += b[None, :, None, None]
    return y


def _reference(i, w, p):
    x = i["x"]
    groups = x.shape[1] if p["depthwise"] else p["groups"]
    return {"y": conv2d(x, w["w"], w.get("b") if p["bias"] else None, p["stride"], p["padding"], p["pad"],
                        p["dilation"], groups)}


# Above this many elements in the column matrix, stay with the direct kernels (memory).
IM2COL_LIMIT = 1 << 24


def _lower(ctx):
    n = ctx.shape_in("x")[0]
    g = _geometry({"x": (None, *ctx.shape_in("x")[1:])}, ctx.params)
    p = ctx.params
    u = dict(N=n, C=g["C"], H=g["H"], W=g["W"], O=p["channels"], Ho=g["Ho"], Wo=g["Wo"], K=p["kernel"],
             S=p["stride"], D=p["dilation"], PT=g["PT"], PL=g["PL"], G=g["G"])
    rows, kk = n * g["Ho"] * g["Wo"], g["C"] * p["kernel"] ** 2
    if g["G"] == 1 and rows * kk <= IM2COL_LIMIT:
        _lower_gemm(ctx, u, rows, kk)
    else:
        _lower_direct(ctx, u, g)


def _lower_gemm(ctx, u, rows, kk):
    """One group: an implicit GEMM through the tuned ops/matmul.wgsl. With the column matrix
    cols[(n, oy, ox), (c, ky, kx)] (im2col) and W as (O, C·K·K):
        Y = cols · Wᵀ (+ b)      dW += dYᵀ · cols      dcols = dY · W      dx += col2im(dcols)
    where Y, dY are (N·Ho·Wo, O): rows of positions, which to_nchw / to_rows turn from and to
    y's (N, O, Ho, Wo). col2im gathers, per input element, every tap that read it."""
    p, o = ctx.params, u["O"]
    cols = ctx.scratch("cols", rows * kk)
    ym = ctx.scratch("y_rows", rows * o)
    ctx.forward("im2col", groups_1d(rows * u["C"]), {"x": ctx.x("x")}, {"cols": cols}, **u)
    ctx.matmul("forward", cols, ctx.w("w"), ym, rows, o, kk, tb=True, bias=ctx.w("b") if p["bias"] else None)
    ctx.forward("to_nchw", groups_1d(ctx.size_out()), {"rows": ym}, {"y": ctx.y()}, **u)
    dy = ctx.dy()
    if dy is None:
        return
    dym = ctx.scratch("dy_rows", rows * o)
    ctx.backward("to_rows", groups_1d(ctx.size_out()), {"dy": dy}, {"rows": dym}, **u)
    ctx.matmul("backward", dym, cols, ctx.dw("w"), o, kk, rows, ta=True, acc=True)
    if p["bias"]:
        ctx.backward("bias_rows", groups_1d(o * WORKGROUP), {"rows": dym}, {"db": ctx.dw("b")}, **u)
    if ctx.dx("x"):
        dcols = ctx.scratch("dcols", rows * kk)
        ctx.matmul("backward", dym, ctx.w("w"), dcols, rows, kk, o)
        ctx.backward("col2im", groups_1d(ctx.size_in("x")), {"dcols": dcols}, {"dx": ctx.dx("x")}, **u)


def _lower_direct(ctx, u, g):
    """Grouped (and depthwise) convolutions: direct kernels, one invocation per element written."""
    p = ctx.params
    # without a bias the kernel's `b` binding is the weights, never read (has_bias = 0)
    b = ctx.w("b") if p["bias"] else ctx.w("w")
    ctx.forward("forward", groups_1d(ctx.size_out()), {"x": ctx.x("x"), "w": ctx.w("w"), "b": b}, {"y": ctx.y()},
                has_bias=int(p["bias"]), **u)
    dy = ctx.dy()
    if dy is None:
        return
    if ctx.dx("x"):
        ctx.backward("backward_x", groups_1d(ctx.size_in("x")), {"dy": dy, "w": ctx.w("w")}, {"dx": ctx.dx("x")}, **u)
    ctx.backward("backward_w", groups_1d(p["channels"] * g["C"] // g["G"] * p["kernel"] ** 2 * WORKGROUP),
                 {"dy": dy, "x": ctx.x("x")}, {"dw": ctx.dw("w")}, **u)
    if p["bias"]:
        ctx.backward("backward_b", groups_1d(p["channels"] * WORKGROUP), {"dy": dy}, {"db": ctx.dw("b")}, **u)


KIND = LayerKind(
    name="conv2d", version=1, category="Core",
    inputs=[Port("x", "images (?, C, H, W)")], outputs=[Port("y", "feature maps (?, channels, H', W')")],
    params=[Param("channels", "int", 8, min=1, max=65536, doc="output channels (filters)"),
            *window_params(3, 1, "same", "the filter's"),
            Param("dilation", "int", 1, min=1, max=64, doc="spacing between the filter's taps"),
            Param("groups", "int", 1, min=1, max=65536,
                  doc="split the channels into groups convolved separately (both channel counts must divide)"),
            Param("depthwise", "bool", False, doc="one group per input channel (overrides groups)"),
            Param("bias", "bool", True, doc="add a learnable bias per output channel")],
    weights=_weights, shape=_shape, reference=_reference, lower=_lower,
    shader="layers/conv2d.wgsl",
    entries=("im2col", "to_nchw", "to_rows", "bias_rows", "col2im", "forward", "backward_x", "backward_w", "backward_b"),
    doc="2-D convolution over channels-first images (?, C, H, W), with stride, padding, dilation and groups "
        "(depthwise too). Weights (out, in/groups, k, k) as PyTorch's.",
    summary=lambda p: f"{p['channels']} ch, {window_summary(p)}"
                      + (f" dil {p['dilation']}" if p["dilation"] != 1 else "")
                      + (" depthwise" if p["depthwise"] else f" g{p['groups']}" if p["groups"] != 1 else "")
                      + ("" if p["bias"] else ", no bias"),
    color="#16a085",
)
