"""The peer for benchmarks: the same graph, weights, batches and optimizer in PyTorch (CPU).

A small interpreter over the Document: each kind maps to the torch ops its float64
reference describes, so both engines do the same work.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from app.model.layers import get_kind
from app.model.layers._window import axis as window_axis

_UNARY = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
          "gelu": F.gelu, "silu": F.silu}


def _pads(x, p, dilation=1):
    """(left, right, top, bottom) padding of a Conv2D/pool node, as app/model/layers/_window.py."""
    out = []
    for n in (x.shape[3], x.shape[2]):
        size, before = window_axis(n, p["kernel"], p["stride"], p["padding"], p["pad"], dilation)
        after = max((size - 1) * p["stride"] + dilation * (p["kernel"] - 1) + 1 - n - before, 0)
        out += [before, after]
    return tuple(out)


def _conv2d(x, w, b, p):
    groups = x.shape[1] if p["depthwise"] else p["groups"]
    pads = _pads(x, p, p["dilation"])
    if pads[0] == pads[1] and pads[2] == pads[3]:
        return F.conv2d(x, w, b, p["stride"], (pads[2], pads[0]), p["dilation"], groups)
    return F.conv2d(F.pad(x, pads), w, b, p["stride"], 0, p["dilation"], groups)


def _pool(x, p, kind):
    pads = _pads(x, p)
    k, s = p["kernel"], p["stride"]
    if kind == "max_pool2d":
        if pads[0] == pads[1] and pads[2] == pads[3]:
            return F.max_pool2d(x, k, s, (pads[2], pads[0]))
        return F.max_pool2d(F.pad(x, pads, value=-torch.inf), k, s)
    if pads[0] == pads[1] and pads[2] == pads[3]:
        return F.avg_pool2d(x, k, s, (pads[2], pads[0]), count_include_pad=False)
    ones = torch.ones_like(x[:1, :1])            # padding isn't counted: sum / count of real elements
    return F.avg_pool2d(F.pad(x, pads), k, s) / F.avg_pool2d(F.pad(ones, pads), k, s)


class TorchGraph(torch.nn.Module):
    """The graph as a torch Module; train()/eval() switch BatchNorm and Dropout as Wiregrad's
    training step and evaluation do (Dropout's masks come from torch's generator, not ours)."""

    def __init__(self, doc, analysis, weights: dict):
        super().__init__()
        self.doc, self.a = doc, analysis
        learnable = {f"{n}.{w.name}" for n, ws in analysis.weights.items() for w in ws if w.trainable}
        self.params = torch.nn.ParameterDict({k.replace(".", "__"): torch.nn.Parameter(
            torch.tensor(np.asarray(v), dtype=torch.float32)) for k, v in weights.items() if k in learnable})
        for k, v in weights.items():         # state (BatchNorm's running statistics): buffers, not learned
            if k not in learnable:
                self.register_buffer(k.replace(".", "__"), torch.tensor(np.asarray(v), dtype=torch.float32))

    def w(self, node, name):
        key = f"{node}__{name}"
        return self.params[key] if key in self.params else getattr(self, key)

    def forward(self, feeds: dict) -> torch.Tensor:
        values, cost = {}, 0.0
        for node_id in self.a.order:
            node = self.doc.nodes[node_id]
            kind = get_kind(node.kind)
            x = {p.name: values[(e.src, e.src_port)] for p in kind.input_ports(node.params)
                 for e in [self.doc.edge_into(node_id, p.name)]}
            k, p = kind.name, node.params
            if kind.role == "data":
                y = feeds[node_id].reshape(-1, *p["shape"])        # the dataset's rows are flat
            elif kind.role == "target":
                y = feeds[node_id]
            elif k == "dense":
                y = x["x"] @ self.w(node_id, "w") + (self.w(node_id, "b") if p["bias"] else 0)
            elif k in _UNARY:
                y = _UNARY[k](x["x"])
            elif k == "leaky_relu":
                y = F.leaky_relu(x["x"], p["slope"])
            elif k == "scale":
                y = x["x"] * self.w(node_id, "w")
            elif k == "parameter":
                y = self.w(node_id, "value")
            elif k == "matmul":
                y = x["a"] @ x["b"]
            elif k == "softmax":
                y = torch.softmax(x["x"], dim=p.get("axis", -1))
            elif k == "elu":
                y = F.elu(x["x"], p["alpha"])
            elif k == "softplus":
                y = F.softplus(x["x"], p["beta"])
            elif k == "conv2d":
                y = _conv2d(x["x"], self.w(node_id, "w"), self.w(node_id, "b") if p["bias"] else None, p)
            elif k in ("max_pool2d", "avg_pool2d"):
                y = _pool(x["x"], p, k)
            elif k == "global_avg_pool":
                y = x["x"].flatten(2).mean(2)
            elif k == "flatten":
                y = x["x"].flatten(1)
            elif k == "reshape":
                y = x["x"].reshape(len(x["x"]), *p["shape"])
            elif k == "batch_norm":
                y = F.batch_norm(x["x"], self.w(node_id, "running_mean"), self.w(node_id, "running_var"),
                                 self.w(node_id, "gamma"), self.w(node_id, "beta"), self.training,
                                 p["momentum"], p["eps"])
            elif k == "layer_norm":
                xx = x["x"]
                shape = xx.shape[-1:] if p["axes"] == "last" else xx.shape[1:]
                y = F.layer_norm(xx, shape, self.w(node_id, "gamma"), self.w(node_id, "beta"), p["eps"])
            elif k == "dropout":
                y = F.dropout(x["x"], p["rate"], self.training)
            elif k == "split":
                xx = x["x"]
                ax = p["axis"] % xx.dim()
                size = p["size"] or xx.shape[ax] // 2
                values[(node_id, "b")] = xx.narrow(ax, size, xx.shape[ax] - size)
                y = xx.narrow(ax, 0, size)
            elif k == "add":
                y = sum(x.values())                  # torch broadcasts a bias-like operand as numpy does
            elif k == "multiply":
                y = x["a"] * x["b"]
            elif k == "concat":
                y = torch.cat(list(x.values()), dim=p.get("axis", -1))
            elif k == "softmax_cross_entropy":
                y = F.cross_entropy(x["pred"], x["target"].long(), reduction="none")
            elif k == "binary_cross_entropy":
                z = x["pred"]
                y = F.binary_cross_entropy_with_logits(z, x["target"].reshape(z.shape), reduction="none").reshape(len(z), -1).mean(1)
            elif k == "mse":
                d = x["pred"] - x["target"].reshape(x["pred"].shape)
                y = (d * d).reshape(len(d), -1).mean(1)
            else:
                raise NotImplementedError(f"the torch peer has no mapping for kind {k!r}")
            values[(node_id, kind.outputs[0].name)] = y
            if kind.role == "loss":
                cost = cost + y.mean()
        return cost


def make_optimizer(model: TorchGraph, settings: dict):
    from app.model.optim import resolve
    opt, hp = resolve(settings)
    params = model.parameters()
    if opt.name == "sgd":
        return torch.optim.SGD(params, lr=hp["lr"], weight_decay=hp["weight_decay"])
    if opt.name in ("momentum", "nesterov"):
        return torch.optim.SGD(params, lr=hp["lr"], momentum=hp["momentum"], dampening=hp.get("dampening", 0.0),
                               weight_decay=hp["weight_decay"], nesterov=opt.name == "nesterov")
    cls = torch.optim.AdamW if opt.name == "adamw" else torch.optim.Adam
    return cls(params, lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"], weight_decay=hp["weight_decay"])
