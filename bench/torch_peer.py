"""The peer for benchmarks: the same graph, weights, batches and optimizer in PyTorch (CPU).

A small interpreter over the Document: each kind maps to the torch ops its float64
reference describes, so both engines do the same work.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from app.model.layers import get_kind

_UNARY = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
          "gelu": F.gelu, "softmax": lambda x: torch.softmax(x, dim=-1)}


class TorchGraph(torch.nn.Module):
    def __init__(self, doc, analysis, weights: dict):
        super().__init__()
        self.doc, self.a = doc, analysis
        self.params = torch.nn.ParameterDict({k.replace(".", "__"): torch.nn.Parameter(
            torch.tensor(np.asarray(v), dtype=torch.float32)) for k, v in weights.items()})

    def w(self, node, name):
        return self.params[f"{node}__{name}"]

    def forward(self, feeds: dict) -> torch.Tensor:
        values, cost = {}, 0.0
        for node_id in self.a.order:
            node = self.doc.nodes[node_id]
            kind = get_kind(node.kind)
            x = {p.name: values[(e.src, e.src_port)] for p in kind.input_ports(node.params)
                 for e in [self.doc.edge_into(node_id, p.name)]}
            k, p = kind.name, node.params
            if kind.role in ("data", "target"):
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
            elif k == "add":
                y = sum(x.values())
            elif k == "multiply":
                y = x["a"] * x["b"]
            elif k == "concat":
                y = torch.cat(list(x.values()), dim=-1)
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
