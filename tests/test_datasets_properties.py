"""Property tests: the CSV importer round-trips what csv.writer writes; splits partition the data."""
import csv

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from app.model.datasets import load_dataset, split_indices, validate_spec

finite32 = st.floats(-1e6, 1e6, allow_nan=False, width=32)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n_rows=st.integers(2, 12), n_cols=st.integers(1, 5),
       delimiter=st.sampled_from([",", ";", "\t"]), quote_all=st.booleans())
def test_csv_round_trip(tmp_path_factory, data, n_rows, n_cols, delimiter, quote_all):
    x = np.array(data.draw(st.lists(st.lists(finite32, min_size=n_cols, max_size=n_cols),
                                    min_size=n_rows, max_size=n_rows)), np.float32)
    labels = data.draw(st.lists(st.sampled_from(["cat", "dog", "yak, wild"]), min_size=n_rows, max_size=n_rows))
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=delimiter, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
        w.writerow([f"f{j}" for j in range(n_cols)] + ["label"])
        w.writerows([[repr(float(v)) for v in row] + [lab] for row, lab in zip(x, labels)])
    ds = load_dataset({"path": str(path), "test_ratio": 0, "scale": "none", "delimiter": delimiter})
    np.testing.assert_array_equal(ds.x_train, x)
    assert [ds.class_names[i] for i in ds.y_train] == labels


@given(y=st.lists(st.integers(0, 4), min_size=1, max_size=200), val=st.floats(0, 0.45), test=st.floats(0, 0.45),
       seed=st.integers(0, 2**32), stratify=st.booleans())
def test_split_partitions(y, val, test, seed, stratify):
    y = np.array(y)
    tr, va, te = split_indices(y, stratify, val, test, np.random.default_rng(seed))
    assert sorted(np.concatenate([tr, va, te]).tolist()) == list(range(len(y)))
    assert abs(len(te) - test * len(y)) <= 1
    if stratify:
        for k in np.unique(y):
            share = (y[te] == k).sum()
            assert abs(share - test * (y == k).sum()) < 1.5  # floor or ceil of a rounded quota


scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
json_values = scalars | st.lists(scalars, max_size=3)
keys = st.sampled_from(["name", "path", "format", "label", "delimiter", "header", "missing", "task", "x", "y",
                        "labels", "test_path", "test_labels", "size", "color", "flatten", "samples", "noise",
                        "layout", "scale", "val_ratio", "test_ratio", "seed", "other"])
names = st.sampled_from(["digits", "spiral", "iris", "nope"])
paths = st.sampled_from(["a.csv", "b.npz", "c.npy", "d-idx3-ubyte", "folder/", "e.dat"])


@given(base=st.one_of(st.fixed_dictionaries({"name": names}), st.fixed_dictionaries({"path": paths})),
       extra=st.dictionaries(keys, json_values, max_size=5))
def test_validate_spec_answers_anything_with_messages(base, extra):
    problems = validate_spec({**base, **extra})
    assert isinstance(problems, list)
    assert all(p.startswith("training.dataset") for p in problems)
