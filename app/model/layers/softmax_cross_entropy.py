"""SoftmaxCrossEntropy: logits (?, C) and integer class labels (?,).
loss = logsumexp(z) − z[label]; one kernel per row computes it, and its gradient
dz += dloss · (softmax(z) − onehot(label))."""
import numpy as np

from ._loss import loss_kind
from .spec import ShapeError, fmt_shape


def _check(s):
    pred, target = s["pred"], s["target"]
    if len(pred) != 2 or pred[0] is not None:
        raise ShapeError("pred", f"expected logits (?, classes), got {fmt_shape(pred)}")
    if tuple(target) != (None,):
        raise ShapeError("target", f"expected class labels (?,), got {fmt_shape(target)}; set the Target's labels to classes")


def _reference(pred, target):
    m = pred.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(pred - m).sum(axis=1))
    return lse - pred[np.arange(len(pred)), target.astype(np.int64)]


KIND = loss_kind("softmax_cross_entropy", _check, _reference,
                 "Cross-entropy of softmax(logits) against class labels; the usual classifier loss.")
