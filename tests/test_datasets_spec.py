"""Spec checks, defaults, format inference, and paths stored relative to the graph file."""
from pathlib import Path

import pytest

from app.model.datasets import (DatasetError, infer_format, load_dataset, make_spec_relative,
                                resolve_spec_paths, validate_spec, with_defaults)


def test_valid_specs_have_no_problems():
    for spec in [{"name": "digits"}, {"name": "digits", "layout": "image"},
                 {"name": "spiral", "samples": 500, "noise": 0.1, "test_ratio": 0.3, "seed": 1},
                 {"path": "my.csv", "format": "csv", "label": "species", "delimiter": None, "header": True,
                  "missing": "fill_mean"},
                 {"path": "x.npz", "x": "x", "y": "y"},
                 {"path": "train-images-idx3-ubyte.gz", "labels": "train-labels-idx1-ubyte.gz",
                  "test_path": "t10k-images-idx3-ubyte.gz", "test_labels": "t10k-labels-idx1-ubyte.gz"},
                 {"path": "folder/", "format": "images", "size": [28, 28], "color": "rgb", "flatten": False}]:
        assert validate_spec(spec) == [], spec


def test_messages_name_the_key_and_value():
    assert validate_spec({"name": "spiral", "noise": "x"}) == [
        "training.dataset.noise: expected a number in [0, 1], got 'x'"]
    problems = validate_spec({"name": "spiral", "samples": 2.5, "nosie": 0.1, "scale": "log"})
    assert any(p.startswith("training.dataset.samples: expected an integer") for p in problems)
    assert any(p.startswith("training.dataset.nosie: not an option of spiral") for p in problems)
    assert any("training.dataset.scale: expected 'standard'" in p for p in problems)


@pytest.mark.parametrize("spec, fragment", [
    ("digits", "expected an object"),
    ({}, "not neither"),
    ({"name": "digits", "path": "a.csv"}, "not both"),
    ({"name": "mnist"}, "unknown built-in dataset 'mnist'"),
    ({"name": ["digits"]}, "unknown built-in dataset ['digits']"),
    ({"path": "a.csv", "format": ["csv"]}, "training.dataset.format: expected one of"),
    ({"path": 3}, "training.dataset.path: expected a non-empty string, got 3"),
    ({"path": "a.dat"}, "training.dataset.format: cannot tell the format of 'a.dat'"),
    ({"path": "a.csv", "format": "xlsx"}, "training.dataset.format: expected one of"),
    ({"path": "a-idx3-ubyte"}, "training.dataset.labels: required for format idx"),
    ({"path": "a-idx3-ubyte", "labels": "b", "test_path": "c"}, "go together"),
    ({"name": "iris", "val_ratio": 0.5, "test_ratio": 0.5}, "must be below 1"),
    ({"name": "iris", "seed": True}, "training.dataset.seed: expected an integer"),
    ({"path": "a.csv", "delimiter": ",,"}, "training.dataset.delimiter"),
    ({"path": "imgs/", "size": [28]}, "training.dataset.size: expected [height, width]"),
    ({"path": "a.csv", "missing": "ignore"}, "training.dataset.missing"),
])
def test_bad_specs(spec, fragment):
    assert any(fragment in p for p in validate_spec(spec)), validate_spec(spec)


def test_load_dataset_raises_the_problems():
    with pytest.raises(DatasetError, match="training.dataset.noise"):
        load_dataset({"name": "circle", "noise": 2})


@pytest.mark.parametrize("path, fmt", [
    ("a.csv", "csv"), ("b.TSV", "csv"), ("c.txt", "csv"), ("d.csv.gz", "csv"), ("x.npz", "npz"), ("y.npy", "npy"),
    ("train-images-idx3-ubyte.gz", "idx"), ("data/t10k-labels.idx1-ubyte", "idx"), ("folder/", "images"),
    ("photos", "images"), ("a.dat", None),
])
def test_infer_format(path, fmt):
    assert infer_format(path) == fmt


def test_defaults():
    kind, opts = with_defaults({"path": "a.csv"})
    assert kind == "csv" and opts["scale"] == "standard" and opts["label"] == -1 and opts["missing"] == "error"
    assert opts["test_ratio"] == 0.2 and opts["val_ratio"] == 0.0 and opts["seed"] == 0
    assert with_defaults({"name": "digits"})[1]["scale"] == "none"
    assert with_defaults({"path": "imgs/"})[1]["size"] == [28, 28]


def test_relative_path_resolves_from_another_working_directory(tmp_path, monkeypatch):
    data, graphs, elsewhere = tmp_path / "data", tmp_path / "graphs", tmp_path / "elsewhere"
    for d in (data, graphs, elsewhere):
        d.mkdir()
    (data / "my.csv").write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n")
    stored = make_spec_relative({"path": str(data / "my.csv"), "label": "label"}, graphs)
    assert stored["path"] == "../data/my.csv"
    monkeypatch.chdir(elsewhere)
    ds = load_dataset(stored, base_dir=graphs)
    assert ds.class_names == ["x", "y"] and Path(ds.source).resolve() == (data / "my.csv").resolve()
    assert resolve_spec_paths(stored, graphs)["path"] == str(graphs / "../data/my.csv")


def test_make_spec_relative_leaves_relative_paths_and_other_keys():
    spec = {"path": "already/rel.csv", "name_of_thing": 1}
    assert make_spec_relative(spec, "/somewhere") == spec
    out = make_spec_relative({"path": "/g/x-images-idx3-ubyte", "labels": "/g/sub/l-idx1-ubyte"}, "/g")
    assert out == {"path": "x-images-idx3-ubyte", "labels": "sub/l-idx1-ubyte"}
