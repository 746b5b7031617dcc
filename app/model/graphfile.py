"""The graph file: versioned, canonical JSON, loaded without ever running anything from it.

- Writing is atomic (temp file, fsync, rename) and canonical (sorted keys, nodes in document
  order, edges sorted), so save(load(f)) reproduces a canonical file byte for byte.
- Loading refuses NaN/Infinity, duplicate keys and ids, dangling edges, wrong types and files
  from a newer Wiregrad. Every error names its place, e.g.
  `nodes[3].params.units: expected an integer >= 1, got "abc"`.
"""
from __future__ import annotations

import json
import math
import os
import re
import secrets
import stat
from functools import lru_cache
from pathlib import Path

import jsonschema

from ..paths import assets_dir
from .document import Document, Edge, Node
from .files import check_regular, read_file
from .layers import get_kind
from .layers.spec import ParamError

FORMAT = "wiregrad.graph"
VERSION = 1
MAX_BYTES = 64 * 1024 * 1024     # a graph is small; anything bigger is not a graph
TOP_KEYS = {"format", "version", "nodes", "edges", "training", "ui", "extensions", "weights"}
MAX_DEPTH = 64                   # nesting levels; deeper data is refused before anything recurses on it


class GraphFileError(ValueError):
    """A file that can't be loaded; the message names the place in the file."""


def place(path) -> str:
    """['nodes', 3, 'params', 'units'] -> 'nodes[3].params.units'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


# ---- writing -----------------------------------------------------------------------

def to_json(doc: Document) -> dict:
    nodes = []
    for n in doc.nodes.values():
        entry = {"id": n.id, "kind": n.kind, "kind_version": n.kind_version, "params": n.params}
        if n.label:
            entry["label"] = n.label
        nodes.append(entry)
    edges = sorted(({"from": [e.src, e.src_port], "to": [e.dst, e.dst_port]} for e in doc.edges),
                   key=lambda e: (e["to"], e["from"]))
    data = {"format": FORMAT, "version": VERSION, "nodes": nodes, "edges": edges, "training": doc.training,
            "ui": {"pos": {k: [x, y] for k, (x, y) in doc.positions.items() if k in doc.nodes}}}
    if doc.extensions:
        data["extensions"] = doc.extensions
    if doc.weights:
        data["weights"] = doc.weights
    return data


def _canonical(value, indent: str = "") -> str:
    """Sorted keys, two-space indents, and lists of plain values on one line (edges, positions,
    shapes), so a diff of two graph files reads like a diff of two graphs."""
    inner = indent + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{_scalar(k)}: {_canonical(value[k], inner)}" for k in sorted(value)]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, (list, tuple)):
        if all(not isinstance(v, (dict, list, tuple)) for v in value):
            return "[" + ", ".join(_canonical(v) for v in value) + "]"
        return "[\n" + ",\n".join(inner + _canonical(v, inner) for v in value) + "\n" + indent + "]"
    return _scalar(value)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _scalar(value) -> str:
    text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    if isinstance(value, str) and _SURROGATE.search(text):
        # a lone surrogate (which JSON's \udXXX escapes can produce) has no UTF-8 form:
        # write it escaped, as it was read, so the file stays UTF-8 and round-trips
        text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text


def dumps(doc: Document) -> str:
    return _canonical(to_json(doc)) + "\n"


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, then rename over the target, so a
    crash or a full disk never leaves a half-written file where the old one was.
    A new file gets the usual permissions (0666 less the umask, not mkstemp's 0600);
    a replaced file keeps its own. A symlink is followed, so the file it points at is
    replaced and the link stays; a device, pipe or socket is refused, not replaced."""
    path = Path(os.path.realpath(path))
    if os.path.lexists(path):
        check_regular(path)        # a folder, device or pipe: OSError, nothing replaced
        mode = stat.S_IMODE(os.stat(path).st_mode)
    else:
        mode = None
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"no free temporary name next to {path}")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if hasattr(os, "O_DIRECTORY"):      # make the rename itself durable (POSIX)
        try:
            dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return
        try:
            os.fsync(dfd)
        except OSError:
            pass
        finally:
            os.close(dfd)


def save(doc: Document, path: str | os.PathLike) -> None:
    atomic_write(path, dumps(doc).encode("utf-8"))


# ---- reading -----------------------------------------------------------------------

