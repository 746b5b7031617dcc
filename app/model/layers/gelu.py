import math

import numpy as np

from ._activation import activation


_erf = np.vectorize(math.erf, otypes=[np.float64])   # otypes: an empty batch works too


def gelu(x, p):
    # the exact GELU, x·Φ(x); erf from math keeps numpy's float64 precision
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


KIND = activation("gelu", gelu, "x·Φ(x), the Gaussian error linear unit (exact, not the tanh form).")
