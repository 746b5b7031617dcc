import numpy as np

from ._activation import activation

KIND = activation("sigmoid", lambda x, p: 1.0 / (1.0 + np.exp(-x)), "1 / (1 + e^-x), elementwise.")