def _refuse_constant(name: str):
    raise GraphFileError(f"{name} is not allowed in a graph file (numbers must be finite)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):        # 1e400 parses as inf, which no graph file may hold
        raise GraphFileError(f"the number {text[:40]} is too large (numbers must be finite)")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:                  # Python refuses ints of more than ~4300 digits
        raise GraphFileError(f"a number with {len(text)} digits is too long for a graph file") from None


def _no_duplicate_keys(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise GraphFileError(f"key {k!r} appears twice in one object")
        out[k] = v
    return out


@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads((assets_dir() / "schema" / "wiregrad.graph.schema.json").read_text("utf-8"))


@lru_cache(maxsize=1)
def _validator():
    # JSON Schema counts 2.0 as an integer; a graph file doesn't (a "version": 2.0 would slip
    # past the newer-version check, a batch size of 64.0 would reach code expecting an int)
    strict = jsonschema.Draft7Validator.TYPE_CHECKER.redefine(
        "integer", lambda checker, v: isinstance(v, int) and not isinstance(v, bool))
    cls = jsonschema.validators.extend(jsonschema.Draft7Validator, type_checker=strict)
    return cls(schema())


def training_problem(training) -> str | None:
    """What is wrong with a training dict by the schema, or None (Document.set_training uses it)."""
    probe = {"format": FORMAT, "version": VERSION, "nodes": [], "edges": [], "training": training}
    err = jsonschema.exceptions.best_match(_validator().iter_errors(probe))
    return _schema_message(err) if err is not None else None


def _short(value) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, (dict, list)) else type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def _schema_message(err: jsonschema.ValidationError) -> str:
    where = place(list(err.absolute_path))
    if err.validator == "type":
        article = "an" if str(err.validator_value)[0] in "aeiou" else "a"
        return f"{where}: expected {article} {err.validator_value}, got {_short(err.instance)}"
    if err.validator == "additionalProperties" and where == "(top level)":
        extra = sorted(set(err.instance) - TOP_KEYS)
        return f"unknown top-level key {extra[0]!r}: put your own data under \"extensions\""
    if err.validator == "maxLength":
        return f"{where}: longer than {err.validator_value} characters"
    return f"{where}: {err.message if len(err.message) < 200 else err.message[:197] + '...'}"


def loads(text: str | bytes) -> Document:
    if len(text) > MAX_BYTES:
        raise GraphFileError(f"the file is {len(text) / 1e6:.0f} MB; a graph file is at most {MAX_BYTES // 2**20} MB")
    if isinstance(text, (bytes, bytearray)):
        # strictly UTF-8 (json.loads would also guess UTF-16/32 and let encoded surrogates through)
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as e:
            raise GraphFileError(f"byte {e.start}: not UTF-8 text") from None
        text = text.removeprefix("\ufeff")    # a byte-order mark is harmless
    try:
        data = json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_no_duplicate_keys,
                          parse_float=_finite_float, parse_int=_int)
    except GraphFileError:
        raise
    except json.JSONDecodeError as e:
        raise GraphFileError(f"line {e.lineno}, column {e.colno}: not valid JSON ({e.msg})") from None
    except RecursionError:
        raise GraphFileError("the JSON is nested too deeply to be a graph file") from None
    return from_json(data)


