"""What MaxPool2D and AvgPool2D share: params, the shape rule and the uniforms."""
from __future__ import annotations

from ._window import geometry, window_params
from .spec import ShapeError


def pool_params():
    return window_params(2, 2, "valid", "pooling")


def pool_geometry(s: dict, p: dict) -> dict:
    g = geometry(s, p)
    if p["padding"] == "explicit" and 2 * p["pad"] > p["kernel"]:
        # as PyTorch: every window then keeps at least one real element
        raise ShapeError("x", f"pad {p['pad']} is more than half the kernel {p['kernel']}")
    return g


def pool_shape(s, p):
    g = pool_geometry(s, p)
    return {"y": (None, g["C"], g["Ho"], g["Wo"])}


def pool_uniforms(ctx) -> dict:
    g = pool_geometry({"x": (None, *ctx.shape_in("x")[1:])}, ctx.params)
    n = ctx.shape_in("x")[0]
    # the batch and channels are one axis here: every (n, c) plane is pooled alike
    return dict(P=n * g["C"], H=g["H"], W=g["W"], Ho=g["Ho"], Wo=g["Wo"], K=ctx.params["kernel"],
                S=ctx.params["stride"], PT=g["PT"], PL=g["PL"])
