"""The graph file: canonical byte-exact round trips, random valid documents, and random corrupt
files that must give a clean GraphFileError naming the place, never any other exception."""
from __future__ import annotations

import re

import copy
import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from app.model import graphfile
from app.model.document import Document, EditError, Node
from app.model.graphfile import GraphFileError, dumps, load, loads, save
from app.model.layers import all_kinds
from app.model.layers.spec import MAX_DIM
from app.model.shapes import analyse, describe
from app.paths import examples_dir

EXAMPLES = sorted(examples_dir().glob("*.json"))
EXAMPLE_BYTES = {p.name: p.read_bytes() for p in EXAMPLES}
RESIDUAL = json.loads(EXAMPLE_BYTES["residual_mlp.json"])
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def must_refuse(data, *expected: str) -> str:
    """loads(data) raises GraphFileError whose message contains each expected part."""
    if not isinstance(data, (str, bytes)):
        data = json.dumps(data)
    with pytest.raises(GraphFileError) as e:
        loads(data)
    msg = str(e.value)
    for part in expected:
        assert part in msg, msg
    assert len(msg) < 400, msg[:400]
    return msg


def load_cleanly(data):
    """A file either loads (and then analyses and saves without error) or is refused cleanly."""
    try:
        doc = loads(data)
    except GraphFileError as e:
        assert str(e) and len(str(e)) < 1000
        return None
    a = analyse(doc)
    if a.ok:
        describe(doc, a)
    text = dumps(doc)
    assert loads(text) == doc
    return doc


def mutated(**changes) -> dict:
    data = copy.deepcopy(RESIDUAL)
    for path, value in changes.items():
        target = data
        keys = [int(k) if k.isdigit() else k for k in path.split("__")]
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value
    return data


# ---- round trips ------------------------------------------------------------------------

@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_round_trip_byte_for_byte(path, tmp_path):
    raw = path.read_bytes()
    doc = load(path)
    assert dumps(doc).encode("utf-8") == raw
    out = tmp_path / path.name
    save(doc, out)
    assert out.read_bytes() == raw
    assert load(out) == doc
    assert loads(dumps(doc)) == doc


def test_examples_are_canonical_and_valid():
    assert {p.name for p in EXAMPLES} >= {"digits_mlp.json", "spiral.json", "residual_mlp.json", "weight_reuse.json"}
    for name, raw in EXAMPLE_BYTES.items():
        data = json.loads(raw)
        assert data["format"] == "wiregrad.graph" and data["version"] == 1
        assert raw.endswith(b"}\n") and b"\t" not in raw and b"\r" not in raw
        assert list(data) == sorted(data)


def test_save_is_canonical_whatever_the_input_order():
    data = json.loads(EXAMPLE_BYTES["spiral.json"])
    data["edges"].reverse()
    shuffled = json.dumps(dict(reversed(list(data.items()))), indent=7)
    assert dumps(loads(shuffled)).encode() == EXAMPLE_BYTES["spiral.json"]


def test_node_order_is_kept():
    d = Document()
    for kind in ("tanh", "relu", "sigmoid", "add"):
        d.add_node(kind)
    assert [n["id"] for n in json.loads(dumps(d))["nodes"]] == ["tanh1", "relu1", "sigmoid1", "add1"]
    assert list(loads(dumps(d)).nodes) == ["tanh1", "relu1", "sigmoid1", "add1"]


def test_non_ascii_and_lone_surrogates_round_trip():
    d = Document()
    d.add_node("relu", label="Ω ☃ 😀 naïve")
    d.add_node("tanh", label="\ud800 alone")       # JSON "\ud800" can hold this; UTF-8 can't
    d.extensions = {"k\udfff": "v"}
    text = dumps(d)
    raw = text.encode("utf-8")                     # must not raise
    assert "Ω ☃ 😀 naïve".encode() in raw and b'"\\ud800 alone"' in raw and b'"k\\udfff"' in raw
    back = loads(raw)
    assert back == d and dumps(back) == text


