"""The network document: nodes, edges, training settings and layout, with change events.

It is the one source of truth shared by the editor, the engine and the command line.
It imports neither Qt nor wgpu; views follow it through `subscribe`.
"""
from __future__ import annotations

import copy
import math
import numbers
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from .layers import get_kind
from .layers.spec import ParamError


class EditError(ValueError):
    """An edit the document refuses, with the reason a user can read."""


ID_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")   # as in the graph file's schema
MAX_LABEL = 200                                              # likewise
MAX_DEPTH = 64                                               # nesting of a training value


def check_id(node_id: Any) -> str:
    """A node id the graph file can hold; anything else would save a file that can't load."""
    if not isinstance(node_id, str) or not ID_PATTERN.fullmatch(node_id):
        raise EditError(f"{node_id!r} can't be a node id: use a letter or _, then letters, digits or _ "
                        f"(at most 64 in all)")
    return node_id


def json_value(value: Any, where: str = "value", depth: int = 0) -> Any:
    """A copy of value as plain JSON data (tuples become lists), or EditError naming what can't
    be saved: NaN or infinite numbers, keys that aren't strings, objects JSON has no form for."""
    if depth > MAX_DEPTH:
        raise EditError(f"{where}: nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):      # numpy integers too
        return int(value)
    if isinstance(value, numbers.Real):
        if not math.isfinite(value):
            raise EditError(f"{where}: {value} can't be saved; numbers must be finite")
        return float(value)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise EditError(f"{where}: key {k!r} is not a string")
            out[k] = json_value(v, f"{where}.{k}", depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [json_value(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
    raise EditError(f"{where}: a {type(value).__name__} can't be saved in a graph file")


def _position(pos: Any) -> tuple[float, float]:
    try:
        x, y = float(pos[0]), float(pos[1])
    except (TypeError, ValueError, IndexError, OverflowError):
        raise EditError(f"a position is two numbers, got {pos!r}") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise EditError(f"a position must be finite, got ({x}, {y})")
    return x, y


@dataclass
class Node:
    id: str
    kind: str
    kind_version: int
    params: dict
    label: str = ""


@dataclass(frozen=True)
class Edge:
    src: str        # node id
    src_port: str
    dst: str
    dst_port: str

    def __str__(self) -> str:
        return f"{self.src}.{self.src_port} -> {self.dst}.{self.dst_port}"


def default_training() -> dict:
    return {
        "dataset": {"name": "digits"},
        "optimizer": {"name": "adam", "lr": 0.01},
        "batch_size": 64,
        "epochs": 20,
        "seed": 0,
    }


Listener = Callable[[str, dict], None]


@dataclass
class Document:
    nodes: dict[str, Node] = field(default_factory=dict)        # insertion order is the stable order
    edges: list[Edge] = field(default_factory=list)
    training: dict = field(default_factory=default_training)
    positions: dict[str, tuple[float, float]] = field(default_factory=dict)   # layout, apart from meaning
    extensions: dict = field(default_factory=dict)               # unknown keys kept for re-saving
    weights: str | None = None       # trained weights (.safetensors), relative to the graph file
    _listeners: list[Listener] = field(default_factory=list, repr=False, compare=False)

    # ---- observing --------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call listener(event, data) after every change; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, event: str, **data: Any) -> None:
        for listener in list(self._listeners):
            listener(event, data)

    # ---- queries ------------------------------------------------------------------
    def node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise EditError(f"no node with id {node_id!r}") from None

    def edge_into(self, node_id: str, port: str) -> Edge | None:
        for e in self.edges:
            if e.dst == node_id and e.dst_port == port:
                return e
        return None

    def edges_of(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.src == node_id or e.dst == node_id]

    def consumers(self, node_id: str, port: str | None = None) -> list[Edge]:
        return [e for e in self.edges if e.src == node_id and (port is None or e.src_port == port)]

    def new_id(self, kind: str) -> str:
        base = re.sub(r"[^a-z0-9_]", "", kind.lower()) or "node"
        i = 1
        while f"{base}{i}" in self.nodes:
            i += 1
        return f"{base}{i}"

    def reaches(self, start: str, goal: str) -> bool:
        """True if a path of edges leads from start to goal (used to refuse cycles)."""
        seen, todo = set(), [start]
        while todo:
            n = todo.pop()
            if n == goal:
                return True
            if n in seen:
                continue
            seen.add(n)
            todo.extend(e.dst for e in self.edges if e.src == n)
        return False

    def copy(self) -> "Document":
        """A deep snapshot without listeners (training runs on one of these)."""
        return Document(copy.deepcopy(self.nodes), list(self.edges), copy.deepcopy(self.training),
                        dict(self.positions), copy.deepcopy(self.extensions), self.weights)

    # ---- edits ----------------------------------------------------------------------
    def add_node(self, kind: str, params: dict | None = None, label: str = "", node_id: str | None = None,
                 pos: tuple[float, float] | None = None) -> str:
        spec = get_kind(kind)
        if spec is None:
            raise EditError(f"unknown layer kind {kind!r}")
        values = spec.defaults()
        for name, value in (params or {}).items():
            try:
                values[name] = spec.param(name).check(value)
            except KeyError:
                raise EditError(f"{kind} has no parameter {name!r}") from None
            except ParamError as e:
                raise EditError(f"{name}: {e}") from None
        node_id = check_id(node_id) if node_id is not None else self.new_id(kind)
        if node_id in self.nodes:
            raise EditError(f"a node with id {node_id!r} exists already")
        self.insert_node(Node(node_id, kind, spec.version, values, label), pos)
        return node_id

    def insert_node(self, node: Node, pos: tuple[float, float] | None = None) -> None:
        """Add a node as given (loading, undo). The kind may be unknown: validation reports it."""
        check_id(node.id)
        if node.id in self.nodes:
            raise EditError(f"a node with id {node.id!r} exists already")
        _check_label(node.label)
        xy = _position(pos) if pos is not None else None
        self.nodes[node.id] = node
        if xy is not None:
            self.positions[node.id] = xy
        self._emit("node_added", id=node.id)

    def remove_node(self, node_id: str) -> tuple[Node, list[Edge], tuple | None]:
        """Remove a node with its edges; returns what undo needs to put them back."""
        node = self.node(node_id)
        removed = self.edges_of(node_id)
        for e in removed:
            self.disconnect(e)
        del self.nodes[node_id]
        pos = self.positions.pop(node_id, None)
        self._emit("node_removed", id=node_id)
        return node, removed, pos

    def check_connect(self, edge: Edge) -> None:
        """Raise EditError with the reason if the edge can't be made."""
        src, dst = self.node(edge.src), self.node(edge.dst)
        if edge.src == edge.dst:
            raise EditError(f"can't connect {edge.src} to itself")
        src_kind, dst_kind = get_kind(src.kind), get_kind(dst.kind)
        if src_kind and edge.src_port not in [p.name for p in src_kind.outputs]:
            raise EditError(f"{edge.src} has no output port {edge.src_port!r}")
        if dst_kind and edge.dst_port not in [p.name for p in dst_kind.input_ports(dst.params)]:
            raise EditError(f"{edge.dst} has no input port {edge.dst_port!r}")
        if self.reaches(edge.dst, edge.src):
            raise EditError(f"connecting {edge.src} to {edge.dst} would close a cycle")

    def connect(self, src: str, src_port: str, dst: str, dst_port: str) -> tuple[Edge, Edge | None]:
        """Connect an output to an input. An input takes one edge: an existing one is replaced
        and returned, so undo can restore it."""
        edge = Edge(src, src_port, dst, dst_port)
        self.check_connect(edge)
        old = self.edge_into(dst, dst_port)
        if old == edge:
            return edge, None
        if old is not None:
            self.disconnect(old)
        self.edges.append(edge)
        self._emit("edge_added", edge=edge)
        return edge, old

    def disconnect(self, edge: Edge) -> None:
        if edge not in self.edges:
            raise EditError(f"no edge {edge}")
        self.edges.remove(edge)
        self._emit("edge_removed", edge=edge)

    def restore_param(self, node_id: str, name: str, value: Any) -> None:
        """Put back a param value exactly as it was, unchecked (undo): a file may hold a value
        out of bounds, which loads so the user can fix it, and undoing the fix must bring it back."""
        self.node(node_id).params[name] = copy.deepcopy(value)
        self._emit("param_changed", id=node_id, name=name)

    def set_param(self, node_id: str, name: str, value: Any) -> Any:
        """Set a param after checking type and bounds; returns the old value."""
        node = self.node(node_id)
        spec = get_kind(node.kind)
        if spec is None:
            raise EditError(f"{node_id} has unknown kind {node.kind!r}")
        try:
            value = spec.param(name).check(value)
        except KeyError:
            raise EditError(f"{node.kind} has no parameter {name!r}") from None
        except ParamError as e:
            raise EditError(f"{node_id}.{name}: {e}") from None
        old = node.params.get(name)
        node.params[name] = value
        # a port that disappears (Add with fewer inputs) takes its edge with it
        ports = {p.name for p in spec.input_ports(node.params)}
        for e in [e for e in self.edges if e.dst == node_id and e.dst_port not in ports]:
            self.disconnect(e)
        self._emit("param_changed", id=node_id, name=name)
        return old

    def set_label(self, node_id: str, label: str) -> str:
        node = self.node(node_id)
        _check_label(label)
        old, node.label = node.label, label
        self._emit("label_changed", id=node_id)
        return old

    def move_node(self, node_id: str, pos: tuple[float, float]) -> None:
        self.node(node_id)
        self.positions[node_id] = _position(pos)
        self._emit("node_moved", id=node_id)

    def set_training(self, key: str, value: Any) -> Any:
        """Set one training setting; a value the graph file could not hold (a batch size of 0,
        NaN, a set) is refused here rather than when saving."""
        if not isinstance(key, str):
            raise EditError(f"training: key {key!r} is not a string")
        value = json_value(value, f"training.{key}")
        from .graphfile import training_problem      # graphfile imports this module
        problem = training_problem({**self.training, key: value})
        if problem:
            raise EditError(problem)
        old = self.training.get(key)
        self.training[key] = value
        self._emit("training_changed", key=key)
        return old

    def replace_with(self, other: "Document") -> None:
        """Take over another document's contents (open/new) and tell the views to redraw."""
        self.nodes, self.edges = copy.deepcopy(other.nodes), list(other.edges)
        self.training, self.positions = copy.deepcopy(other.training), dict(other.positions)
        self.extensions, self.weights = copy.deepcopy(other.extensions), other.weights
        self._emit("reset")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Document):
            return NotImplemented
        return (self.nodes == other.nodes and sorted(map(str, self.edges)) == sorted(map(str, other.edges))
                and self.training == other.training and self.positions == other.positions
                and self.extensions == other.extensions and self.weights == other.weights)


def _check_label(label: Any) -> None:
    if not isinstance(label, str):
        raise EditError(f"a label is text, got {label!r}")
    if len(label) > MAX_LABEL:
        raise EditError(f"a label is at most {MAX_LABEL} characters, got {len(label)}")
