"""BinaryCrossEntropy with logits: per sample, the mean over outputs of
max(z,0) − z·t + log(1 + e^−|z|) (the stable form); dz += dloss · (σ(z) − t) / width."""
import numpy as np

from ._loss import loss_kind
from .spec import ShapeError, fmt_shape, need_batched


def _check(s):
    pred, target = need_batched(s, "pred"), s["target"]
    if tuple(target) != tuple(pred) and not (len(pred) == 2 and pred[1] == 1 and tuple(target) == (None,)):
        raise ShapeError("target", f"got {fmt_shape(target)}, expected {fmt_shape(pred)} (or class labels (?,) "
                                   f"for a single logit) to match {{node}}.pred")


def _reference(pred, target):
    z, t = pred, target.reshape(pred.shape)
    per = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
    return per.reshape(len(z), -1).mean(axis=1)


KIND = loss_kind("binary_cross_entropy", _check, _reference,
                 "Binary cross-entropy on logits, for yes/no targets in [0, 1].")
