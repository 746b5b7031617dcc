"""Binding a dataset to a graph: the Input's shape must be the dataset's features, and the
loss must suit the targets (class labels with cross-entropy, values with MSE)."""
from __future__ import annotations

from .layers import get_kind
from .layers.spec import fmt_shape
from .shapes import Problem


def check_binding(doc, analysis, dataset) -> list[Problem]:
    problems = []
    data_nodes = [n for n in analysis.order if get_kind(doc.nodes[n].kind).role == "data"]
    target_nodes = [n for n in analysis.order if get_kind(doc.nodes[n].kind).role == "target"]
    if not data_nodes:
        problems.append(Problem(None, None, "the graph has no Input node to take the dataset's features"))
    for n in data_nodes:
        want = tuple(doc.nodes[n].params["shape"])
        if want != tuple(dataset.feature_shape):
            problems.append(Problem(n, "y", f"the Input has shape {fmt_shape((None, *want))} but the dataset "
                                            f"({dataset.source}) has features {fmt_shape((None, *dataset.feature_shape))}"))
    for n in target_nodes:
        params = doc.nodes[n].params
        losses = {get_kind(doc.nodes[e.dst].kind).name: e.dst for e in doc.consumers(n)}
        if dataset.task == "classification":
            if dataset.num_classes == 1:      # almost surely the wrong label column
                only = f" ({dataset.class_names[0]!r})" if dataset.class_names else ""
                problems.append(Problem(n, "y", f"the dataset's labels hold one class only{only}; a classifier needs "
                                                "at least two: is the label column the right one?"))
            if params["labels"] != "classes":
                problems.append(Problem(n, "y", f"the dataset has class labels ({dataset.num_classes} classes); "
                                                "set this Target's labels to classes"))
            for name, loss in losses.items():
                if name == "mse":
                    problems.append(Problem(loss, "target", "MSE needs real-valued targets, but the dataset has class "
                                                            "labels: use SoftmaxCrossEntropy (or BinaryCrossEntropy for 2 classes)"))
                if name == "binary_cross_entropy" and (dataset.num_classes or 2) > 2:
                    problems.append(Problem(loss, "target", f"BinaryCrossEntropy takes 2 classes; the dataset has "
                                                            f"{dataset.num_classes}: use SoftmaxCrossEntropy"))
                if name == "softmax_cross_entropy":
                    pred = doc.edge_into(loss, "pred")
                    width = analysis.shapes.get((pred.src, pred.src_port), (None, 0))[-1] if pred else None
                    if width is not None and dataset.num_classes and width < dataset.num_classes:
                        problems.append(Problem(loss, "pred", f"the logits have {width} columns but the dataset has "
                                                              f"{dataset.num_classes} classes"))
        else:
            if params["labels"] == "classes" or tuple(params["shape"]) != tuple(dataset.target_shape):
                problems.append(Problem(n, "y", f"the dataset has real-valued targets {fmt_shape((None, *dataset.target_shape))}; "
                                                f"set this Target's labels to values with shape {list(dataset.target_shape)}"))
            for name, loss in losses.items():
                if name != "mse":
                    problems.append(Problem(loss, "target", f"the dataset's targets are real values: use MSE, not {name}"))
    return problems
