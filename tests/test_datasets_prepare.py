"""Preparation: seeded splits, scaling fitted on the training split only, missing-value filling."""
import numpy as np
import pytest

from app.model.datasets import load_dataset, one_hot, split_indices
from app.model.datasets.core import Imported
from app.model.datasets.prepare import prepare


def _imported(x, y, test=None, task="classification"):
    x = np.asarray(x, np.float32)
    return Imported(x=x, y=np.asarray(y), task=task, num_classes=int(np.max(y)) + 1 if task == "classification" else None,
                    feature_names=[f"f{i}" for i in range(x.shape[1])], class_names=None, source="test", test=test)


def test_split_is_a_seeded_stratified_partition():
    y = np.array([0] * 50 + [1] * 30 + [2] * 20)
    tr, va, te = split_indices(y, True, 0.1, 0.2, np.random.default_rng(5))
    assert len(te) == 20 and len(va) == 10 and len(tr) == 70
    assert sorted(np.concatenate([tr, va, te])) == list(range(100))
    assert list(np.bincount(y[te])) == [10, 6, 4] and list(np.bincount(y[va])) == [5, 3, 2]
    again = split_indices(y, True, 0.1, 0.2, np.random.default_rng(5))
    assert all(np.array_equal(a, b) for a, b in zip((tr, va, te), again))


def test_standard_scaling_uses_train_statistics_only():
    rng = np.random.default_rng(0)
    train = rng.normal(5.0, 2.0, (200, 3))
    test = rng.normal(1000.0, 50.0, (40, 3))  # wildly different: must not leak into the fit
    ds = prepare(_imported(train, np.arange(200) % 2, test=(test.astype(np.float32), np.arange(40) % 2)),
                 test_ratio=0, scale="standard")
    np.testing.assert_allclose(ds.scaling["offset"], train.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(ds.scaling["scale"], train.std(axis=0), rtol=1e-5)
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(ds.x_train.std(axis=0), 1, atol=1e-4)
    np.testing.assert_allclose(ds.x_test, (test - train.mean(0)) / train.std(0), rtol=1e-4)


def test_minmax_scaling_uses_train_range_and_constant_columns_stay_finite():
    x = np.array([[0, 7, 1], [10, 7, 2], [5, 7, 3], [20, 7, 4]], np.float32)
    ds = load_dataset({"name": "iris", "scale": "minmax", "test_ratio": 0.4})
    np.testing.assert_allclose(ds.x_train.min(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(ds.x_train.max(axis=0), 1, atol=1e-6)
    raw = load_dataset({"name": "iris", "scale": "none", "test_ratio": 0.4})
    lo, span = raw.x_train.min(axis=0), np.ptp(raw.x_train, axis=0)
    np.testing.assert_allclose(ds.x_test, (raw.x_test - lo) / span, rtol=1e-5, atol=1e-6)
    ds = prepare(_imported(x, [0, 1, 0, 1]), test_ratio=0.5, scale="minmax", seed=3)
    assert np.all(np.isfinite(ds.x_train)) and np.all(ds.x_train[:, 1] == 0)
    ds = prepare(_imported(x, [0, 1, 0, 1]), test_ratio=0.5, scale="standard", seed=3)
    assert np.all(np.isfinite(ds.x_test)) and np.all(ds.x_test[:, 1] == 0)


def test_fill_mean_uses_train_means():
    train = np.array([[1, 2], [3, np.nan], [5, 6]], np.float32)
    test = np.array([[np.nan, 100], [7, np.nan]], np.float32)
    ds = prepare(_imported(train, [0, 1, 0], test=(test, np.array([1, 0]))), test_ratio=0, missing="fill_mean")
    np.testing.assert_allclose(ds.x_train, [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_allclose(ds.x_test, [[3, 100], [7, 4]])


def test_same_spec_same_arrays_and_seed_changes_split():
    spec = {"name": "iris", "val_ratio": 0.2, "test_ratio": 0.2, "seed": 11}
    a, b = load_dataset(spec), load_dataset(spec)
    for f in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    c = load_dataset({**spec, "seed": 12})
    assert not np.array_equal(a.y_test, c.y_test) or not np.array_equal(a.x_test, c.x_test)


def test_regression_split_is_random_not_stratified():
    ds = load_dataset({"name": "plane", "samples": 100, "val_ratio": 0.1, "test_ratio": 0.3})
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (60, 10, 30)


def test_one_hot():
    np.testing.assert_array_equal(one_hot(np.array([2, 0, 1]), 3), [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert one_hot(np.array([1]), 2).dtype == np.float32
    with pytest.raises(ValueError):
        one_hot(np.array([3]), 3)


def test_summary_lists_shapes_classes_ranges():
    text = load_dataset({"name": "iris", "scale": "none"}).summary()
    assert "classification, 3 classes" in text and "setosa" in text and "50" in text
    assert "petal_width_cm   0.1 .. 2.5" in text and "missing feature values: none" in text
    assert "train 120, val 0, test 30" in text
