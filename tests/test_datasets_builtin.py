"""Built-in sets: the Playground generators and the bundled digits, iris and wine."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.model.datasets import BUILTINS, assets_dir, load_dataset
from app.model.datasets import playground

CLASSIFIERS = sorted(playground.CLASSIFIERS)
REGRESSORS = sorted(playground.REGRESSORS)


def _all(ds):
    return np.concatenate([ds.x_train, ds.x_val, ds.x_test]), np.concatenate([ds.y_train, ds.y_val, ds.y_test])


@pytest.mark.parametrize("name", CLASSIFIERS + REGRESSORS)
def test_generator_is_deterministic_for_its_seed(name):
    spec = {"name": name, "samples": 300, "noise": 0.2, "seed": 7}
    a, b = load_dataset(spec), load_dataset(dict(spec))
    for field in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    other = load_dataset({**spec, "seed": 8})
    assert not np.array_equal(_all(a)[0], _all(other)[0])


@pytest.mark.parametrize("name", CLASSIFIERS)
@pytest.mark.parametrize("samples", [200, 201])
def test_classifier_shapes_and_balance(name, samples):
    ds = load_dataset({"name": name, "samples": samples, "noise": 0.3, "test_ratio": 0.3, "seed": 1})
    x, y = _all(ds)
    assert x.shape == (samples, 2) and x.dtype == np.float32
    assert y.dtype == np.int64 and set(np.unique(y)) == {0, 1}
    assert abs(int((y == 1).sum()) - int((y == 0).sum())) <= 1
    assert ds.task == "classification" and ds.num_classes == 2
    assert ds.feature_shape == (2,) and ds.target_shape == ()
    assert len(ds.x_test) == round(0.3 * samples)
    # Stratified: the test split is balanced too.
    assert abs(int((ds.y_test == 1).sum()) - int((ds.y_test == 0).sum())) <= 1


@pytest.mark.parametrize("name", REGRESSORS)
def test_regressor_shapes(name):
    ds = load_dataset({"name": name, "samples": 500, "noise": 0.1, "test_ratio": 0.3, "seed": 1})
    x, y = _all(ds)
    assert x.shape == (500, 2) and y.shape == (500, 1) and y.dtype == np.float32
    assert ds.task == "regression" and ds.num_classes is None and ds.target_shape == (1,)
    assert np.all(np.abs(x) <= 6) and np.all(np.abs(y) <= 1.5) and y.std() > 0.1
    assert ds.x_test.shape == (150, 2)


def test_noise_free_sets_have_their_shape():
    rng = np.random.default_rng(0)
    x, y = playground.circle(400, 0.0, rng)
    r = np.linalg.norm(x, axis=1)
    assert r[y == 1].max() <= 2.5 and r[y == 0].min() >= 3.5
    x, y = playground.xor(400, 0.0, rng)
    assert np.all((x[:, 0] * x[:, 1] > 0) == (y == 1))
    x, y = playground.gauss(400, 0.0, rng)
    assert np.allclose(x[y == 1].mean(axis=0), 2, atol=0.3) and np.allclose(x[y == 0].mean(axis=0), -2, atol=0.3)
    x, y = playground.spiral(400, 0.0, rng)
    assert np.allclose(x[y == 1], -x[y == 0])  # the arms are point reflections of each other
    x, t = playground.plane(400, 0.0, rng)
    assert np.allclose(t[:, 0], (x[:, 0] + x[:, 1]) / 10)


def test_noise_spreads_points():
    tight = load_dataset({"name": "gauss", "noise": 0.0, "seed": 3})
    wide = load_dataset({"name": "gauss", "noise": 0.5, "seed": 3})
    assert _all(wide)[0].std() > _all(tight)[0].std()


def test_digits_bundle():
    ds = load_dataset({"name": "digits"})
    x, y = _all(ds)
    assert x.shape == (1797, 64) and ds.feature_shape == (64,)
    assert ds.num_classes == 10 and ds.class_names == [str(i) for i in range(10)]
    counts = np.bincount(y, minlength=10)
    assert counts.sum() == 1797 and counts.min() >= 170 and counts.max() <= 190
    assert x.min() == 0.0 and x.max() == 1.0
    # Default split: seeded, stratified, test 20%, no validation.
    assert len(ds.x_test) == 359 and len(ds.x_val) == 0
    assert np.all(np.abs(np.bincount(ds.y_test, minlength=10) - 0.2 * counts) <= 1)


def test_digits_known_first_sample_and_mean_zero():
    with np.load(assets_dir() / "digits.npz", allow_pickle=False) as f:
        pixels, labels = f["x"], f["y"]
    assert pixels.dtype == np.uint8 and pixels.shape == (1797, 64) and pixels.max() == 16
    assert list(pixels[0, :8]) == [0, 0, 5, 13, 9, 1, 0, 0] and labels[0] == 0
    zero = pixels[labels == 0].reshape(-1, 8, 8).mean(axis=0)
    assert zero[3:5, 3:5].mean() < 4 < zero[3:5, 1].mean()  # a ring: dark centre, bright sides


def test_digits_image_layout():
    ds = load_dataset({"name": "digits", "layout": "image", "val_ratio": 0.1})
    assert ds.feature_shape == (1, 8, 8) and ds.x_train.shape[1:] == (1, 8, 8)
    assert len(ds.x_val) == 180
    flat = load_dataset({"name": "digits", "val_ratio": 0.1})
    np.testing.assert_array_equal(ds.x_train.reshape(len(ds.x_train), -1), flat.x_train)


def test_iris_and_wine():
    iris = load_dataset({"name": "iris"})
    x, y = _all(iris)
    assert x.shape == (150, 4) and iris.num_classes == 3
    assert iris.class_names == ["setosa", "versicolor", "virginica"]
    assert list(np.bincount(y)) == [50, 50, 50]
    assert abs(iris.x_train.mean()) < 1e-5  # standardised by default
    wine = load_dataset({"name": "wine", "scale": "none"})
    x, y = _all(wine)
    assert x.shape == (178, 13) and wine.num_classes == 3 and list(np.bincount(y)) == [59, 71, 48]
    assert x[:, -1].max() == 1680  # proline, unscaled


@pytest.mark.parametrize("name", list(BUILTINS))
def test_every_builtin_loads_by_name_alone(name):
    info = BUILTINS[name]
    assert info.description and info.task in ("classification", "regression")
    assert {"scale", "val_ratio", "test_ratio", "seed"} <= set(info.defaults)
    ds = load_dataset({"name": name})
    assert ds.task == info.task and ds.source == f"built-in {name}"
    assert len(ds.feature_names) == int(np.prod(ds.feature_shape))
    assert "samples:" in ds.summary()


def test_model_package_imports_no_qt():
    code = ("import sys; sys.modules['PySide6'] = None; sys.modules['wgpu'] = None; "
            "from app.model.datasets import load_dataset; load_dataset({'name': 'digits'})")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
