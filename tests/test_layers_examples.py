"""The examples of the convolutional layer set: digits_cnn (a LeNet-style CNN on the 8×8 digits
as (1, 8, 8)) trains headless to test accuracy >= 0.97; resnet_block (two residual blocks with
BatchNorm) trains and passes gradcheck; a graph with Dropout trains and evaluates
deterministically."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.model.graphfile import load

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "assets" / "examples"


def test_digits_cnn_trains_headless_to_97_percent(gpu_device):
    r = subprocess.run([sys.executable, "-m", "app", "train", str(EXAMPLES / "digits_cnn.json"), "--json"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["test_accuracy"] >= 0.97, result
    assert result["epochs"] == load(EXAMPLES / "digits_cnn.json").training["epochs"]


def test_digits_cnn_is_the_lenet_shape():
    doc = load(EXAMPLES / "digits_cnn.json")
    kinds = [doc.nodes[n].kind for n in doc.nodes]
    assert kinds[:8] == ["input", "conv2d", "relu", "max_pool2d", "conv2d", "relu", "flatten", "dense"]
    assert doc.training["dataset"] == {"name": "digits", "layout": "image"}
    assert doc.nodes["input1"].params["shape"] == [1, 8, 8]


def test_resnet_block_trains(gpu_device):
    from app.session import Session
    doc = load(EXAMPLES / "resnet_block.json")
    kinds = [n.kind for n in doc.nodes.values()]
    assert kinds.count("batch_norm") == 5 and kinds.count("add") == 2     # a stem and two residual blocks
    s = Session(doc, EXAMPLES, device=gpu_device)
    try:
        before = s.weights()
        first = s.run(1).loss
        losses = []
        while s.step < s.steps_per_epoch:
            losses.append(s.run(11).loss)
        loss, acc = s.evaluate("test")
        after = s.weights()
    finally:
        s.close()
    assert np.mean(losses[-2:]) < 0.75 * first, (first, losses)
    assert acc > 0.3, acc                         # after one epoch (chance: 0.1); its 5 epochs reach ~0.97
    for bn in ("stem_bn", "b1_bn1", "b2_bn2"):    # the running statistics moved off their start
        assert not np.allclose(after[f"{bn}.running_mean"], before[f"{bn}.running_mean"])
        assert not np.allclose(after[f"{bn}.running_var"], before[f"{bn}.running_var"])


@pytest.mark.parametrize("name", ["resnet_block", "digits_cnn"])
def test_examples_pass_gradcheck(gpu_device, name):
    from app.gradcheck import check
    results = check(load(EXAMPLES / f"{name}.json"), batch=4, samples=12, device=gpu_device)
    assert results and max(r.error for r in results) < 1e-3, max(results, key=lambda r: r.error)
    nodes = {r.node for r in results}
    assert "b2_bn2" in nodes or "conv2" in nodes


def test_gradcheck_command_on_resnet_block():
    r = subprocess.run([sys.executable, "-m", "app", "gradcheck", str(EXAMPLES / "resnet_block.json")],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1] == "19 nodes ok, 0 failed (tolerance 0.001)"


def test_dropout_graph_trains_and_evaluates_deterministically(gpu_device):
    from app.model.document import Document
    from app.session import Session
    doc = Document()
    doc.training = {"dataset": {"name": "digits"}, "optimizer": {"name": "adam", "lr": 0.005},
                    "batch_size": 64, "epochs": 1, "seed": 0}
    doc.add_node("input", {"shape": [64]}, node_id="input1")
    doc.add_node("dense", {"units": 64}, node_id="dense1")
    doc.add_node("relu", {}, node_id="relu1")
    doc.add_node("dropout", {"rate": 0.3}, node_id="drop1")
    doc.add_node("dense", {"units": 10}, node_id="dense2")
    doc.add_node("target", {"labels": "classes"}, node_id="target1")
    doc.add_node("softmax_cross_entropy", node_id="loss1")
    for a, b in (("input1", "dense1"), ("dense1", "relu1"), ("relu1", "drop1"), ("drop1", "dense2")):
        doc.connect(a, "y", b, "x")
    doc.connect("dense2", "y", "loss1", "pred")
    doc.connect("target1", "y", "loss1", "target")
    s = Session(doc, device=gpu_device)
    try:
        y0 = s.engine.read("drop1.y")
        first = s.run(1).loss
        mask1 = s.engine.read("drop1.y") != 0
        for _ in range(3):
            s.run(22)
        mask2 = s.engine.read("drop1.y") != 0
        assert s.low.training and "counters" in s.low.program.tensors
        assert (mask1 != mask2).mean() > 0.05        # each step draws a new mask
        assert abs(mask2[(s.engine.read("relu1.y") != 0)].mean() - 0.7) < 0.1
        loss, acc = s.evaluate("test")
        assert s.evaluate("test") == (loss, acc)      # evaluation is the identity: no randomness
        assert not s._eval[0].training
        assert acc > 0.85 and loss < first
        del y0
    finally:
        s.close()
