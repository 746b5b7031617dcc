"""The network document: its operations, its events, refused edits and snapshots."""
from __future__ import annotations

import math

import pytest

from app.model.document import Document, Edge, EditError, Node, default_training
from app.model.layers import get_kind


class Recorder:
    def __init__(self, doc: Document):
        self.events: list[tuple[str, dict]] = []
        self.unsubscribe = doc.subscribe(lambda event, data: self.events.append((event, data)))

    def names(self) -> list[str]:
        return [e for e, _ in self.events]

    def clear(self) -> None:
        self.events.clear()


def mlp() -> Document:
    """input1 -> dense1 -> relu1 -> dense2 -> softmax_cross_entropy1 <- target1"""
    d = Document()
    d.add_node("input", {"shape": [4]}, pos=(0, 0))
    d.add_node("dense", {"units": 8})
    d.add_node("relu")
    d.add_node("dense", {"units": 3})
    d.add_node("target")
    d.add_node("softmax_cross_entropy")
    d.connect("input1", "y", "dense1", "x")
    d.connect("dense1", "y", "relu1", "x")
    d.connect("relu1", "y", "dense2", "x")
    d.connect("dense2", "y", "softmax_cross_entropy1", "pred")
    d.connect("target1", "y", "softmax_cross_entropy1", "target")
    return d


# ---- adding and removing nodes ---------------------------------------------------------

def test_add_node_uses_defaults_and_stable_ids():
    d = Document()
    rec = Recorder(d)
    assert d.add_node("dense") == "dense1"
    assert d.add_node("dense", {"units": 5, "bias": False}, label="head") == "dense2"
    assert d.add_node("softmax_cross_entropy") == "softmax_cross_entropy1"
    assert d.add_node("dense", node_id="my_dense") == "my_dense"
    n = d.node("dense1")
    assert (n.kind, n.kind_version, n.params, n.label) == ("dense", 1, {"units": 16, "bias": True}, "")
    assert d.node("dense2").params == {"units": 5, "bias": False} and d.node("dense2").label == "head"
    assert list(d.nodes) == ["dense1", "dense2", "softmax_cross_entropy1", "my_dense"]   # insertion order
    assert rec.events == [("node_added", {"id": i}) for i in d.nodes]
    d.remove_node("dense1")
    assert d.add_node("dense") == "dense1"          # the lowest free number


def test_add_node_checks_and_copies_params():
    d = Document()
    d.add_node("input", {"shape": (3, 4)})
    assert d.node("input1").params["shape"] == [3, 4]           # tuples become lists, as in the file
    d.add_node("leaky_relu", {"slope": 0})
    assert d.node("leaky_relu1").params["slope"] == 0.0 and isinstance(d.node("leaky_relu1").params["slope"], float)
    # two nodes never share a default list
    d.add_node("input")
    d.add_node("input")
    d.node("input2").params["shape"].append(7)
    assert d.node("input3").params["shape"] == [2]
    assert get_kind("input").param("shape").default == [2]


@pytest.mark.parametrize("kind, params, node_id, reason", [
    ("nope", None, None, "unknown layer kind 'nope'"),
    ("dense", {"units": "abc"}, None, 'units: expected an integer in [1, 65536], got "abc"'),
    ("dense", {"units": 0}, None, "units: expected an integer in [1, 65536], got 0"),
    ("dense", {"units": 2.5}, None, "units: expected an integer"),
    ("dense", {"bias": "yes"}, None, 'bias: expected true or false, got "yes"'),
    ("dense", {"width": 3}, None, "dense has no parameter 'width'"),
    ("leaky_relu", {"slope": float("nan")}, None, "slope: expected a number in [0.0, 1.0], got NaN"),
    ("parameter", {"init": "magic"}, None, "init: expected one of glorot"),
    ("input", {"shape": [0]}, None, "shape: expected a list of"),
    ("dense", None, "1abc", "can't be a node id"),
    ("dense", None, "has space", "can't be a node id"),
    ("dense", None, "x" * 65, "can't be a node id"),
    ("dense", None, "", "can't be a node id"),
])
def test_add_node_refusals(kind, params, node_id, reason):
    d = Document()
    rec = Recorder(d)
    with pytest.raises(EditError) as e:
        d.add_node(kind, params, node_id=node_id)
    assert reason in str(e.value)
    assert not d.nodes and not rec.events


def test_duplicate_ids_are_refused():
    d = Document()
    d.add_node("relu", node_id="r")
    with pytest.raises(EditError, match="a node with id 'r' exists already"):
        d.add_node("tanh", node_id="r")
    with pytest.raises(EditError, match="exists already"):
        d.insert_node(Node("r", "relu", 1, {}))
    assert d.node("r").kind == "relu"


