"""SiLU (swish): y = x·σ(x); f'(x) = σ(x)·(1 + x·(1 − σ(x)))."""
import scipy.special

from ._activation import activation


def silu(x, p):
    return x * scipy.special.expit(x)


KIND = activation("silu", silu, "x·σ(x), the sigmoid-weighted linear unit (swish).")
