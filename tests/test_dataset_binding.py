"""Binding a dataset to the graph (app/model/binding.py): each mismatch named; a graph saved
with an imported CSV (its path relative to the graph file) reopens and trains from another
working directory; the iris example trains from its bundled CSV to test accuracy >= 0.9."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from app.model import graphfile
from app.model.binding import check_binding
from app.model.datasets import DatasetError, load_dataset, make_spec_relative
from app.model.document import Document, Node
from app.model.layers import get_kind
from app.model.shapes import analyse
from app.paths import assets_dir, example


def graph(features=(4,), units=3, loss="softmax_cross_entropy", labels="classes", target_shape=(1,),
          hidden=8) -> Document:
    """Input -> Dense(hidden) -> ReLU -> Dense(units) -> loss <- Target."""
    doc = Document()

    def add(kind, **params):
        spec = get_kind(kind)
        values = {**spec.defaults(), **params}
        node = Node(doc.new_id(kind), kind, spec.version, values)
        doc.insert_node(node, (0, 0))
        return node.id

    x = add("input", shape=list(features))
    d1 = add("dense", units=hidden)
    r = add("relu")
    d2 = add("dense", units=units)
    t = add("target", labels=labels, shape=list(target_shape))
    l_ = add(loss)
    doc.connect(x, "y", d1, "x")
    doc.connect(d1, "y", r, "x")
    doc.connect(r, "y", d2, "x")
    doc.connect(d2, "y", l_, "pred")
    doc.connect(t, "y", l_, "target")
    return doc


def problems(doc, dataset) -> list[str]:
    a = analyse(doc)
    assert not a.problems, a.problems
    return [str(p) for p in check_binding(doc, a, dataset)]


@pytest.fixture(scope="module")
def iris():
    return load_dataset({"name": "iris"})


@pytest.fixture(scope="module")
def plane():
    return load_dataset({"name": "plane"})


def test_a_fitting_graph_has_no_binding_problem(iris, plane):
    assert problems(graph(), iris) == []
    assert problems(graph((2,), 1, "mse", "values"), plane) == []
    assert problems(graph((2,), 1, "binary_cross_entropy"), load_dataset({"name": "xor"})) == []


def test_input_shape_mismatch_names_both_shapes(iris):
    assert problems(graph(features=(64,)), iris) == [
        "input1.y: the Input has shape (?, 64) but the dataset (built-in iris) has features (?, 4)"]
    digits = load_dataset({"name": "digits", "layout": "image"})
    (p,) = problems(graph(features=(64,), units=10), digits)
    assert "the Input has shape (?, 64) but the dataset (built-in digits) has features (?, 1, 8, 8)" in p


def test_class_labels_with_mse(iris):
    found = problems(graph(units=3, loss="mse", labels="values", target_shape=(3,)), iris)
    assert "target1.y: the dataset has class labels (3 classes); set this Target's labels to classes" in found
    assert any(p.startswith("mse1.target: MSE needs real-valued targets, but the dataset has class labels")
               for p in found), found


def test_values_with_softmax_cross_entropy(plane):
    found = problems(graph(features=(2,), units=2), plane)
    assert any("real-valued targets (?, 1); set this Target's labels to values with shape [1]" in p
               for p in found), found
    assert "softmax_cross_entropy1.target: the dataset's targets are real values: use MSE, not " \
           "softmax_cross_entropy" in found
    # values with the wrong width
    found = problems(graph(features=(2,), units=3, loss="mse", labels="values", target_shape=(3,)), plane)
    assert found == ["target1.y: the dataset has real-valued targets (?, 1); set this Target's labels to "
                     "values with shape [1]"]


def test_binary_cross_entropy_with_three_classes(iris):
    found = problems(graph(units=1, loss="binary_cross_entropy"), iris)
    assert found == ["binary_cross_entropy1.target: BinaryCrossEntropy takes 2 classes; the dataset has 3: "
                     "use SoftmaxCrossEntropy"]


def test_logits_narrower_than_the_classes(iris):
    assert problems(graph(units=2), iris) == [
        "softmax_cross_entropy1.pred: the logits have 2 columns but the dataset has 3 classes"]
    assert problems(graph(units=5), iris) == []          # wider is allowed: unused classes


def test_a_label_column_with_one_class_is_refused(tmp_path):
    csv = tmp_path / "one.csv"
    csv.write_text("a,b,c,d,kind\n" + "".join(f"{i},{i % 3},{i % 5},{i % 7},cat\n" for i in range(20)))
    one = load_dataset({"path": str(csv), "test_ratio": 0})
    assert one.num_classes == 1
    assert problems(graph(), one) == [
        "target1.y: the dataset's labels hold one class only ('cat'); a classifier needs at least two: "
        "is the label column the right one?"]


def test_no_input_node(iris):
    doc = graph()
    doc.remove_node("input1")
    a = analyse(doc)
    assert "graph: the graph has no Input node to take the dataset's features" in \
        [str(p) for p in check_binding(doc, a, iris)]


# ---- a graph file with an imported CSV, reopened from elsewhere ----------------------------------------

def _points_csv(path: Path, n: int = 120) -> None:
    """Two blobs with string labels, written as a person's CSV would be."""
    rng = np.random.default_rng(3)
    lines = ["x,y,colour"]
    for i in range(n):
        k = i % 2
        cx = (-2.0, 2.0)[k]
        lines.append(f"{cx + rng.normal(0, 0.5):.3f},{rng.normal(0, 0.5):.3f},{('red', 'blue')[k]}")
    path.write_text("\n".join(lines) + "\n")


