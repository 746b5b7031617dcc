"""Shared shape of the elementwise activation kinds: y = f(x), dx += dy * f'(x, y)."""
from __future__ import annotations

from gpu.program import groups_1d
from .spec import LayerKind, Port, need_batched

COLOR = "#e67e22"


def activation(name: str, f, doc: str, params=(), shader_uniforms=lambda p: {}) -> LayerKind:
    """f(x, params) is the float64 reference. The WGSL file defines forward/backward."""

    def lower(ctx):
        n = ctx.size_out()
        u = shader_uniforms(ctx.params)
        ctx.forward("forward", groups_1d(n), {"x": ctx.x("x")}, {"y": ctx.y()}, n=n, **u)
        if ctx.dx("x") and ctx.dy():
            ctx.backward("backward", groups_1d(n), {"x": ctx.x("x"), "y": ctx.y(), "dy": ctx.dy()},
                         {"dx": ctx.dx("x")}, n=n, **u)

    return LayerKind(
        name=name, version=1, category="Activation",
        inputs=[Port("x")], outputs=[Port("y")], params=list(params),
        shape=lambda s, p: {"y": need_batched(s, "x")},
        reference=lambda i, w, p: {"y": f(i["x"], p)},
        lower=lower, shader=f"layers/{name}.wgsl", entries=("forward", "backward"),
        doc=doc, color=COLOR,
    )
