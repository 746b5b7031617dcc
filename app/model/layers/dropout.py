"""Dropout (inverted): while training, each element is kept with probability 1 − rate and
scaled by 1 / (1 − rate), else zeroed; in evaluation it is the identity (a copy).

The mask is a pure function of (key, step, element index), recomputed by the backward rather
than stored:
    h    = lowbias32(index ^ lowbias32(step ^ key))        all u32 arithmetic, wrapping
    keep = (h >> 8) < round((1 − rate) · 2²⁴)
where step = counters[0], the optimizer steps taken before this one (so each step draws a new
mask, and the forward and backward of one step draw the same), key = lowbias32(seed ^
crc32(node id)) (so two Dropouts with one seed still differ), and lowbias32 is Chris
Wellons' 32-bit integer hash. The numpy reference computes the same integers.
Backward: dx += dy · mask / (1 − rate)."""
import zlib

import numpy as np

from gpu.program import groups_1d
from .spec import EVAL, LayerKind, Param, Port, need_batched

M32 = 0xFFFFFFFF


def lowbias32(x):
    """Wellons' lowbias32 on uint32 arrays (or Python ints), wrapping like WGSL's u32."""
    x = np.asarray(x, dtype=np.uint64) & M32
    x ^= x >> 16
    x = (x * 0x7FEB352D) & M32
    x ^= x >> 15
    x = (x * 0x846CA68B) & M32
    x ^= x >> 16
    return x


def key_of(seed: int, node: str) -> int:
    return int(lowbias32(np.uint64((seed ^ zlib.crc32(node.encode())) & M32)))


def threshold(rate: float) -> int:
    return int(round((1.0 - rate) * (1 << 24)))


def mask(shape, rate: float, seed: int, node: str, step: int) -> np.ndarray:
    """The keep mask (0/1, float64) of a tensor of `shape` at optimizer step `step`."""
    inner = lowbias32(np.uint64((step ^ key_of(seed, node)) & M32))
    h = lowbias32(np.arange(int(np.prod(shape)), dtype=np.uint64) ^ inner)
    return ((h >> 8) < threshold(rate)).astype(np.float64).reshape(shape)


def _reference(i, w, p, mode=EVAL):
    x = i["x"]
    if not mode.training or p["rate"] == 0.0:
        return {"y": x.copy()}
    return {"y": x * mask(x.shape, p["rate"], p["seed"], mode.node, mode.step) / (1.0 - p["rate"])}


def _lower(ctx):
    n = ctx.size_out()
    if not ctx.training:
        ctx.forward("copy", groups_1d(n), {"x": ctx.x("x")}, {"y": ctx.y()}, n=n)
        if ctx.dx("x") and ctx.dy():
            ctx.add_into("backward", ctx.dy(), ctx.dx("x"), n)
        return
    rate = ctx.params["rate"]
    u = dict(n=n, key=key_of(ctx.params["seed"], ctx.node), keep=threshold(rate), scale=1.0 / (1.0 - rate))
    counters = ctx.counters()
    ctx.forward("forward", groups_1d(n), {"x": ctx.x("x"), "counters": counters}, {"y": ctx.y()}, **u)
    if ctx.dx("x") and ctx.dy():
        ctx.backward("backward", groups_1d(n), {"dy": ctx.dy(), "counters": counters}, {"dx": ctx.dx("x")}, **u)


KIND = LayerKind(
    name="dropout", version=1, category="Core",
    inputs=[Port("x")], outputs=[Port("y")],
    params=[Param("rate", "float", 0.5, min=0.0, max=0.95, doc="the fraction of elements zeroed while training"),
            Param("seed", "int", 0, min=0, max=(1 << 31) - 1, doc="seeds the masks (with the step and the node id)")],
    shape=lambda s, p: {"y": need_batched(s, "x")},
    reference=_reference, lower=_lower, modal=True,
    shader="layers/dropout.wgsl", entries=("forward", "backward", "copy"),
    doc="While training, zeroes each element with probability `rate` and scales the rest by 1/(1 − rate); "
        "in evaluation it passes its input through.",
    summary=lambda p: f"rate {p['rate']:g}",
    color="#7f8c8d",
)
