"""SiLU (swish): y = x·σ(x); f'(x) = σ(x)·(1 + x·(1 − σ(x)))."""
import numpy as np

from ._activation import activation


def silu(x, p):
    # σ(x) from e^-|x|, which never overflows and keeps the far tail's precision (numpy
    # only: scipy's expit would make scipy a runtime dependency)
    e = np.exp(-np.abs(x))
    return x * np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


KIND = activation("silu", silu, "x·σ(x), the sigmoid-weighted linear unit (swish).")