def _saved_graph(tmp_path: Path) -> Path:
    data, graphs = tmp_path / "data", tmp_path / "graphs"
    data.mkdir()
    graphs.mkdir()
    _points_csv(data / "points.csv")
    doc = graph(features=(2,), units=2)
    doc.training.update({"dataset": make_spec_relative({"path": str(data / "points.csv"), "label": "colour"},
                                                       graphs),
                         "batch_size": 16, "epochs": 5})
    path = graphs / "blobs.json"
    graphfile.save(doc, path)
    return path


def test_a_saved_graph_keeps_the_csv_path_relative_and_reopens_from_another_directory(tmp_path, monkeypatch):
    path = _saved_graph(tmp_path)
    elsewhere = tmp_path / "elsewhere" / "deeper"     # where ../data/points.csv is nothing
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    doc = graphfile.load(path)
    spec = doc.training["dataset"]
    assert spec == {"path": "../data/points.csv", "label": "colour"}
    ds = load_dataset(spec, path.parent)
    assert ds.class_names == ["blue", "red"] and ds.feature_shape == (2,) and len(ds.x_train) == 96
    assert problems(doc, ds) == []
    with pytest.raises(DatasetError, match="file not found"):      # it is the graph's folder that counts
        load_dataset(spec, Path.cwd())


def test_the_reopened_graph_trains_from_another_directory(tmp_path, monkeypatch, gpu_device):
    from app.session import Session
    path = _saved_graph(tmp_path)
    monkeypatch.chdir(tmp_path / "data")
    s = Session(graphfile.load(path), path.parent, device=gpu_device)
    try:
        losses = [s.run(6).loss for _ in range(5)]
        assert s.step == 30 and np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    finally:
        s.close()


# ---- the iris example ---------------------------------------------------------------------------

def test_the_iris_example_reads_its_bundled_csv_from_a_checkout_and_an_installed_layout(tmp_path):
    doc = graphfile.load(example("iris"))
    spec = doc.training["dataset"]
    assert spec["path"] == "../datasets/iris.csv" and spec["format"] == "csv"
    ds = load_dataset(spec, example("iris").parent)
    assert ds.feature_shape == (4,) and ds.class_names == ["setosa", "versicolor", "virginica"]
    assert problems(doc, ds) == []
    # installed, assets/ travels as app/assets/ (pyproject's package-dir): examples and datasets stay siblings
    installed = tmp_path / "site-packages" / "app" / "assets"
    for sub in ("examples", "datasets"):
        (installed / sub).mkdir(parents=True)
    shutil.copy(example("iris"), installed / "examples" / "iris.json")
    shutil.copy(assets_dir() / "datasets" / "iris.csv", installed / "datasets" / "iris.csv")
    moved = installed / "examples" / "iris.json"
    again = load_dataset(graphfile.load(moved).training["dataset"], moved.parent)
    np.testing.assert_array_equal(again.x_train, ds.x_train)


def test_the_iris_example_trains_headless_to_test_accuracy_0_9(gpu_device, tmp_path, monkeypatch):
    from app.session import Session
    monkeypatch.chdir(tmp_path)                    # not the checkout: the path is the graph file's
    s = Session(graphfile.load(example("iris")), example("iris").parent, device=gpu_device)
    try:
        while s.step < s.epochs * s.steps_per_epoch:
            s.run(25)
        loss, accuracy = s.evaluate("test")
    finally:
        s.close()
    assert accuracy >= 0.9, f"iris: test accuracy {accuracy:.3f} (loss {loss:.3f})"
