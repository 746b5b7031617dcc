"""Validation and shape inference (app.model.shapes.analyse): every kind of problem, on a small
graph made to trigger it, with its message; several at once; and never an exception."""
from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from app.model import graphfile
from app.model.document import Document, Edge, Node
from app.model.layers import all_kinds
from app.model.shapes import Problem, analyse, describe, topological_order
from app.paths import examples_dir

EXAMPLES = sorted(examples_dir().glob("*.json"))


def classifier(features=4, classes=3) -> Document:
    d = Document()
    d.add_node("input", {"shape": [features]})
    d.add_node("dense", {"units": classes})
    d.add_node("target")
    d.add_node("softmax_cross_entropy")
    d.connect("input1", "y", "dense1", "x")
    d.connect("dense1", "y", "softmax_cross_entropy1", "pred")
    d.connect("target1", "y", "softmax_cross_entropy1", "target")
    return d


def messages(doc: Document) -> list[str]:
    return [str(p) for p in analyse(doc).problems]


def test_a_valid_graph():
    a = analyse(classifier())
    assert a.ok and a.problems == []
    assert a.order == ["input1", "target1", "dense1", "softmax_cross_entropy1"]    # Kahn, in document order
    assert a.shapes == {("input1", "y"): (None, 4), ("dense1", "y"): (None, 3), ("target1", "y"): (None,),
                        ("softmax_cross_entropy1", "loss"): (None,)}
    assert a.in_shapes["softmax_cross_entropy1"] == {"pred": (None, 3), "target": (None,)}
    assert [(w.name, w.shape) for w in a.weights["dense1"]] == [("w", (4, 3)), ("b", (3,))]
    assert a.param_count == 15 and a.node_param_count("dense1") == 15 and a.node_param_count("input1") == 0


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_validate(path):
    doc = graphfile.load(path)
    a = analyse(doc)
    assert a.ok, [str(p) for p in a.problems]
    assert len(a.order) == len(doc.nodes)
    text = describe(doc, a)
    assert f"total parameters: {a.param_count:,d}" in text
    for (node, port), shape in a.shapes.items():
        assert f"{node}.{port}" in text


def test_example_parameter_counts():
    counts = {p.stem: analyse(graphfile.load(p)).param_count for p in EXAMPLES}
    assert counts["digits_mlp"] == (64 * 128 + 128) + (128 * 64 + 64) + (64 * 10 + 10)
    assert counts["spiral"] == (2 * 16 + 16) + (16 * 16 + 16) + (16 + 1)
    # the tied weight counts once, however many MatMuls it feeds
    assert counts["weight_reuse"] == (64 * 32 + 32) + 32 * 32 + (32 * 10 + 10)


def test_the_batch_dimension_stays_symbolic():
    a = analyse(graphfile.load(examples_dir() / "weight_reuse.json"))
    assert a.shapes[("parameter1", "y")] == (32, 32)                 # a weight has no batch axis
    assert a.shapes[("matmul1", "y")] == (None, 32)
    assert all(s[0] is None for (n, _), s in a.shapes.items() if n != "parameter1")


# ---- each problem ---------------------------------------------------------------------

def test_cycle_names_the_nodes_in_it():
    d = classifier()
    d.add_node("relu")
    d.add_node("dense", {"units": 4})
    d.disconnect(d.edge_into("dense1", "x"))
    d.connect("dense1", "y", "relu1", "x")
    d.connect("relu1", "y", "dense2", "x")
    d.edges.append(Edge("dense2", "y", "dense1", "x"))       # the editor refuses this; a file may hold it
    a = analyse(d)
    cyc = [p for p in a.problems if "cycle" in p.message]
    assert sorted(p.node for p in cyc) == ["dense1", "dense2", "relu1"]
    assert all(p.port is None for p in cyc)
    assert str(cyc[0]) == "dense1: is part of a cycle: dense1 -> relu1 -> dense2 -> dense1"
    # the message walks the cycle along its edges, from any rotation
    chain = cyc[0].message.split(": ", 1)[1].split(" -> ")
    edges = {(e.src, e.dst) for e in d.edges}
    assert chain[0] == chain[-1] and all((u, v) in edges for u, v in zip(chain, chain[1:]))
    # nodes downstream of the cycle are not blamed for it; the rest is still analysed
    assert {p.node for p in a.problems} == {"dense1", "relu1", "dense2"}
    assert ("target1", "y") in a.shapes
    # each node carries it (for its badge); a listing says it once
    from app.model.shapes import problem_lines
    assert problem_lines(a.problems) == ["dense1, relu1, dense2: are part of a cycle: dense1 -> relu1 -> dense2 -> dense1"]
    assert "dense1" not in a.order


