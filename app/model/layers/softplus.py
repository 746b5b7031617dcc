"""Softplus: y = log(1 + e^(βx)) / β, a smooth ReLU; f'(x) = σ(βx). Computed as
(max(βx, 0) + log1p(e^(−|βx|))) / β, which neither overflows nor loses the small tail."""
import numpy as np

from ._activation import activation
from .spec import Param


def softplus(x, p):
    bx = p["beta"] * x
    return (np.maximum(bx, 0.0) + np.log1p(np.exp(-np.abs(bx)))) / p["beta"]


KIND = activation("softplus", softplus, "log(1 + e^(βx)) / β: a smooth ReLU, always positive.",
                  params=[Param("beta", "float", 1.0, min=0.01, max=100.0, doc="sharpness: large β is close to ReLU")],
                  shader_uniforms=lambda p: {"beta": p["beta"]})
