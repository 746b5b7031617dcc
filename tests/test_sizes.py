"""Graphs too large for one GPU buffer: refused by node before any weights are drawn, and
evaluation and prediction batches that shrink to fit where the training batch fits. A smaller
adapter is simulated by lowering Session's per-buffer limit; the rest runs as in training."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app import gradcheck
from app.model import lower as lower_module
from app.model.graphfile import load
from app.session import Predictor, Session, TrainingError

EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples"
SMALL_LIMIT = 512 * 1024          # bytes: 131,072 numbers in one buffer


def widened(example: str, **units) -> "Document":
    doc = load(EXAMPLES / example)
    for node_id, n in units.items():
        doc.set_param(node_id, "units", n)
    return doc


@pytest.fixture
def no_weights_drawn(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("weights were drawn before the sizes were checked")
    monkeypatch.setattr(lower_module, "init_weights", refuse)
    monkeypatch.setattr(gradcheck, "init_weights", refuse)


def test_a_weight_larger_than_a_buffer_is_refused_by_name(gpu_device, no_weights_drawn):
    doc = widened("digits_mlp.json", dense1=8192, dense2=8192)     # dense2.w: 8192x8192, 256 MiB
    with pytest.raises(TrainingError) as e:
        Session(doc, EXAMPLES, device=gpu_device)
    assert e.value.node == "dense2"
    text = str(e.value)
    assert "dense2.w" in text and "8192×8192 = 67,108,864 numbers" in text and "256.0 MiB" in text, text
    assert "Make the layer smaller" in text and "flat:" not in text


def test_gradcheck_refuses_it_too(gpu_device, no_weights_drawn):
    doc = widened("digits_mlp.json", dense1=8192, dense2=8192)
    with pytest.raises(ValueError, match=r"dense2\.w: this weight is 8192×8192"):
        gradcheck.check(doc, device=gpu_device)


def test_a_batch_larger_than_a_buffer_names_the_layer_and_the_fix(gpu_device, monkeypatch):
    monkeypatch.setattr(Session, "_max_binding", lambda self: SMALL_LIMIT)
    doc = widened("digits_mlp.json", dense1=4096)                   # 64 rows x 4096 = 1 MiB
    with pytest.raises(TrainingError, match=r"dense1\.y: a batch of this output is 64×4096.*Lower the batch size"):
        Session(doc, EXAMPLES, device=gpu_device)


def test_a_training_set_larger_than_a_buffer_is_named(gpu_device, monkeypatch):
    monkeypatch.setattr(Session, "_max_binding", lambda self: 64 * 1024)
    with pytest.raises(TrainingError, match=r"input1: the training set is .* \(1,438 samples\).*Use fewer samples") as e:
        Session(load(EXAMPLES / "digits_mlp.json"), EXAMPLES, device=gpu_device)
    assert e.value.node == "input1"


def test_evaluation_shrinks_its_batch_to_fit_and_gives_the_same_figures(gpu_device, monkeypatch):
    """dense1 at 2048 units: each weight fits exactly, the flat buffer of all of them would not
    (so the fused rewrite is skipped), and an evaluation batch holds 64 rows instead of 359."""
    doc = widened("digits_mlp.json", dense1=2048)
    roomy = Session(doc, EXAMPLES, {"epochs": 1}, device=gpu_device)
    assert roomy.rows_that_fit(1024) == 1024
    monkeypatch.setattr(Session, "_max_binding", lambda self: SMALL_LIMIT)
    tight = Session(doc, EXAMPLES, {"epochs": 1}, device=gpu_device)
    try:
        assert roomy.low.program.meta.get("fused") and not tight.low.program.meta.get("fused")
        tight.set_weights(roomy.weights())
        loss, accuracy = tight.evaluate("test")
        assert tight._eval[0].batch == 64
        monkeypatch.undo()
        want_loss, want_accuracy = roomy.evaluate("test")
        assert roomy._eval[0].batch == 359
        assert loss == pytest.approx(want_loss, rel=1e-5) and accuracy == want_accuracy
        tight.run(5)                 # and it trains
    finally:
        roomy.close()
        tight.close()


def test_prediction_runs_in_chunks_that_fit(gpu_device, monkeypatch):
    doc = widened("spiral.json", dense1=2048)
    roomy = Session(doc, EXAMPLES, device=gpu_device)
    grid = np.random.default_rng(0).uniform(-6, 6, (3600, 2))
    want = Predictor(roomy, len(grid))(grid)
    monkeypatch.setattr(Session, "_max_binding", lambda self: SMALL_LIMIT)
    small = Predictor(roomy, len(grid))
    try:
        assert small.low.batch == 64
        got = small(grid)
        assert got.shape == want.shape == (3600, 1)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    finally:
        small.close()
        roomy.close()


def test_a_graph_too_large_for_memory_is_refused_before_anything_is_drawn(gpu_device, no_weights_drawn, monkeypatch):
    """Forty 5792-wide layers each fit a buffer, but together would need ~47 GB: the kernel's
    OOM killer ended the process without a word. Here the free memory is made small instead."""
    from app.model import sizes
    monkeypatch.setattr(sizes, "available_memory", lambda: 256 << 10)
    with pytest.raises(TrainingError, match=r"graph: all of it together needs about .* 256\.0 KiB of this computer.s memory is free\. "
                                            r"The largest layers: dense2 \(4,196,352\)"):
        Session(widened("digits_mlp.json", dense1=2048, dense2=2048), EXAMPLES, device=gpu_device)
    with pytest.raises(ValueError, match="all of it together needs about"):
        gradcheck.check(load(EXAMPLES / "digits_mlp.json"), device=gpu_device)
