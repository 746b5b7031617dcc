"""NPZ / NPY and IDX importers, on small files written here."""
import gzip
import struct

import numpy as np
import pytest

from app.model.datasets import DatasetError, load_dataset


def _load(spec):
    return load_dataset({"test_ratio": 0, "scale": "none", **spec})


def _error(spec) -> str:
    with pytest.raises(DatasetError) as e:
        _load(spec)
    return str(e.value)


# --- NPZ / NPY ------------------------------------------------------------------------------

def test_npz_classification(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, x=np.arange(12, dtype=np.float64).reshape(6, 2), y=np.array([0, 1, 2, 0, 1, 2], np.uint8))
    ds = _load({"path": str(p)})
    assert ds.x_train.dtype == np.float32 and ds.x_train.shape == (6, 2)
    assert ds.task == "classification" and ds.num_classes == 3 and ds.y_train.dtype == np.int64


def test_npz_custom_keys_images_and_regression(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, images=np.zeros((5, 1, 3, 3), np.uint8), targets=np.linspace(0, 1, 5))
    ds = _load({"path": str(p), "x": "images", "y": "targets"})
    assert ds.feature_shape == (1, 3, 3) and ds.task == "regression" and ds.y_train.shape == (5, 1)
    assert len(ds.feature_names) == 9


def test_npz_test_arrays_are_the_test_split(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, x=np.ones((8, 2)), y=np.array([0, 1] * 4), x_test=np.zeros((3, 2)), y_test=np.array([1, 0, 1]))
    ds = load_dataset({"path": str(p), "val_ratio": 0.25})
    assert len(ds.x_test) == 3 and len(ds.x_val) == 2 and len(ds.x_train) == 6
    np.testing.assert_array_equal(ds.y_test, [1, 0, 1])


def test_npz_object_array_refused(tmp_path):
    p = tmp_path / "obj.npz"
    np.savez(p, x=np.array([{"a": 1}, None], dtype=object), y=np.array([0, 1]))
    msg = _error({"path": str(p)})
    assert "obj.npz" in msg and "'x'" in msg and "pickle" in msg


def test_npz_missing_key_named(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, features=np.ones((3, 2)), y=np.arange(3))
    msg = _error({"path": str(p)})
    assert "no array named 'x'" in msg and "features" in msg


def test_npz_lengths_must_match(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, x=np.ones((4, 2)), y=np.arange(3))
    assert "same number of samples" in _error({"path": str(p)})


def test_npz_nan_is_missing(tmp_path):
    p = tmp_path / "d.npz"
    x = np.ones((4, 2))
    x[2, 1] = np.nan
    np.savez(p, x=x, y=np.arange(4) % 2)
    msg = _error({"path": str(p)})
    assert "sample 2" in msg and "'x1'" in msg
    assert len(_load({"path": str(p), "missing": "drop"}).x_train) == 3


def test_npz_not_a_zip(tmp_path):
    p = tmp_path / "broken.npz"
    p.write_bytes(b"PK\x03\x04 not really")
    assert "broken.npz" in _error({"path": str(p)})


def test_a_csv_read_as_npz_says_it_looks_like_text_not_pickle(tmp_path):
    p = tmp_path / "data.csv"
    p.write_text("a,b,label\n1,2,0\n3,4,1\n")
    msg = _error({"path": str(p), "format": "npz"})
    assert "data.csv: not a NumPy .npy or .npz file: it starts like text (a CSV file?" in msg and "pickle" not in msg


def test_npy_features_and_labels_files(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((4, 3), np.float32))
    np.save(tmp_path / "y.npy", np.array([0, 1, 1, 0]))
    ds = _load({"path": str(tmp_path / "x.npy"), "labels": str(tmp_path / "y.npy")})
    assert ds.x_train.shape == (4, 3) and ds.num_classes == 2


def test_npy_label_column(tmp_path):
    np.save(tmp_path / "t.npy", np.array([[0.5, 1.0, 2], [1.5, 2.0, 0], [2.5, 3.0, 1]]))
    ds = _load({"path": str(tmp_path / "t.npy")})
    assert ds.task == "classification" and ds.x_train.shape == (3, 2) and list(ds.y_train) == [2, 0, 1]


def test_npy_object_array_refused(tmp_path):
    np.save(tmp_path / "o.npy", np.array(["a", None], dtype=object), allow_pickle=True)
    assert "pickle" in _error({"path": str(tmp_path / "o.npy")})


# --- IDX -----------------------------------------------------------------------------------

def _idx(data: np.ndarray, magic: int) -> bytes:
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in data.shape) + data.tobytes()


def _mnist_like(tmp_path, n=6, gz=True, prefix="train"):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 4, 5), dtype=np.uint8)
    labels = (np.arange(n) % 3).astype(np.uint8)
    ext = ".gz" if gz else ""
    pi, pl = tmp_path / f"{prefix}-images-idx3-ubyte{ext}", tmp_path / f"{prefix}-labels-idx1-ubyte{ext}"
    pack = gzip.compress if gz else (lambda b: b)
    pi.write_bytes(pack(_idx(images, 0x803)))
    pl.write_bytes(pack(_idx(labels, 0x801)))
    return pi, pl, images, labels


@pytest.mark.parametrize("gz", [True, False])
def test_idx_gzipped_and_raw(tmp_path, gz):
    pi, pl, images, labels = _mnist_like(tmp_path, gz=gz)
    ds = _load({"path": str(pi), "labels": str(pl)})
    assert ds.feature_shape == (1, 4, 5) and ds.num_classes == 3
    np.testing.assert_allclose(ds.x_train[:, 0], images / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(ds.y_train, labels)
    flat = _load({"path": str(pi), "labels": str(pl), "flatten": True})
    assert flat.feature_shape == (20,) and flat.feature_names[5] == "pixel_1_0"


def test_idx_test_files(tmp_path):
    pi, pl, _, _ = _mnist_like(tmp_path, n=9)
    ti, tl, _, test_labels = _mnist_like(tmp_path, n=4, prefix="t10k")
    ds = load_dataset({"path": str(pi), "labels": str(pl), "test_path": str(ti), "test_labels": str(tl)})
    assert len(ds.x_train) == 9 and len(ds.x_test) == 4
    np.testing.assert_array_equal(ds.y_test, test_labels)


def test_idx_wrong_magic(tmp_path):
    pi, pl, _, _ = _mnist_like(tmp_path)
    msg = _error({"path": str(pl), "labels": str(pi), "format": "idx"})
    assert str(pl) in msg and "0x00000801" in msg and "expected 0x00000803" in msg


def test_idx_truncated(tmp_path):
    pi, pl, _, _ = _mnist_like(tmp_path, gz=False)
    pi.write_bytes(pi.read_bytes()[:-7])
    msg = _error({"path": str(pi), "labels": str(pl)})
    assert "truncated" in msg and "6 x 4 x 5" in msg and "need 120" in msg and "found 113" in msg


def test_idx_truncated_gzip(tmp_path):
    pi, pl, _, _ = _mnist_like(tmp_path)
    pi.write_bytes(pi.read_bytes()[:30])
    assert "gzip" in _error({"path": str(pi), "labels": str(pl)})


def test_idx_counts_differ(tmp_path):
    pi, _, _, _ = _mnist_like(tmp_path, n=6)
    _, pl, _, _ = _mnist_like(tmp_path, n=5, prefix="other")
    msg = _error({"path": str(pi), "labels": str(pl)})
    assert "6 images" in msg and "5 labels" in msg
