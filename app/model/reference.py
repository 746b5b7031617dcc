"""The whole graph in numpy float64: the executable spec the engine is checked against.

Each kind's `reference` is its forward; running them in topological order gives every tensor,
and the cost is the sum over loss nodes of the batch-mean loss. Central finite differences of
`cost` are the oracle for every gradient the engine computes (see app/gradcheck.py).
"""
from __future__ import annotations

import numpy as np

from .layers import get_kind
from .layers.spec import Mode


def forward(doc, analysis, weights: dict, feeds: dict, overrides: dict | None = None, *,
            training: bool = True, step: int = 0) -> dict:
    """All outputs by (node, port). weights: "<node>.<weight>" -> array (state tensors too);
    feeds: data node -> array; overrides: (node, port) -> array replaces that output (to
    differentiate by it).

    training/step: the mode of modal kinds (BatchNorm, Dropout), as lower(training=...) and
    counters[0]. The default follows a program lowered with gradients (gradcheck, kernel
    tests): training mode at step 0. Evaluation's forward is training=False."""
    overrides = overrides or {}
    values = {}
    for node_id in analysis.order:
        node = doc.nodes[node_id]
        kind = get_kind(node.kind)
        inputs = {}
        for port in kind.input_ports(node.params):
            e = doc.edge_into(node_id, port.name)
            inputs[port.name] = values[(e.src, e.src_port)]
        if kind.role in ("data", "target"):
            inputs = {"y": feeds[node_id]}
        w = {wt.name: np.asarray(weights[f"{node_id}.{wt.name}"], dtype=np.float64)
             for wt in analysis.weights.get(node_id, [])}
        extra = {"mode": Mode(training, step, node_id)} if kind.modal else {}
        outs = kind.reference({k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()}, w, node.params,
                              **extra)
        for port, value in outs.items():
            values[(node_id, port)] = overrides.get((node_id, port), value)
    return values


def cost(doc, analysis, values: dict) -> float:
    return float(sum(values[(n, "loss")].mean() for n in analysis.order
                     if get_kind(doc.nodes[n].kind).role == "loss"))
