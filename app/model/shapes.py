"""Validation and shape inference over the DAG, with every problem tied to its node and port.

The batch dimension stays symbolic (None, printed "?"). `analyse` never stops at the first
problem: it reports cycles, unconnected inputs, unknown kinds, params out of bounds, shapes
that don't fit and a missing loss, and infers every shape it still can.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from .document import Document
from .layers import get_kind
from .layers.spec import ParamError, ShapeError, Weight, fmt_shape


@dataclass(frozen=True)
class Problem:
    node: str | None
    port: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.node}.{self.port}" if self.port else (self.node or "graph")
        return f"{where}: {self.message}"


@dataclass
class Analysis:
    order: list[str] = field(default_factory=list)                 # topological order (nodes not in a cycle)
    shapes: dict[tuple[str, str], tuple] = field(default_factory=dict)   # (node, output port) -> shape
    in_shapes: dict[str, dict] = field(default_factory=dict)       # node -> {input port: shape}
    weights: dict[str, list[Weight]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def param_count(self) -> int:
        """Learnable values; state such as BatchNorm's running statistics is state_count."""
        return sum(math.prod(w.shape) for ws in self.weights.values() for w in ws if w.trainable)

    @property
    def state_count(self) -> int:
        return sum(math.prod(w.shape) for ws in self.weights.values() for w in ws if not w.trainable)

    def node_param_count(self, node_id: str) -> int:
        return sum(math.prod(w.shape) for w in self.weights.get(node_id, []) if w.trainable)

    def problems_of(self, node_id: str) -> list[Problem]:
        return [p for p in self.problems if p.node == node_id]


def topological_order(doc: Document) -> tuple[list[str], list[list[str]]]:
    """Kahn's algorithm in document order (so the order is stable). Returns the order and the
    cycles found among the nodes left over."""
    indeg = {n: 0 for n in doc.nodes}
    out: dict[str, list[str]] = {n: [] for n in doc.nodes}     # successors, in edge order
    for e in doc.edges:
        indeg[e.dst] += 1
        out[e.src].append(e.dst)
    ready = deque(n for n in doc.nodes if indeg[n] == 0)
    order = []
    while ready:
        n = ready.popleft()
        order.append(n)
        for dst in out[n]:
            indeg[dst] -= 1
            if indeg[dst] == 0:
                ready.append(dst)
    done = set(order)
    left = [n for n in doc.nodes if n not in done]
    return order, _cycles(doc, left)


def _cycles(doc: Document, left: list[str]) -> list[list[str]]:
    """One cycle per strongly connected group of the left-over nodes, found by walking back."""
    cycles, covered = [], set()
    rest = set(left)
    index = {n: i for i, n in enumerate(doc.nodes)}
    for start in left:
        if start in covered:
            continue
        path, seen, n = [], {}, start
        while n not in seen:
            seen[n] = len(path)
            path.append(n)
            preds = [e.src for e in doc.edges if e.dst == n and e.src in rest]
            if not preds:
                break
            n = preds[0]
        else:
            cycle = list(reversed(path[seen[n]:]))
            first = min(range(len(cycle)), key=lambda i: index[cycle[i]])
            cycle = cycle[first:] + cycle[:first]     # start at the node first in the document
            if not covered.intersection(cycle):
                cycles.append(cycle)
            covered.update(cycle)
    return cycles


def problem_lines(problems: list[Problem]) -> list[str]:
    """One line per problem, except that a message shared by several nodes (a cycle's, on
    each node in it for the badges) is one line naming them all."""
    nodes: dict[str, list[str]] = {}
    for p in problems:
        if p.node and not p.port:
            nodes.setdefault(p.message, []).append(p.node)
    lines, said = [], set()
    for p in problems:
        if p.node and not p.port and len(nodes[p.message]) > 1:
            if p.message not in said:
                said.add(p.message)
                lines.append(f"{', '.join(nodes[p.message])}: {p.message.replace('is part of', 'are part of')}")
        else:
            lines.append(str(p))
    return lines


def analyse(doc: Document) -> Analysis:
    a = Analysis()
    a.order, cycles = topological_order(doc)
    for cycle in cycles:
        names = " -> ".join(cycle + [cycle[0]])
        for n in cycle:
            a.problems.append(Problem(n, None, f"is part of a cycle: {names}"))

    into: dict[tuple[str, str], object] = {}       # an input takes one edge (the first, as edge_into)
    for e in doc.edges:
        into.setdefault((e.dst, e.dst_port), e)
    has_loss = False
    for node_id in a.order:
        node = doc.nodes[node_id]
        kind = get_kind(node.kind)
        if kind is None:
            a.problems.append(Problem(node_id, None, f"unknown layer kind {node.kind!r}"))
            continue
        has_loss |= kind.role == "loss"
        params_ok = True
        for p in kind.params:
            try:
                p.check(node.params.get(p.name))
            except ParamError as e:
                params_ok = False
                a.problems.append(Problem(node_id, None, f"param {p.name}: {e}"))
        in_shapes, missing = {}, False
        for port in kind.input_ports(node.params) if params_ok else []:
            e = into.get((node_id, port.name))
            if e is None:
                a.problems.append(Problem(node_id, port.name, "input is not connected"))
                missing = True
            elif (e.src, e.src_port) in a.shapes:
                in_shapes[port.name] = a.shapes[(e.src, e.src_port)]
            else:
                missing = True   # the producer failed already; don't pile on
        if not params_ok or missing:
            continue
        a.in_shapes[node_id] = in_shapes
        try:
            outs = kind.shape(in_shapes, node.params)
            a.weights[node_id] = kind.weights(in_shapes, node.params)
        except ShapeError as e:
            a.problems.append(Problem(node_id, e.port, str(e).replace("{node}", node_id)))
            continue
        for port, shape in outs.items():
            a.shapes[(node_id, port)] = tuple(shape)
    if not has_loss and not any(get_kind(n.kind) and get_kind(n.kind).role == "loss" for n in doc.nodes.values()):
        a.problems.append(Problem(None, None, "the graph has no loss node: add one (e.g. SoftmaxCrossEntropy) to train"))
    return a


def describe(doc: Document, a: Analysis) -> str:
    """The text `wiregrad validate` prints: every tensor's shape, every learnable tensor and,
    when there are any, the state tensors (saved with the weights, not learned)."""
    tensors = [(f"{n}.{port}", fmt_shape(shape)) for node_id in a.order
               for (n, port), shape in a.shapes.items() if n == node_id]
    weights = [(f"{node_id}.{w.name}", fmt_shape(w.shape), math.prod(w.shape), w.trainable)
               for node_id in a.order for w in a.weights.get(node_id, [])]
    width = max([len(t[0]) for t in tensors + weights] + [4])
    lines = ["tensors:"] + [f"  {name:<{width}}  {shape}" for name, shape in tensors]
    lines.append("learnable tensors:")
    lines += [f"  {name:<{width}}  {shape:<14} {size:>9,d}" for name, shape, size, learn in weights if learn]
    lines.append(f"total parameters: {a.param_count:,d}")
    if a.state_count:
        lines.append("state (saved with the weights, not learned):")
        lines += [f"  {name:<{width}}  {shape:<14} {size:>9,d}" for name, shape, size, learn in weights if not learn]
        lines.append(f"total state: {a.state_count:,d}")
    return "\n".join(lines)
