"""Parameter: a learnable tensor as a node with an output port. Wire it like any input:
one Parameter feeding two MatMuls is weight sharing, and its gradient is the sum of both
contributions by the ordinary fan-out rule. Lowering makes its output *be* the weight tensor
(and the output's gradient the weight's gradient), so it needs no kernel and no wgsl file."""
import numpy as np

from .spec import LayerKind, Param, Port, Weight

KIND = LayerKind(
    name="parameter", version=1, category="Core", role="parameter",
    inputs=[], outputs=[Port("y", "the tensor")],
    params=[Param("shape", "shape", [8, 8], doc="the tensor's shape (no batch dimension)"),
            Param("init", "choice", "glorot", choices=("glorot", "he", "uniform", "normal", "zeros", "ones"))],
    weights=lambda s, p: [Weight("value", tuple(p["shape"]), p["init"], scale=0.1)],
    shape=lambda s, p: {"y": tuple(p["shape"])},
    reference=lambda i, w, p: {"y": np.asarray(w["value"], dtype=np.float64)},
    doc="A learnable tensor you can wire into several places (tied weights).",
    summary=lambda p: "×".join(map(str, p["shape"])),
    color="#8e44ad",
)
