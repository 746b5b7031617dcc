"""Sliding-window geometry shared by Conv2D, MaxPool2D and AvgPool2D (channels first:
x is (?, C, H, W)), and the numpy helpers their float64 references use.

Padding modes, per spatial axis of size n, kernel k, stride s, dilation d (span = d·(k−1) + 1):
- valid:    no padding; out = ⌊(n − span) / s⌋ + 1 (an error if n < span).
- same:     out = ⌈n / s⌉; the total padding max((out − 1)·s + span − n, 0) is split with the
            odd one at the end (bottom/right), as TensorFlow does; for s = 1 the output keeps n.
- explicit: `pad` zeros on every side; out = ⌊(n + 2·pad − span) / s⌋ + 1.
Kernels only need the padding before (top/left): the padding after is implied by out.
"""
from __future__ import annotations

import numpy as np

from .spec import Param, ShapeError, fmt_shape

PADDING = ("valid", "same", "explicit")


def window_params(kernel: int, stride: int, padding: str, doc_kind: str) -> list[Param]:
    return [
        Param("kernel", "int", kernel, min=1, max=64, doc=f"{doc_kind} window: kernel × kernel"),
        Param("stride", "int", stride, min=1, max=64, doc="step between windows"),
        Param("padding", "choice", padding, choices=PADDING,
              doc="valid: none; same: out = ⌈in / stride⌉; explicit: `pad` on every side"),
        Param("pad", "int", 0, min=0, max=64, doc="padding on every side (padding = explicit only)"),
    ]


def need_image(s: dict, port: str = "x") -> tuple[int, int, int]:
    """(C, H, W) of a (?, C, H, W) input, or a ShapeError saying what is expected."""
    x = s[port]
    if len(x) != 4 or x[0] is not None:
        raise ShapeError(port, f"expected an image batch (?, channels, height, width), got {fmt_shape(x)}; "
                               f"an input of shape [1, 8, 8] gives (?, 1, 8, 8)")
    return x[1], x[2], x[3]


def axis(n: int, k: int, stride: int, padding: str, pad: int, dilation: int = 1) -> tuple[int, int]:
    """(output size, padding before) along one axis; ValueError if no window fits."""
    span = dilation * (k - 1) + 1
    if padding == "same":
        out = -(-n // stride)
        return out, max((out - 1) * stride + span - n, 0) // 2
    before = pad if padding == "explicit" else 0
    if n + 2 * before < span:
        raise ValueError(f"a window spanning {span} doesn't fit {n}" + (f" + 2×{before} padding" if before else ""))
    return (n + 2 * before - span) // stride + 1, before


def geometry(s: dict, p: dict, dilation: int = 1, port: str = "x") -> dict:
    """The output size and padding before of both spatial axes, as ShapeErrors on `port`."""
    c, h, w = need_image(s, port)
    try:
        ho, pt = axis(h, p["kernel"], p["stride"], p["padding"], p["pad"], dilation)
        wo, pl = axis(w, p["kernel"], p["stride"], p["padding"], p["pad"], dilation)
    except ValueError as e:
        raise ShapeError(port, f"{e}: the input {fmt_shape(s[port])} is too small for a {p['kernel']}×{p['kernel']} "
                               f"window{'' if dilation == 1 else f' (dilation {dilation})'}") from None
    return dict(C=c, H=h, W=w, Ho=ho, Wo=wo, PT=pt, PL=pl)


def padded(x: np.ndarray, g: dict, k: int, stride: int, dilation: int, value: float) -> np.ndarray:
    """x (N, C, H, W) padded with `value` to cover every window: PT/PL before, the rest after."""
    span = dilation * (k - 1) + 1
    need_h = (g["Ho"] - 1) * stride + span
    need_w = (g["Wo"] - 1) * stride + span
    n, c, h, w = x.shape
    out = np.full((n, c, max(need_h, g["PT"] + h), max(need_w, g["PL"] + w)), value, dtype=np.float64)
    out[:, :, g["PT"]:g["PT"] + h, g["PL"]:g["PL"] + w] = x
    return out


def taps(xp: np.ndarray, g: dict, k: int, stride: int, dilation: int):
    """Every kernel tap (ky, kx) with the (N, C, Ho, Wo) input values it sees, in scan order
    (row by row, left to right)."""
    for ky in range(k):
        for kx in range(k):
            y0, x0 = ky * dilation, kx * dilation
            yield ky, kx, xp[:, :, y0:y0 + (g["Ho"] - 1) * stride + 1:stride, x0:x0 + (g["Wo"] - 1) * stride + 1:stride]


def window_summary(p: dict) -> str:
    text = f"{p['kernel']}×{p['kernel']}"
    if p["stride"] != 1:
        text += f" /{p['stride']}"
    if p["padding"] == "explicit":
        text += f" pad {p['pad']}"
    elif p["padding"] == "same":
        text += " same"
    return text