def test_insert_node_keeps_unknown_kinds_but_checks_id_label_and_position():
    d = Document()
    d.insert_node(Node("mystery1", "mystery", 3, {"anything": [1, 2]}))
    assert d.node("mystery1").kind == "mystery"
    for node, pos, reason in [(Node("bad id", "relu", 1, {}), None, "can't be a node id"),
                              (Node("ok", "relu", 1, {}, "x" * 201), None, "at most 200 characters"),
                              (Node("ok", "relu", 1, {}), (math.nan, 0), "must be finite")]:
        with pytest.raises(EditError, match=reason):
            d.insert_node(node, pos)
    assert list(d.nodes) == ["mystery1"]


def test_remove_node_takes_its_edges_and_returns_what_undo_needs():
    d = mlp()
    d.move_node("relu1", (10, 20))
    rec = Recorder(d)
    node, edges, pos = d.remove_node("relu1")
    assert node.id == "relu1" and pos == (10.0, 20.0)
    assert sorted(map(str, edges)) == ["dense1.y -> relu1.x", "relu1.y -> dense2.x"]
    assert rec.names() == ["edge_removed", "edge_removed", "node_removed"]
    assert rec.events[-1] == ("node_removed", {"id": "relu1"})
    assert "relu1" not in d.nodes and "relu1" not in d.positions
    assert all("relu1" not in (e.src, e.dst) for e in d.edges)
    # undo: put them back
    before = mlp()
    before.move_node("relu1", (10, 20))
    d.insert_node(node, pos)
    for e in edges:
        d.connect(e.src, e.src_port, e.dst, e.dst_port)
    assert d == before
    with pytest.raises(EditError, match="no node with id 'relu1x'"):
        d.remove_node("relu1x")


# ---- edges -----------------------------------------------------------------------------

def test_connect_and_queries():
    d = mlp()
    assert len(d.edges) == 5
    assert str(d.edge_into("dense2", "x")) == "relu1.y -> dense2.x"
    assert d.edge_into("dense2", "nope") is None
    d.add_node("tanh")
    rec = Recorder(d)
    edge, old = d.connect("relu1", "y", "tanh1", "x")         # an output may feed many inputs
    assert edge == Edge("relu1", "y", "tanh1", "x") and old is None
    assert rec.events == [("edge_added", {"edge": edge})]
    assert [str(e) for e in d.consumers("relu1")] == ["relu1.y -> dense2.x", "relu1.y -> tanh1.x"]
    assert [str(e) for e in d.consumers("relu1", "y")] == ["relu1.y -> dense2.x", "relu1.y -> tanh1.x"]
    assert d.consumers("relu1", "other") == []
    assert len(d.edges_of("relu1")) == 3
    assert d.reaches("input1", "softmax_cross_entropy1") and not d.reaches("softmax_cross_entropy1", "input1")


def test_connect_replaces_the_edge_into_an_input():
    d = mlp()
    d.add_node("tanh")
    d.connect("dense1", "y", "tanh1", "x")
    rec = Recorder(d)
    edge, old = d.connect("tanh1", "y", "dense2", "x")       # an input takes one edge
    assert str(old) == "relu1.y -> dense2.x" and str(edge) == "tanh1.y -> dense2.x"
    assert rec.events == [("edge_removed", {"edge": old}), ("edge_added", {"edge": edge})]
    assert str(d.edge_into("dense2", "x")) == "tanh1.y -> dense2.x"
    assert sum(1 for e in d.edges if e.dst == "dense2") == 1
    rec.clear()
    assert d.connect("tanh1", "y", "dense2", "x") == (edge, None)   # the same edge again: no change
    assert rec.events == [] and len(d.edges) == 6


def test_disconnect():
    d = mlp()
    rec = Recorder(d)
    e = d.edge_into("relu1", "x")
    d.disconnect(e)
    assert rec.events == [("edge_removed", {"edge": e})]
    assert d.edge_into("relu1", "x") is None
    with pytest.raises(EditError, match=r"no edge dense1\.y -> relu1\.x"):
        d.disconnect(e)