def test_two_cycles_and_a_self_loop():
    d = Document()
    for _ in range(3):
        d.add_node("relu")
    d.edges += [Edge("relu1", "y", "relu1", "x"), Edge("relu2", "y", "relu3", "x"), Edge("relu3", "y", "relu2", "x")]
    msgs = messages(d)
    assert "relu1: is part of a cycle: relu1 -> relu1" in msgs
    assert "relu2: is part of a cycle: relu2 -> relu3 -> relu2" in msgs
    assert "relu3: is part of a cycle: relu2 -> relu3 -> relu2" in msgs
    order, cycles = topological_order(d)
    assert order == [] and sorted(map(sorted, cycles)) == [["relu1"], ["relu2", "relu3"]]


def test_unconnected_required_input():
    d = classifier()
    d.disconnect(d.edge_into("dense1", "x"))
    a = analyse(d)
    assert [str(p) for p in a.problems] == ["dense1.x: input is not connected"]
    assert a.problems[0] == Problem("dense1", "x", "input is not connected")
    # what depends on dense1 isn't blamed as well
    assert a.problems_of("softmax_cross_entropy1") == []


def test_unknown_kind():
    d = classifier()
    d.insert_node(Node("mystery1", "mystery", 1, {}))
    assert messages(d) == ["mystery1: unknown layer kind 'mystery'"]


def test_param_outside_its_bounds():
    # the editor refuses these; a file may hold an out-of-bounds value of the right type
    text = graphfile.dumps(classifier())
    data = json.loads(text)
    data["nodes"][1]["params"]["units"] = 0
    d = graphfile.loads(json.dumps(data))
    assert messages(d) == ["dense1: param units: expected an integer in [1, 65536], got 0"]
    d.nodes["dense1"].params["units"] = 10 ** 30
    assert messages(d) == [f"dense1: param units: expected an integer in [1, 65536], got {10 ** 30}"]
    d.nodes["dense1"].params["units"] = 3
    d.insert_node(Node("leaky1", "leaky_relu", 1, {"slope": 2.5}))
    assert messages(d) == ["leaky1: param slope: expected a number in [0.0, 1.0], got 2.5"]
    d.insert_node(Node("add1", "add", 1, {"inputs": 100}))
    assert "add1: param inputs: expected an integer in [2, 8], got 100" in messages(d)
    d.insert_node(Node("dense9", "dense", 1, {"units": 3}))            # a param missing altogether
    assert "dense9: param bias: expected true or false, got null" in messages(d)


def test_shape_that_does_not_fit_names_both_shapes():
    d = Document()
    d.add_node("input", {"shape": [16]})
    d.add_node("dense", {"units": 64})
    d.add_node("dense", {"units": 32})
    d.add_node("add")
    for dense in ("dense1", "dense2"):
        d.connect("input1", "y", dense, "x")
    d.connect("dense1", "y", "add1", "a")
    d.connect("dense2", "y", "add1", "b")
    d.add_node("mse")
    d.add_node("target", {"labels": "values", "shape": [64]})
    d.connect("add1", "y", "mse1", "pred")
    d.connect("target1", "y", "mse1", "target")
    a = analyse(d)
    assert [str(p) for p in a.problems] == ["add1.b: got (?, 32), expected (?, 64) to match add1.a"]
    assert a.problems[0].node == "add1" and a.problems[0].port == "b"
    assert ("add1", "y") not in a.shapes and ("dense2", "y") in a.shapes


@pytest.mark.parametrize("setup, expected", [
    (lambda d: d.set_param("input1", "shape", [2, 2]),
     "dense1.x: expected (?, features), got (?, 2, 2); add a Flatten before Dense"),
    (lambda d: d.set_param("target1", "labels", "values"),
     "softmax_cross_entropy1.target: expected class labels (?,), got (?, 1); set the Target's labels to classes"),
])
def test_more_shape_messages(setup, expected):
    d = classifier()
    setup(d)
    assert expected in messages(d)


def test_no_loss_node():
    d = classifier()
    d.remove_node("softmax_cross_entropy1")
    a = analyse(d)
    assert [str(p) for p in a.problems] == [
        "graph: the graph has no loss node: add one (e.g. SoftmaxCrossEntropy) to train"]
    assert a.problems[0].node is None and a.problems[0].port is None
    assert analyse(Document()).problems[0].message.startswith("the graph has no loss node")