def _check_tree(data) -> None:
    """Plain JSON data, at most MAX_DEPTH deep, numbers finite; walked without recursion so
    that nothing later (schema, copy, save) recurses deeper than this allows."""
    todo = [(data, [])]
    while todo:
        value, path = todo.pop()
        if len(path) > MAX_DEPTH:
            raise GraphFileError(f"{place(path[:MAX_DEPTH])}: nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, dict):
            for k, v in value.items():
                if not isinstance(k, str):
                    raise GraphFileError(f"{place(path)}: key {k!r} is not a string")
                todo.append((v, path + [k]))
        elif isinstance(value, list):
            todo.extend((v, path + [i]) for i, v in enumerate(value))
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise GraphFileError(f"{place(path)}: {value} is not allowed (numbers must be finite)")
        elif not (value is None or isinstance(value, (str, int, bool))):
            raise GraphFileError(f"{place(path)}: a {type(value).__name__} is not JSON data")


def from_json(data) -> Document:
    if not isinstance(data, dict):
        raise GraphFileError(f"(top level): expected an object, got {_short(data)}")
    _check_tree(data)
    if data.get("format") != FORMAT:
        raise GraphFileError(f"format: expected \"{FORMAT}\", got {_short(data.get('format'))}; this is not a Wiregrad graph")
    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > VERSION:
        raise GraphFileError(f"version: this file was made by a newer Wiregrad (graph format version {version}; "
                             f"this Wiregrad reads up to version {VERSION}). Update Wiregrad to open it.")
    try:
        err = jsonschema.exceptions.best_match(_validator().iter_errors(data))
    except RecursionError:
        raise GraphFileError("the JSON is nested too deeply to be a graph file") from None
    if err is not None:
        raise GraphFileError(_schema_message(err))

    doc = Document()
    doc.training.update(data.get("training", {}))
    for i, raw in enumerate(data["nodes"]):
        node = _node(raw, f"nodes[{i}]")
        if node.id in doc.nodes:
            raise GraphFileError(f"nodes[{i}].id: duplicate id {node.id!r}")
        doc.nodes[node.id] = node
    seen_inputs = {}
    for i, raw in enumerate(data["edges"]):
        edge = Edge(raw["from"][0], raw["from"][1], raw["to"][0], raw["to"][1])
        for end, (node_id, port) in (("from", raw["from"]), ("to", raw["to"])):
            if node_id not in doc.nodes:
                raise GraphFileError(f"edges[{i}].{end}: node {node_id!r} does not exist")
            _check_port(doc.nodes[node_id], port, end, f"edges[{i}].{end}")
        if (edge.dst, edge.dst_port) in seen_inputs:
            raise GraphFileError(f"edges[{i}].to: input {edge.dst}.{edge.dst_port} already has an edge "
                                 f"(edges[{seen_inputs[(edge.dst, edge.dst_port)]}]); an input takes one")
        seen_inputs[(edge.dst, edge.dst_port)] = i
        doc.edges.append(edge)
    for node_id, pos in data.get("ui", {}).get("pos", {}).items():
        if node_id in doc.nodes:
            try:
                xy = (float(pos[0]), float(pos[1]))
            except OverflowError:           # an integer too large for a float
                xy = (math.inf, math.inf)
            if not all(map(math.isfinite, xy)):
                raise GraphFileError(f"{place(['ui', 'pos', node_id])}: expected two finite numbers")
            doc.positions[node_id] = xy
    doc.extensions = data.get("extensions", {})
    doc.weights = data.get("weights")
    return doc


def _node(raw: dict, where: str) -> Node:
    kind = get_kind(raw["kind"])
    params = dict(raw.get("params", {}))
    version = raw.get("kind_version", kind.version if kind else 1)
    if kind is None:           # kept as is; validation reports the unknown kind
        return Node(raw["id"], raw["kind"], version, params, raw.get("label", ""))
    if version > kind.version:
        raise GraphFileError(f"{where}.kind_version: {raw['kind']} version {version} was made by a newer Wiregrad "
                             f"(this one knows version {kind.version})")
    known = {p.name for p in kind.params}
    for name in params:
        if name not in known:
            raise GraphFileError(f"{where}.params.{name}: {raw['kind']} has no parameter {name!r} "
                                 f"(it has: {', '.join(sorted(known)) or 'none'})")
    values = kind.defaults()
    for p in kind.params:
        if p.name not in params:
            continue
        value = params[p.name]
        try:
            values[p.name] = p.check(value)
        except ParamError as e:
            # a value of the right type but out of bounds loads, and validation flags it, so
            # the user can fix it in the editor; a value of the wrong type can't be shown at all
            if not _right_type(p.type, value):
                raise GraphFileError(f"{where}.params.{p.name}: {e}") from None
            values[p.name] = value
    return Node(raw["id"], raw["kind"], version, values, raw.get("label", ""))


def _right_type(t: str, value) -> bool:
    if t == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return False


def _check_port(node: Node, port: str, end: str, where: str) -> None:
    kind = get_kind(node.kind)
    if kind is None:
        return
    ports = [p.name for p in (kind.outputs if end == "from" else kind.input_ports(node.params))]
    if port not in ports:
        raise GraphFileError(f"{where}: {node.id} ({node.kind}) has no {'output' if end == 'from' else 'input'} "
                             f"port {port!r} (it has: {', '.join(ports) or 'none'})")


def load(path: str | os.PathLike) -> Document:
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise GraphFileError(f"{path}: the file is {size / 1e6:.0f} MB; a graph file is at most {MAX_BYTES // 2**20} MB")
        data = read_file(path)
    except OSError as e:
        raise GraphFileError(f"{path}: {e.strerror or e}") from None
    try:
        return loads(data)
    except GraphFileError as e:
        raise GraphFileError(f"{path.name}: {e}") from None
