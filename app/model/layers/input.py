"""Input: the dataset's features for one batch. A data node takes no gradient; lowering fills
its output from the dataset uploaded to the GPU (see lower.py), so it has no kernel of its own
(wgsl: ops/gather.wgsl)."""
import numpy as np

from .spec import BATCH, LayerKind, Param, Port

KIND = LayerKind(
    name="input", version=1, category="Data", role="data",
    inputs=[], outputs=[Port("y", "features")],
    params=[Param("shape", "shape", [2], doc="features per sample, e.g. [64] or [1, 8, 8]")],
    shape=lambda s, p: {"y": (BATCH, *p["shape"])},
    reference=lambda i, w, p: {"y": np.asarray(i["y"], dtype=np.float64)},
    doc="Features from the dataset, one row per sample.",
    summary=lambda p: "×".join(map(str, p["shape"])),
    color="#2e86de",
)