def test_a_loss_inside_a_cycle_still_counts_as_a_loss():
    d = classifier()
    d.edges.append(Edge("softmax_cross_entropy1", "loss", "input1", "nothing"))   # nonsense, but no crash
    d2 = classifier()
    d2.add_node("relu")
    d2.edges.append(Edge("relu1", "y", "relu1", "x"))
    assert not any("no loss" in m for m in messages(d2))


def test_several_problems_at_once():
    d = Document()
    d.add_node("input", {"shape": [8]})
    d.add_node("dense", {"units": 4})            # x unconnected
    d.insert_node(Node("mystery1", "mystery", 1, {}))
    d.insert_node(Node("dense9", "dense", 1, {"units": 0, "bias": True}))
    d.add_node("dense", {"units": 5})
    d.add_node("dense", {"units": 6})
    d.add_node("add")
    d.connect("input1", "y", "dense2", "x")
    d.connect("input1", "y", "dense3", "x")
    d.connect("dense2", "y", "add1", "a")
    d.connect("dense3", "y", "add1", "b")
    d.add_node("relu")
    d.add_node("tanh")
    d.connect("relu1", "y", "tanh1", "x")
    d.edges.append(Edge("tanh1", "y", "relu1", "x"))
    msgs = messages(d)
    assert set(msgs) == {
        "dense1.x: input is not connected",
        "mystery1: unknown layer kind 'mystery'",
        "dense9: param units: expected an integer in [1, 65536], got 0",
        "add1.b: got (?, 6), expected (?, 5) to match add1.a",
        "relu1: is part of a cycle: relu1 -> tanh1 -> relu1",
        "tanh1: is part of a cycle: relu1 -> tanh1 -> relu1",
        "graph: the graph has no loss node: add one (e.g. SoftmaxCrossEntropy) to train",
    }
    assert len(msgs) == 7
    # every shape that could still be inferred was
    a = analyse(d)
    assert a.shapes[("dense2", "y")] == (None, 5) and a.shapes[("dense3", "y")] == (None, 6)


def test_a_long_chain_is_analysed_quickly():
    d = Document()
    d.add_node("input", {"shape": [4]})
    prev = "input1"
    for i in range(3000):
        d.insert_node(Node(f"relu{i}", "relu", 1, {}))
        d.edges.append(Edge(prev, "y", f"relu{i}", "x"))
        prev = f"relu{i}"
    t = time.perf_counter()
    a = analyse(d)
    assert time.perf_counter() - t < 1.0       # linear: a quadratic pass took seconds here
    assert len(a.order) == 3001 and a.shapes[(prev, "y")] == (None, 4)


# ---- analyse never raises -------------------------------------------------------------

KIND_NAMES = sorted(all_kinds())


@st.composite
def messy_documents(draw):
    """Random graphs, valid or not: random kinds and params (in or out of bounds), edges between
    any ports (cycles and bad shapes included), unknown kinds, missing inputs."""
    d = Document()
    n = draw(st.integers(1, 8))
    for i in range(n):
        if draw(st.integers(0, 9)) == 0:
            d.insert_node(Node(f"u{i}", "unknown_kind", 1, {}))
            continue
        kind = all_kinds()[draw(st.sampled_from(KIND_NAMES))]
        params = kind.defaults()
        for p in kind.params:
            if draw(st.booleans()):
                continue
            if p.type == "int":
                params[p.name] = draw(st.integers(-3, 10))
            elif p.type == "float":
                params[p.name] = draw(st.floats(-2, 2))
            elif p.type == "bool":
                params[p.name] = draw(st.booleans())
            elif p.type == "choice":
                params[p.name] = draw(st.sampled_from(list(p.choices) + ["bogus"]))
            elif p.type == "shape":
                params[p.name] = draw(st.lists(st.integers(0, 5), min_size=0, max_size=3))
        d.insert_node(Node(f"n{i}", kind.name, kind.version, params))
    ids = list(d.nodes)
    for _ in range(draw(st.integers(0, 12))):
        src, dst = draw(st.sampled_from(ids)), draw(st.sampled_from(ids))
        port_out = draw(st.sampled_from(["y", "loss"]))
        port_in = draw(st.sampled_from(["x", "a", "b", "c", "pred", "target"]))
        if d.edge_into(dst, port_in) is None:
            d.edges.append(Edge(src, port_out, dst, port_in))
    return d


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messy_documents())
def test_analyse_never_raises(doc):
    a = analyse(doc)
    assert all(isinstance(p, Problem) and str(p) for p in a.problems)
    assert len(a.order) + sum(1 for n in doc.nodes if n not in a.order) == len(doc.nodes)
    if a.ok:
        describe(doc, a)
