"""MSE: per sample, the mean over features of (pred − target)²."""
import numpy as np

from ._loss import loss_kind
from .spec import ShapeError, fmt_shape, need_batched


def _check(s):
    pred, target = need_batched(s, "pred"), s["target"]
    if tuple(target) != tuple(pred) and not (len(pred) == 2 and pred[1] == 1 and tuple(target) == (None,)):
        raise ShapeError("target", f"got {fmt_shape(target)}, expected {fmt_shape(pred)} to match {{node}}.pred")


def _reference(pred, target):
    d = pred - target.reshape(pred.shape)
    return (d * d).reshape(len(pred), -1).mean(axis=1)


KIND = loss_kind("mse", _check, _reference, "Mean squared error, for regression on real-valued targets.")
