"""ELU: y = x for x > 0, α·(eˣ − 1) otherwise; f'(x) = 1 or y + α."""
import numpy as np

from ._activation import activation
from .spec import Param


def elu(x, p):
    return np.where(x > 0, x, p["alpha"] * np.expm1(np.minimum(x, 0.0)))


KIND = activation("elu", elu, "x for x > 0, α·(eˣ − 1) below: a smooth ReLU whose outputs can go negative.",
                  params=[Param("alpha", "float", 1.0, min=0.0, max=100.0, doc="the value approached as x → −∞ is −α")],
                  shader_uniforms=lambda p: {"alpha": p["alpha"]})
