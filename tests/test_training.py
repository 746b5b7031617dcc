"""Training through app.session.Session on the bundled examples: the issue's acceptance
figures (digits_mlp >= 0.96 and spiral >= 0.95 test accuracy in their configured epochs),
determinism by seed, and the stop on non-finite numbers with the last finite weights kept."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.model.graphfile import load
from app.model.weights import load_weights, save_weights
from app.session import Session, TrainingError

EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples"
STATS_EVERY = 25


def session(example, device, **overrides) -> Session:
    return Session(load(EXAMPLES / example), EXAMPLES, overrides, device=device)


def train(s: Session) -> list[float]:
    """The configured epochs, reading stats every STATS_EVERY steps as `wiregrad train` does."""
    losses = []
    while s.step < s.epochs * s.steps_per_epoch:
        losses.append(s.run(STATS_EVERY).loss)
    return losses


def first_losses(s: Session, steps=20) -> list[float]:
    return [s.run(1).loss for _ in range(steps)]


@pytest.mark.parametrize("name,target", [("digits_mlp.json", 0.96), ("spiral.json", 0.95)])
def test_example_reaches_its_accuracy(gpu_device, name, target):
    s = session(name, gpu_device)
    try:
        losses = train(s)
        assert s.step == s.epochs * s.steps_per_epoch
        loss, accuracy = s.evaluate("test")
    finally:
        s.close()
    assert np.all(np.isfinite(losses))
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    assert accuracy >= target, f"{name}: test accuracy {accuracy:.4f} after {s.epochs} epochs (loss {loss:.4f})"


@pytest.mark.parametrize("name", ["digits_mlp.json", "spiral.json"])
def test_same_seed_same_losses(gpu_device, name):
    runs = []
    for _ in range(2):
        s = session(name, gpu_device, epochs=2)
        try:
            start = s.weights()
            losses = first_losses(s)
            runs.append((start, losses, s.weights()))
        finally:
            s.close()
    (w0, l0, end0), (w1, l1, end1) = runs
    assert l0 == l1, "the same seed gave different losses"
    for t in w0:
        np.testing.assert_array_equal(w0[t], w1[t])
        np.testing.assert_array_equal(end0[t], end1[t])
    assert len(set(l0)) > 1, "the loss did not move in 20 steps"


def test_different_seed_different_start(gpu_device):
    a, b = session("digits_mlp.json", gpu_device, seed=1), session("digits_mlp.json", gpu_device, seed=2)
    try:
        wa, wb = a.weights(), b.weights()
        assert wa.keys() == wb.keys()
        assert any(not np.array_equal(wa[t], wb[t]) for t in wa)
        assert not np.array_equal(wa["dense1.w"], wb["dense1.w"])
        assert first_losses(a, 5) != first_losses(b, 5)
    finally:
        a.close()
        b.close()


def test_huge_learning_rate_stops_with_step_and_node(gpu_device, tmp_path):
    # SGD: with the example's Adam a step is bounded by lr, the ReLUs die and the numbers stay
    # finite (loss ~1e5-1e7), so there would be nothing non-finite to stop on
    s = session("digits_mlp.json", gpu_device, lr=1e6, name="sgd")
    try:
        with pytest.raises(TrainingError) as e:
            while s.step < s.epochs * s.steps_per_epoch:
                s.run(STATS_EVERY)
        err = e.value
        assert s.step > 0 and f"step {s.step}" in str(err), str(err)
        assert err.node in s.doc.nodes, f"no node named: {err.node!r}"
        assert err.node in str(err)
        kept = s.last_finite
        assert kept.keys() == s.low.params.keys()
        assert all(np.all(np.isfinite(w)) for w in kept.values())
        # the engine holds the kept weights again, so evaluation and saving work on them
        for t, w in s.weights().items():
            np.testing.assert_array_equal(w, kept[t])
        loss, accuracy = s.evaluate("test")
        assert np.isfinite(loss)
        path = tmp_path / "last.safetensors"
        save_weights(path, kept)
        back = load_weights(path, {t: shape for t, (_, _, shape) in s.low.params.items()})
        for t in kept:
            np.testing.assert_array_equal(back[t], kept[t].astype(np.float32))
    finally:
        s.close()


@pytest.mark.parametrize("queued", [False, True])
def test_nan_weights_never_become_last_finite(gpu_device, queued):
    """A NaN written into a weight stops the next stats read, naming the first node it
    reaches, from the failing step's own stats: also when another chunk was queued after it
    (Session.submit, as the editor does) and has spread the NaN further since. last_finite
    stays as it was and the engine gets it back."""
    s = session("spiral.json", gpu_device, epochs=1)
    try:
        s.run(5)
        before = s.last_finite
        w = before["dense2.w"].copy()
        w[0, 0] = np.nan
        s.engine.write("dense2.w", w)
        with pytest.raises(TrainingError) as e:
            if queued:
                bad, later = s.submit(1), s.submit(3)
                bad.result()
            else:
                s.run(1)
        assert e.value.node == "dense2", str(e.value)
        assert "step 6" in str(e.value) and s.step == 6      # a queued chunk's steps don't count
        np.testing.assert_array_equal(s.engine.read("counters"), [0, 6 % s.steps_per_epoch])
        for t in before:
            np.testing.assert_array_equal(s.last_finite[t], before[t])
            np.testing.assert_array_equal(s.weights()[t], before[t])
    finally:
        s.close()


@pytest.mark.parametrize("optimizer", ["momentum", "adamw"])
def test_training_goes_on_after_a_stop_with_a_smaller_learning_rate(gpu_device, optimizer):
    """The stop's advice is to lower the learning rate: the optimizer's state (momentum,
    Adam's moments), non-finite after the bad step, must not poison the kept weights."""
    s = session("digits_mlp.json", gpu_device, lr=1e6, name=optimizer)
    try:
        with pytest.raises(TrainingError):
            while s.step < s.epochs * s.steps_per_epoch:
                s.run(STATS_EVERY)
        kept = s.last_finite
        s.set_optimizer({"name": optimizer, "lr": 1e-3})
        losses = [s.run(STATS_EVERY).loss for _ in range(4)]
        assert np.all(np.isfinite(losses))
        assert any(not np.array_equal(s.weights()[t], kept[t]) for t in kept), "nothing was trained"
        assert losses[-1] < losses[0]
    finally:
        s.close()


def test_queued_chunks_report_what_one_at_a_time_reports(gpu_device):
    """Session.submit queues a chunk without waiting (the editor queues the next chunk before
    collecting one): each chunk's figures, and a weights snapshot it carried, are those at its
    own end, the same as running the chunks one at a time."""
    a, b = session("digits_mlp.json", gpu_device), session("digits_mlp.json", gpu_device)
    try:
        sizes = [3, 5, 40, 2]                 # 40 stops at the epoch's end, as run() does
        a._snapshot_at = b._snapshot_at = float("-inf")      # the first chunk carries the weights
        queued = [a.submit(n) for n in sizes]
        assert queued[0].snapshot and not queued[1].snapshot
        first = b.run(sizes[0])
        kept = b.weights()
        rest = [b.run(n) for n in sizes[1:]]
        got = [q.result() for q in queued]
        for mine, theirs in zip(got, [first, *rest]):
            assert mine.step == theirs.step and mine.epoch == theirs.epoch
            assert mine.loss == pytest.approx(theirs.loss, rel=1e-5, abs=1e-7)
            assert mine.param_norms.keys() == theirs.param_norms.keys()
            for t in mine.param_norms:
                assert mine.param_norms[t] == pytest.approx(theirs.param_norms[t], rel=1e-4, abs=1e-9)
        assert got[2].step == a.steps_per_epoch              # clipped at the epoch's end
        for t in kept:                                        # the snapshot is from step 3, not later
            np.testing.assert_allclose(a.last_finite[t], kept[t], rtol=1e-5, atol=1e-7)
    finally:
        a.close()
        b.close()
