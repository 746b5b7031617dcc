import numpy as np

from ._activation import activation
from .spec import Param

KIND = activation(
    "leaky_relu", lambda x, p: np.where(x > 0, x, p["slope"] * x),
    "x where x > 0, else slope·x.",
    params=[Param("slope", "float", 0.01, min=0.0, max=1.0, doc="gradient for negative inputs")],
    shader_uniforms=lambda p: {"slope": float(p["slope"])},
)