def test_extensions_and_unknown_training_keys_survive():
    data = mutated(extensions={"zeta": {"nested": [1, {"x": None}], "flag": True}, "alpha": "kept"})
    data["training"]["schedule"] = {"warmup": 5}
    doc = loads(json.dumps(data))
    assert doc.extensions == {"zeta": {"nested": [1, {"x": None}], "flag": True}, "alpha": "kept"}
    out = json.loads(dumps(doc))
    assert out["extensions"] == data["extensions"] and out["training"]["schedule"] == {"warmup": 5}
    assert loads(dumps(doc)) == doc


def test_unknown_kinds_load_as_they_are():
    data = mutated()
    data["nodes"].append({"id": "future1", "kind": "conv9d", "kind_version": 4, "params": {"k": [1, 2]}})
    doc = loads(json.dumps(data))
    assert doc.node("future1").params == {"k": [1, 2]} and doc.node("future1").kind_version == 4
    assert "future1: unknown layer kind 'conv9d'" in [str(p) for p in analyse(doc).problems]
    assert json.loads(dumps(doc))["nodes"][-1] == data["nodes"][-1]


def test_missing_optional_parts_get_defaults():
    data = {"format": "wiregrad.graph", "version": 1, "nodes": [{"id": "r", "kind": "relu"}], "edges": []}
    doc = loads(json.dumps(data))
    assert doc.node("r").params == {} and doc.node("r").kind_version == 1 and doc.training["batch_size"] == 64
    dense = loads(json.dumps({**data, "nodes": [{"id": "d", "kind": "dense", "params": {"units": 3}}]}))
    assert dense.node("d").params == {"units": 3, "bias": True}


# ---- random valid documents -------------------------------------------------------------

KIND_NAMES = sorted(all_kinds())


def param_values(p):
    if p.type == "int":
        lo = int(p.min) if p.min is not None else -1000
        hi = int(p.max) if p.max is not None else 1000
        return st.integers(lo, min(hi, lo + 64))
    if p.type == "float":
        return st.floats(p.min if p.min is not None else -1e6, p.max if p.max is not None else 1e6,
                         allow_nan=False, allow_infinity=False)
    if p.type == "bool":
        return st.booleans()
    if p.type == "choice":
        return st.sampled_from(p.choices)
    return st.lists(st.integers(1, MAX_DIM), min_size=1, max_size=4)


json_leaves = st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | \
    st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)
json_values = st.recursive(json_leaves, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                           max_leaves=12)
ids = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)
finite = st.floats(-1e9, 1e9, allow_nan=False)


@st.composite
def documents(draw):
    """A random document built only through the Document API."""
    d = Document()
    for _ in range(draw(st.integers(0, 8))):
        kind = all_kinds()[draw(st.sampled_from(KIND_NAMES))]
        params = {p.name: draw(param_values(p)) for p in kind.params if draw(st.booleans())}
        node_id = draw(st.none() | ids)
        pos = draw(st.none() | st.tuples(finite, finite))
        label = draw(st.text(max_size=20))
        try:
            d.add_node(kind.name, params, label=label, node_id=node_id, pos=pos)
        except EditError as e:
            assert node_id in d.nodes, e        # only a duplicate id may be refused
    node_ids = list(d.nodes)
    if node_ids:
        for _ in range(draw(st.integers(0, 12))):
            src, dst = draw(st.sampled_from(node_ids)), draw(st.sampled_from(node_ids))
            src_kind, dst_kind = all_kinds()[d.node(src).kind], all_kinds()[d.node(dst).kind]
            in_ports = [p.name for p in dst_kind.input_ports(d.node(dst).params)]
            if not in_ports:
                continue
            try:
                d.connect(src, draw(st.sampled_from([p.name for p in src_kind.outputs])), dst,
                          draw(st.sampled_from(in_ports)))
            except EditError as e:
                assert "cycle" in str(e) or "itself" in str(e)
        if draw(st.booleans()):
            d.move_node(draw(st.sampled_from(node_ids)), draw(st.tuples(finite, finite)))
    if draw(st.booleans()):
        d.set_training("batch_size", draw(st.integers(1, 1 << 20)))
        d.set_training("optimizer", {"name": draw(st.sampled_from(["sgd", "adam"])), "lr": draw(finite)})
        d.set_training("custom", draw(json_values))
    if draw(st.booleans()):
        d.extensions = draw(st.dictionaries(st.text(max_size=6), json_values, max_size=3))
    if draw(st.booleans()):
        d.weights = draw(st.text(min_size=1, max_size=30))
    return d


