"""Shared shape of the loss kinds. A loss outputs one value per sample, shape (?,); the cost
is the sum over loss nodes of the batch mean. It is the base case of the backward recursion:
lowering seeds dC/d(loss) = 1/batch, and the loss's backward multiplies by it."""
from __future__ import annotations

from gpu.program import groups_1d
from .spec import BATCH, LayerKind, Port

COLOR = "#d35400"


def loss_kind(name, shape_rule, reference, doc, entries=("forward", "backward")) -> LayerKind:
    def lower(ctx):
        rows = ctx.shape_in("pred")[0]
        width = ctx.size_in("pred") // rows
        u = dict(rows=rows, width=width)
        reads = {"pred": ctx.x("pred"), "tgt": ctx.x("target")}   # "target" is a WGSL keyword
        ctx.forward("forward", groups_1d(rows), reads, {"loss": ctx.y("loss")}, **u)
        if ctx.dx("pred") and ctx.dy("loss"):
            ctx.backward("backward", groups_1d(rows), {**reads, "dloss": ctx.dy("loss")},
                         {"dpred": ctx.dx("pred")}, **u)

    def shape(s, p):
        shape_rule(s)
        return {"loss": (BATCH,)}

    return LayerKind(
        name=name, version=1, category="Loss", role="loss",
        inputs=[Port("pred"), Port("target")], outputs=[Port("loss", "per-sample loss")], params=[],
        shape=shape, reference=lambda i, w, p: {"loss": reference(i["pred"], i["target"])},
        lower=lower, shader=f"layers/{name}.wgsl", entries=entries, doc=doc, color=COLOR,
    )