@pytest.mark.parametrize("edge, reason", [
    (("softmax_cross_entropy1", "loss", "input1", "y"), "input1 has no input port 'y'"),
    (("dense2", "y", "dense1", "x"), "connecting dense2 to dense1 would close a cycle"),
    (("relu1", "y", "dense1", "x"), "connecting relu1 to dense1 would close a cycle"),
    (("relu1", "y", "relu1", "x"), "can't connect relu1 to itself"),
    (("relu1", "out", "dense2", "x"), "relu1 has no output port 'out'"),
    (("relu1", "x", "dense2", "x"), "relu1 has no output port 'x'"),
    (("relu1", "y", "dense2", "w"), "dense2 has no input port 'w'"),
    (("ghost", "y", "dense2", "x"), "no node with id 'ghost'"),
    (("relu1", "y", "ghost", "x"), "no node with id 'ghost'"),
])
def test_refused_connections(edge, reason):
    d = mlp()
    before = d.copy()
    rec = Recorder(d)
    with pytest.raises(EditError) as e:
        d.connect(*edge)
    assert str(e.value) == reason
    assert isinstance(e.value, ValueError)
    assert d == before and not rec.events


def test_ports_follow_params():
    d = Document()
    for _ in range(3):
        d.add_node("relu")
    d.add_node("add", {"inputs": 3})
    for src, port in zip(["relu1", "relu2", "relu3"], "abc"):
        d.connect(src, "y", "add1", port)
    with pytest.raises(EditError, match="add1 has no input port 'd'"):
        d.connect("relu1", "y", "add1", "d")
    rec = Recorder(d)
    assert d.set_param("add1", "inputs", 2) == 3
    # the port that went away took its edge with it, and said so before the param event
    assert rec.names() == ["edge_removed", "param_changed"]
    assert str(rec.events[0][1]["edge"]) == "relu3.y -> add1.c"
    assert rec.events[1] == ("param_changed", {"id": "add1", "name": "inputs"})
    assert sorted(e.dst_port for e in d.edges) == ["a", "b"]


# ---- params, labels, layout, training -------------------------------------------------------

def test_set_param():
    d = mlp()
    rec = Recorder(d)
    assert d.set_param("dense1", "units", 32) == 8
    assert d.node("dense1").params["units"] == 32
    assert rec.events == [("param_changed", {"id": "dense1", "name": "units"})]
    rec.clear()
    for name, value, reason in [("units", "abc", 'dense1.units: expected an integer in [1, 65536], got "abc"'),
                                ("units", -4, "dense1.units: expected an integer in [1, 65536], got -4"),
                                ("units", 65537, "dense1.units: expected an integer in [1, 65536], got 65537"),
                                ("units", True, "dense1.units: expected an integer in [1, 65536], got true"),
                                ("bias", None, "dense1.bias: expected true or false, got null"),
                                ("depth", 3, "dense has no parameter 'depth'")]:
        with pytest.raises(EditError) as e:
            d.set_param("dense1", name, value)
        assert str(e.value) == reason
    assert d.node("dense1").params == {"units": 32, "bias": True} and not rec.events
    with pytest.raises(EditError, match="no node with id 'x9'"):
        d.set_param("x9", "units", 3)
    d.insert_node(Node("m1", "mystery", 1, {}))
    with pytest.raises(EditError, match="m1 has unknown kind 'mystery'"):
        d.set_param("m1", "units", 3)


def test_set_label_and_move_node():
    d = mlp()
    rec = Recorder(d)
    assert d.set_label("dense1", "stem") == ""
    assert d.set_label("dense1", "Ω trunk ☃") == "stem"
    assert d.node("dense1").label == "Ω trunk ☃"
    d.move_node("dense1", (1, 2.5))
    assert d.positions["dense1"] == (1.0, 2.5) and all(isinstance(v, float) for v in d.positions["dense1"])
    assert rec.events == [("label_changed", {"id": "dense1"}), ("label_changed", {"id": "dense1"}),
                          ("node_moved", {"id": "dense1"})]
    rec.clear()
    for call, reason in [(lambda: d.set_label("dense1", "x" * 201), "at most 200 characters"),
                         (lambda: d.set_label("dense1", 5), "a label is text"),
                         (lambda: d.move_node("dense1", (math.inf, 0)), "must be finite"),
                         (lambda: d.move_node("dense1", (math.nan, 0)), "must be finite"),
                         (lambda: d.move_node("dense1", ("a", 0)), "two numbers"),
                         (lambda: d.move_node("dense1", (10 ** 400, 0)), "two numbers"),
                         (lambda: d.move_node("nope", (0, 0)), "no node with id 'nope'")]:
        with pytest.raises(EditError, match=reason):
            call()
    assert d.node("dense1").label == "Ω trunk ☃" and d.positions["dense1"] == (1.0, 2.5) and not rec.events