@FAST
@given(documents())
def test_random_valid_documents_round_trip(doc):
    text = dumps(doc)
    back = loads(text.encode("utf-8"))
    assert back == doc
    assert dumps(back) == text                   # canonical: a second save changes nothing
    assert [n for n in back.nodes] == [n for n in doc.nodes]


@FAST
@given(documents())
def test_random_documents_save_atomically_and_load(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("rt") / "g.json"
    save(doc, path)
    assert load(path) == doc
    assert [p.name for p in path.parent.iterdir()] == ["g.json"]


# ---- corrupt files ---------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(EXAMPLE_BYTES))
def test_truncated_files(name):
    raw = EXAMPLE_BYTES[name]
    stride = 1 if name == "spiral.json" else 7          # every prefix of one, a sample of the others
    for n in list(range(0, len(raw) - 1, stride)) + [len(raw) - 2]:
        with pytest.raises(GraphFileError) as e:
            loads(raw[:n])
        assert str(e.value).startswith(("line ", "(top level)")), str(e.value)
    assert loads(raw[:-1]) == loads(raw)               # only the final newline may go


def test_truncated_in_the_middle_of_a_character():
    doc = loads(EXAMPLE_BYTES["spiral.json"])
    doc.set_label("dense1", "Ωmega")
    raw = dumps(doc).encode()
    cut = raw.index("Ω".encode()) + 1
    must_refuse(raw[:cut], f"byte {cut - 1}: not UTF-8 text")


@pytest.mark.parametrize("data, expected", [
    (b"\xff\xfe{}", "byte 0: not UTF-8 text"),
    (EXAMPLE_BYTES["spiral.json"].replace(b'"input1"', b'"inp\xe9t1"', 1), "not UTF-8 text"),
    (EXAMPLE_BYTES["spiral.json"].decode().encode("utf-16"), "not UTF-8 text"),
    (EXAMPLE_BYTES["spiral.json"].replace(b'"dense1"', b'"\xed\xa0\x80"', 1), "not UTF-8 text"),   # CESU surrogate
    (b"", "line 1, column 1: not valid JSON"),
    (b"   ", "not valid JSON"),
    (b"{} {}", "not valid JSON"),
    (b"[]", "(top level): expected an object, got list"),
    (b"3", "(top level): expected an object, got 3"),
    (b'"wiregrad.graph"', "(top level): expected an object"),
    (b"null", "(top level): expected an object, got null"),
    (b"{}", 'format: expected "wiregrad.graph", got null; this is not a Wiregrad graph'),
    (b'{"format": "wiregrad.graph"}', "'version' is a required property"),
])
def test_not_a_graph(data, expected):
    must_refuse(data, expected)


def test_a_byte_order_mark_is_harmless():
    assert loads(b"\xef\xbb\xbf" + EXAMPLE_BYTES["spiral.json"]) == loads(EXAMPLE_BYTES["spiral.json"])


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1e999"])
@pytest.mark.parametrize("where", ["ui", "training", "extensions", "params"])
def test_nan_and_infinity_are_refused(literal, where):
    text = EXAMPLE_BYTES["residual_mlp.json"].decode()
    text = {"ui": lambda t: re.sub(r'("add1": )\[[^\]]*\]', rf"\1[{literal}, 100.0]", t),
            "training": lambda t: t.replace('"lr": 0.003', f'"lr": {literal}'),
            "extensions": lambda t: t.replace('"version": 1', f'"version": 1, "extensions": {{"x": [{literal}]}}'),
            "params": lambda t: t.replace('"units": 10', f'"units": {literal}')}[where](text)
    assert literal in text
    must_refuse(text, "finite")


def test_huge_numbers():
    text = EXAMPLE_BYTES["residual_mlp.json"].decode()
    must_refuse(text.replace('"units": 10', '"units": 1' + "0" * 5000), "5001 digits")
    must_refuse(re.sub(r'("add1": )\[[^\]]*\]', r"\1[1" + "0" * 400 + ", 100.0]", text),
                "ui.pos.add1: expected two finite numbers")
    must_refuse(text.replace('"slope"', '"x"').replace('"inputs": 3', '"inputs": 3.0'),
                "nodes[7].params.inputs: expected an integer in [2, 8], got 3.0")
    # an integer too large for its bounds but of the right type loads; validation flags it
    doc = loads(text.replace('"units": 10', '"units": 1' + "0" * 30))
    assert f"dense4: param units: expected an integer in [1, 65536], got 1{'0' * 30}" in \
        [str(p) for p in analyse(doc).problems]
    assert dumps(doc).count("1" + "0" * 30) == 1


@pytest.mark.parametrize("data, expected", [
    (mutated(nodes__1__params__units="abc"), 'nodes[1].params.units: expected an integer in [1, 65536], got "abc"'),
    (mutated(nodes__1__params__units=2.5), "nodes[1].params.units: expected an integer in [1, 65536], got 2.5"),
    (mutated(nodes__1__params__units=True), "nodes[1].params.units: expected an integer in [1, 65536], got true"),
    (mutated(nodes__1__params__bias="yes"), 'nodes[1].params.bias: expected true or false, got "yes"'),
    (mutated(nodes__9__params__labels="words"), 'nodes[9].params.labels: expected one of classes, values, got "words"'),
    (mutated(nodes__0__params__shape=[0]), "nodes[0].params.shape: expected a list of"),
    (mutated(nodes__0__params__shape=[MAX_DIM + 1]), "nodes[0].params.shape: expected a list of"),
    (mutated(nodes__0__params__shape="64"), 'got "64"'),
    (mutated(nodes__1__params__depth=3), "nodes[1].params.depth: dense has no parameter 'depth' (it has: bias, units)"),
    (mutated(nodes__2__params={"x": 1}), "nodes[2].params.x: relu has no parameter 'x' (it has: none)"),
    (mutated(nodes__3="dense2"), 'nodes[3]: expected an object, got "dense2"'),
    (mutated(nodes__3__id=5), "nodes[3].id: expected a string, got 5"),
    (mutated(nodes__3__id="3bad"), "nodes[3].id: '3bad' does not match"),
    (mutated(nodes__3__kind="Dense"), "nodes[3].kind: 'Dense' does not match"),
    (mutated(nodes__3__kind_version=2), "nodes[3].kind_version: dense version 2 was made by a newer Wiregrad"),
    (mutated(nodes__3__kind_version="1"), 'nodes[3].kind_version: expected an integer, got "1"'),
    (mutated(nodes__3__kind_version=1.0), "nodes[3].kind_version: expected an integer, got 1.0"),
    (mutated(nodes__3__params=[]), "nodes[3].params: expected an object, got list"),
    (mutated(nodes__3__label=7), "nodes[3].label: expected a string, got 7"),
    (mutated(nodes__3__colour="red"), "nodes[3]: Additional properties are not allowed ('colour' was unexpected)"),
    (mutated(nodes={}), "nodes: expected an array, got dict"),
    (mutated(edges=None), "edges: expected an array, got null"),
    (mutated(edges__0__from="relu1.y"), 'edges[0].from: expected an array, got "relu1.y"'),
    (mutated(edges__0__from=["relu1"]), "edges[0].from: ['relu1'] is too short"),
    (mutated(edges__0__to=["add1", "a", "b"]), "edges[0].to"),
    (mutated(edges__0__to=["add1", 1]), "edges[0].to[1]: expected a string, got 1"),
    (mutated(training=[]), "training: expected an object, got list"),
    (mutated(training__batch_size=0), "training.batch_size: 0 is less than the minimum of 1"),
    (mutated(training__batch_size=64.0), "training.batch_size: expected an integer, got 64.0"),
    (mutated(training__seed=-1), "training.seed"),
    (mutated(training__optimizer__name=None), "training.optimizer.name: expected a string, got null"),
    (mutated(ui__pos__add1=[1]), "ui.pos.add1: [1] is too short"),
    (mutated(ui__pos__add1=["a", 0]), 'ui.pos.add1[0]: expected a number, got "a"'),
    (mutated(ui="wide"), 'ui: expected an object, got "wide"'),
    (mutated(extensions=[1]), "extensions: expected an object, got list"),
    (mutated(weights=5), "weights: expected a string, got 5"),
    (mutated(version="1"), 'version: expected an integer, got "1"'),
    (mutated(version=0), "version: 0 is less than the minimum of 1"),
    (mutated(version=True), "version: expected an integer, got true"),
    (mutated(format="wiregrad.grahp"), 'format: expected "wiregrad.graph", got "wiregrad.grahp"'),
])
def test_wrong_types_name_the_place(data, expected):
    must_refuse(data, expected)


@pytest.mark.parametrize("version", [2, 99, 2 ** 80])
def test_a_newer_format_version_is_refused(version):
    must_refuse(mutated(version=version), f"version: this file was made by a newer Wiregrad (graph format version {version};",
                "Update Wiregrad")
    # even if the rest of it is something this version can't read
    must_refuse({"format": "wiregrad.graph", "version": version, "nodes": "later", "stuff": 1}, "made by a newer Wiregrad")


def test_version_2_0_is_not_version_1():
    must_refuse(mutated(version=2.0), "version: expected an integer, got 2.0")


def test_unknown_top_level_keys_are_refused():
    must_refuse(mutated(comment="hi"), "unknown top-level key 'comment': put your own data under \"extensions\"")


def test_dangling_edges():
    data = mutated()
    data["edges"][3]["from"] = ["ghost", "y"]
    must_refuse(data, "edges[3].from: node 'ghost' does not exist")
    data = mutated()
    data["edges"][5]["to"] = ["nobody", "x"]
    must_refuse(data, "edges[5].to: node 'nobody' does not exist")
    data = mutated()
    data["edges"][0]["from"] = ["relu1", "z"]
    must_refuse(data, "edges[0].from: relu1 (relu) has no output port 'z' (it has: y)")
    data = mutated()
    data["edges"][0]["to"] = ["add1", "d"]
    must_refuse(data, "edges[0].to: add1 (add) has no input port 'd' (it has: a, b, c)")


def test_two_edges_into_one_input():
    data = mutated()
    data["edges"].append({"from": ["relu2", "y"], "to": ["dense4", "x"]})
    must_refuse(data, f"edges[{len(data['edges']) - 1}].to: input dense4.x already has an edge (edges[6]); an input takes one")


def test_a_cycle_in_a_file_loads_and_is_reported():
    data = mutated()
    data["edges"][3]["from"] = ["dense4", "y"]              # input1 -> dense1 becomes dense4 -> dense1
    doc = loads(json.dumps(data))
    assert any("is part of a cycle" in str(p) for p in analyse(doc).problems)


def test_out_of_bounds_values_of_the_right_type_load():
    doc = loads(json.dumps(mutated(nodes__7__params__inputs=100)))     # the editor can show and fix these
    assert doc.node("add1").params["inputs"] == 100
    assert "add1: param inputs: expected an integer in [2, 8], got 100" in [str(p) for p in analyse(doc).problems]
    doc = loads(json.dumps(mutated(nodes__1__params__units=0)))
    assert doc.node("dense1").params["units"] == 0


def test_duplicate_ids_and_keys():
    data = mutated()
    data["nodes"][4]["id"] = "dense2" if data["nodes"][3]["id"] == "dense2" else data["nodes"][3]["id"]
    must_refuse(data, "nodes[4].id: duplicate id 'dense2'")
    text = EXAMPLE_BYTES["spiral.json"].decode()
    must_refuse(text.replace('"units": 16', '"units": 16, "units": 8', 1), "key 'units' appears twice")
    must_refuse(text.replace('"format"', '"nodes": [], "format"', 1), "key 'nodes' appears twice")


def test_deep_nesting():
    must_refuse("[" * 100_000 + "]" * 100_000, "nested too deeply")
    must_refuse('{"a":' * 100_000 + "1" + "}" * 100_000, "nested too deeply")
    # nesting inside the file that json can parse but nothing should recurse over
    for depth in (65, 500, 900):
        data = mutated(extensions={"x": json.loads("[" * depth + "]" * depth)})
        must_refuse(data, "extensions.x[0][0]", "levels deep")
    ok = mutated(extensions={"x": json.loads("[" * 40 + "]" * 40)})
    assert load_cleanly(json.dumps(ok)) is not None


def test_a_50_mb_string():
    big = "x" * (50 * 1024 * 1024)
    text = EXAMPLE_BYTES["residual_mlp.json"].decode()
    for old, expected in [('"units": 64', 'nodes[1].params.units: expected an integer in [1, 65536], got "xxx'),
                          ('"label": "stem"', "nodes[1].label: longer than 200 characters"),
                          ('"id": "dense1"', "nodes[1].id: 'xxxx")]:
        key = old.split(":")[0]
        must_refuse(text.replace(old, f'{key}: "{big}"', 1), expected)
    # where any string will do, it loads
    doc = loads(text.replace('"name": "adam"', f'"name": "{big}"', 1))
    assert doc.training["optimizer"]["name"] == big
    must_refuse(f'"{big}"', "(top level): expected an object")
    must_refuse(b'"' + b"x" * (65 * 1024 * 1024) + b'"', "a graph file is at most 64 MB")


def test_load_names_the_file(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text(json.dumps(mutated(nodes__1__params__units="abc")))
    with pytest.raises(GraphFileError) as e:
        load(bad)
    assert str(e.value) == 'broken.json: nodes[1].params.units: expected an integer in [1, 65536], got "abc"'
    with pytest.raises(GraphFileError, match="No such file"):
        load(tmp_path / "missing.json")
    with pytest.raises(GraphFileError):
        load(tmp_path)                          # a folder


def test_from_json_refuses_what_json_cannot_hold():
    data = mutated()
    data["extensions"] = {"t": (1, 2)}
    with pytest.raises(GraphFileError, match="extensions.t: a tuple is not JSON data"):
        graphfile.from_json(data)
    data["extensions"] = {"n": float("nan")}
    with pytest.raises(GraphFileError, match="extensions.n: nan is not allowed"):
        graphfile.from_json(data)
    data["extensions"] = {1: 2}
    with pytest.raises(GraphFileError, match="extensions: key 1 is not a string"):
        graphfile.from_json(data)


# ---- random corruption (hypothesis) -------------------------------------------------------

def paths_of(tree, prefix=()):
    yield prefix
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from paths_of(v, prefix + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield from paths_of(v, prefix + (i,))


BASES = {name: json.loads(raw) for name, raw in EXAMPLE_BYTES.items()}
MUTANT_LEAVES = st.none() | st.booleans() | st.integers(-10, 10) | st.integers() | \
    st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=10) | \
    st.sampled_from(["y", "x", "a", "relu1", "dense1", "input1", "add", "dense", "wiregrad.graph", "classes", ""])
MUTANTS = st.recursive(MUTANT_LEAVES, lambda c: st.lists(c, max_size=3) | st.dictionaries(
    st.sampled_from(["id", "kind", "params", "units", "from", "to", "x", "pos"]) | st.text(max_size=4), c, max_size=3),
    max_leaves=8)


@st.composite
def corrupted(draw):
    data = copy.deepcopy(BASES[draw(st.sampled_from(sorted(BASES)))])
    for _ in range(draw(st.integers(1, 3))):
        places = list(paths_of(data))
        path = draw(st.sampled_from(places))
        action = draw(st.sampled_from(["replace", "delete", "insert"]))
        if not path:
            if action == "replace":
                data = draw(MUTANTS)
            continue
        parent = data
        for k in path[:-1]:
            parent = parent[k]
        key = path[-1]
        if action == "replace":
            parent[key] = draw(MUTANTS)
        elif action == "delete":
            del parent[key]
        elif isinstance(parent, list):
            parent.insert(key, draw(MUTANTS))
        else:
            parent[draw(st.text(max_size=6))] = draw(MUTANTS)
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corrupted())
def test_random_wrong_types_give_a_clean_error(data):
    load_cleanly(json.dumps(data))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(EXAMPLE_BYTES)), st.data())
