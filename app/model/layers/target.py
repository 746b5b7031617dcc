"""Target: the dataset's labels for one batch: integer classes, or values. Takes no gradient;
filled like Input from the dataset on the GPU (wgsl: ops/gather.wgsl)."""
import numpy as np

from .spec import BATCH, LayerKind, Param, Port

KIND = LayerKind(
    name="target", version=1, category="Data", role="target",
    inputs=[], outputs=[Port("y", "labels")],
    params=[Param("labels", "choice", "classes", choices=("classes", "values"),
                  doc="integer class labels, or real values"),
            Param("shape", "shape", [1], doc="values per sample (only for labels = values)")],
    shape=lambda s, p: {"y": (BATCH,) if p["labels"] == "classes" else (BATCH, *p["shape"])},
    reference=lambda i, w, p: {"y": np.asarray(i["y"], dtype=np.float64)},
    doc="Labels from the dataset: class indices for cross-entropy, values for MSE.",
    summary=lambda p: "classes" if p["labels"] == "classes" else "values " + "×".join(map(str, p["shape"])),
    color="#2e86de",
)