def test_set_training():
    d = Document()
    assert d.training == default_training()
    rec = Recorder(d)
    assert d.set_training("batch_size", 32) == 64
    assert d.set_training("optimizer", {"name": "sgd", "lr": 0.1, "betas": (0.9, 0.99)})["name"] == "adam"
    assert d.training["optimizer"] == {"name": "sgd", "lr": 0.1, "betas": [0.9, 0.99]}   # as it will load
    assert d.set_training("note", "anything") is None
    assert rec.events == [("training_changed", {"key": k}) for k in ("batch_size", "optimizer", "note")]
    value = {"name": "xor"}
    d.set_training("dataset", value)
    value["name"] = "changed"                    # the document keeps its own copy
    assert d.training["dataset"] == {"name": "xor"}
    rec.clear()
    for key, value, reason in [("batch_size", 0, "training.batch_size"),
                               ("batch_size", 64.0, "training.batch_size: expected an integer, got 64.0"),
                               ("batch_size", "64", "training.batch_size: expected an integer"),
                               ("epochs", 10 ** 9, "training.epochs"),
                               ("seed", -1, "training.seed"),
                               ("optimizer", {"name": 3}, "training.optimizer.name: expected a string"),
                               ("dataset", "digits", "training.dataset: expected an object"),
                               ("optimizer", {"name": "adam", "lr": math.nan}, "training.optimizer.lr"),
                               ("optimizer", {"name": "adam", "lr": math.inf}, "must be finite"),
                               ("extra", {1: 2}, "key 1 is not a string"),
                               ("extra", {1, 2}, "can't be saved"),
                               ("extra", object(), "can't be saved"),
                               (3, 1, "not a string")]:
        with pytest.raises(EditError) as e:
            d.set_training(key, value)
        assert reason in str(e.value), (key, value, str(e.value))
    assert d.training["batch_size"] == 32 and "extra" not in d.training and not rec.events


def test_unsubscribe_and_several_listeners():
    d = Document()
    a, b = Recorder(d), Recorder(d)
    d.add_node("relu")
    a.unsubscribe()
    a.unsubscribe()               # twice is harmless
    d.add_node("relu")
    assert a.names() == ["node_added"] and b.names() == ["node_added", "node_added"]


def test_a_listener_may_edit_or_unsubscribe_during_an_event():
    d = Document()
    seen = []

    def once(event, data):
        seen.append(event)
        stop()

    stop = d.subscribe(once)
    d.add_node("relu")
    d.add_node("relu")
    assert seen == ["node_added"]


# ---- snapshots ---------------------------------------------------------------------------

def test_copy_is_an_independent_snapshot():
    d = mlp()
    d.extensions = {"tool": {"k": [1, 2]}}
    d.move_node("dense1", (5, 5))
    rec = Recorder(d)
    snap = d.copy()
    assert snap == d and snap is not d
    # edit the copy every way: the original doesn't change and its listener hears nothing
    snap.set_param("dense1", "units", 99)
    snap.node("input1").params["shape"].append(3)
    snap.set_label("relu1", "changed")
    snap.move_node("dense1", (7, 7))
    snap.disconnect(snap.edge_into("relu1", "x"))
    snap.set_training("batch_size", 1)
    snap.training["optimizer"]["lr"] = 5.0
    snap.extensions["tool"]["k"].append(3)
    snap.remove_node("target1")
    assert d == mlp_with(d) and not rec.events
    assert d.node("dense1").params["units"] == 8 and d.node("input1").params["shape"] == [4]
    assert d.node("relu1").label == "" and d.positions["dense1"] == (5.0, 5.0)
    assert len(d.edges) == 5 and d.training == default_training()
    assert d.extensions == {"tool": {"k": [1, 2]}} and "target1" in d.nodes
    # and the other way round
    snap2 = d.copy()
    d.set_param("dense2", "units", 4)
    d.training["seed"] = 9
    assert snap2.node("dense2").params["units"] == 3 and snap2.training["seed"] == 0


def mlp_with(d: Document) -> Document:
    ref = mlp()
    ref.extensions = {"tool": {"k": [1, 2]}}
    ref.move_node("dense1", (5, 5))
    return ref


def test_replace_with():
    d = Document()
    d.add_node("relu")
    rec = Recorder(d)
    other = mlp()
    d.replace_with(other)
    assert rec.names() == ["reset"]
    assert d == other
    d.set_param("dense1", "units", 2)
    d.disconnect(d.edges[0])
    assert other.node("dense1").params["units"] == 8 and len(other.edges) == 5
    rec.unsubscribe()


def test_equality():
    a, b = mlp(), mlp()
    assert a == b
    b.edges.reverse()                  # edge order carries no meaning
    assert a == b
    b.set_label("dense1", "x")
    assert a != b
    assert (Document() == 3) is False