def test_random_byte_damage_gives_a_clean_error(name, data):
    raw = bytearray(EXAMPLE_BYTES[name])
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        op = data.draw(st.sampled_from(["set", "delete", "insert"]))
        b = data.draw(st.sampled_from(b'{}[]",:0123456789-.eE \\ntfu\x00\xff\xc3'))
        if op == "set":
            raw[i] = b
        elif op == "delete":
            del raw[i]
        else:
            raw.insert(i, b)
    load_cleanly(bytes(raw))


def test_documents_from_the_schema_never_crash_the_loader():
    hjs = pytest.importorskip("hypothesis_jsonschema")
    schema = graphfile.schema()

    @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))   # ~0.3 s each
    @given(hjs.from_schema(schema))
    def check(doc):
        load_cleanly(json.dumps(doc))

    check()


def test_the_schema_accepts_every_example_and_every_saved_document():
    import jsonschema
    validator = jsonschema.Draft7Validator(graphfile.schema())
    jsonschema.Draft7Validator.check_schema(graphfile.schema())
    for raw in EXAMPLE_BYTES.values():
        validator.validate(json.loads(raw))
    d = Document()
    d.add_node("relu", label="x" * 200, node_id="_" + "a" * 63)
    d.set_training("seed", 2 ** 32 - 1)
    validator.validate(json.loads(dumps(d)))


# ---- atomic writes --------------------------------------------------------------------

@pytest.mark.parametrize("fail_at", ["write", "fsync", "replace"])
def test_a_failed_save_leaves_the_old_file_intact(tmp_path, monkeypatch, fail_at):
    path = tmp_path / "graph.json"
    path.write_bytes(EXAMPLE_BYTES["spiral.json"])
    doc = loads(EXAMPLE_BYTES["digits_mlp.json"])

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    if fail_at == "write":
        real_fdopen = os.fdopen

        class Failing:
            def __init__(self, f):
                self.f = f

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.f.close()

            def write(self, data):
                self.f.write(data[: len(data) // 2])       # half of it gets out, then the disk fills
                boom()

            def __getattr__(self, name):
                return getattr(self.f, name)

        monkeypatch.setattr(os, "fdopen", lambda *a, **k: Failing(real_fdopen(*a, **k)))
    else:
        monkeypatch.setattr(os, fail_at, boom)
    with pytest.raises(OSError, match="No space left"):
        save(doc, path)
    monkeypatch.undo()
    assert path.read_bytes() == EXAMPLE_BYTES["spiral.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["graph.json"]        # no temp file left behind
    save(doc, path)
    assert path.read_bytes() == EXAMPLE_BYTES["digits_mlp.json"]


def test_save_keeps_permissions(tmp_path):
    doc = loads(EXAMPLE_BYTES["spiral.json"])
    old = os.umask(0o022)
    try:
        new = tmp_path / "new.json"
        save(doc, new)
        assert stat.S_IMODE(new.stat().st_mode) == 0o644          # not a temp file's 0600
        os.chmod(new, 0o640)
        save(doc, new)
        assert stat.S_IMODE(new.stat().st_mode) == 0o640
    finally:
        os.umask(old)


def test_save_refuses_nothing_the_document_accepts(tmp_path):
    """What the Document API lets in can always be written and read back."""
    d = Document()
    d.add_node("relu", label="\ud83d")
    d.move_node("relu1", (1e308, -1e308))
    d.set_training("optimizer", {"name": "adam", "lr": 5e-324})
    path = tmp_path / "x.json"
    save(d, path)
    assert load(path) == d


def test_save_through_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path):
    real = tmp_path / "real.json"
    real.write_bytes(EXAMPLE_BYTES["spiral.json"])
    link = tmp_path / "link.json"
    link.symlink_to(real)
    save(loads(EXAMPLE_BYTES["digits_mlp.json"]), link)
    assert link.is_symlink()
    assert real.read_bytes() == EXAMPLE_BYTES["digits_mlp.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "real.json"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_save_refuses_a_pipe_instead_of_replacing_it(tmp_path):
    """A device or pipe is refused (a FIFO stands in: a failing test must not replace /dev/null)."""
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        save(loads(EXAMPLE_BYTES["spiral.json"]), fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["pipe.json"]
