"""Document + batch size -> gpu.program.Program.

Lowering is where the induction over layers becomes a list of kernels:
- forward: every node in topological order writes its outputs;
- the loss nodes are the base case: the gradient of each loss output is the constant
  1/batch (the cost is the sum over loss nodes of the mean per-sample loss);
- backward: nodes in reverse order, each handed dC/d(outputs), adds its share into
  dC/d(inputs) and dC/d(params). All gradient tensors are zeroed before each step and
  every backward kernel *adds*, so where one tensor feeds several consumers their
  contributions sum (the fan-out rule) without any bookkeeping.
- update: the optimizer, one dispatch per parameter tensor.
gpu/ knows nothing about layer kinds; layers know nothing about buffers.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gpu.program import Binding, Dispatch, Program, Tensor, groups_1d
from .layers import get_kind
from .layers.spec import feature_size
from .shapes import analyse, problem_lines


class LoweringError(ValueError):
    pass


def grad_name(tensor: str) -> str:
    return f"d:{tensor}"


def _uniform(name: str, value) -> tuple[str, str, float]:
    if isinstance(value, bool):
        return (name, "u32", int(value))
    if isinstance(value, int | np.integer):
        return (name, "i32" if value < 0 else "u32", int(value))
    return (name, "f32", float(value))


@dataclass
class LowerContext:
    """What a layer's `lower(ctx)` sees: its tensors by port, concrete shapes, and emit helpers."""
    program: Program
    node: str
    kind: object
    params: dict
    batch: int
    in_shapes: dict
    out_shapes: dict
    inputs: dict          # port -> tensor name
    outputs: dict         # port -> tensor name
    input_grads: dict     # port -> grad tensor name, or None where no gradient is needed
    output_grads: dict    # port -> grad tensor name, or None where nothing downstream needs it
    weight_names: dict = field(default_factory=dict)  # weight -> tensor name (state tensors too)
    # training mode (lower(training=...)): BatchNorm uses batch statistics and updates its
    # running ones, Dropout drops; in evaluation both are fixed functions of their input
    training: bool = False

    # names ------------------------------------------------------------------
    def x(self, port): return self.inputs[port]
    def y(self, port="y"): return self.outputs[port]
    def dx(self, port): return self.input_grads.get(port)
    def dy(self, port="y"): return self.output_grads.get(port)
    def w(self, name): return self.weight_names[name]
    def dw(self, name): return grad_name(self.weight_names[name])

    def shape_in(self, port): return self.in_shapes[port]
    def shape_out(self, port="y"): return self.out_shapes[port]
    def size_in(self, port): return int(np.prod(self.in_shapes[port]))
    def size_out(self, port="y"): return int(np.prod(self.out_shapes[port]))

    def scratch(self, suffix: str, size: int, dtype: str = "f32") -> str:
        return self.program.add(Tensor(f"{self.node}.{suffix}", max(1, size), dtype, node=self.node)).name

    def counters(self) -> str:
        """The u32 "counters" tensor (counters[0] = optimizer steps taken), to bind read-only.
        A program without an optimizer gets one that stays at zeros (step 0)."""
        if "counters" not in self.program.tensors:
            self.program.add(Tensor("counters", 2, "u32"))
        return "counters"

    # emitting ---------------------------------------------------------------
    def emit(self, phase, entry, groups, reads=None, writes=None, shader=None, **uniforms):
        shader = shader or self.kind.shader
        if shader == self.kind.shader and entry not in self.kind.entries:
            raise LoweringError(f"{self.kind.name}: entry {entry!r} is not declared in its entries")
        bindings = tuple([Binding(k, v) for k, v in (reads or {}).items()]
                         + [Binding(k, v, write=True) for k, v in (writes or {}).items()])
        self.program.emit(phase, Dispatch(
            shader=shader, entry=entry, bindings=bindings, groups=tuple(groups),
            uniforms=tuple(_uniform(k, v) for k, v in uniforms.items()), node=self.node))

    def forward(self, entry, groups, reads=None, writes=None, shader=None, **u):
        self.emit("forward", entry, groups, reads, writes, shader, **u)

    def backward(self, entry, groups, reads=None, writes=None, shader=None, **u):
        self.emit("backward", entry, groups, reads, writes, shader, **u)

    # shared building blocks ------------------------------------------------------
    def matmul(self, phase, a, b, c, m, n, k, ta=False, tb=False, acc=False, bias=None):
        """c (+)= op(a)[m,k] · op(b)[k,n] (+ bias[n]); transposes are index tricks, not copies."""
        for d in matmul_dispatches(a, b, c, m, n, k, ta=ta, tb=tb, acc=acc, bias=bias, node=self.node,
                                   sources=self.program.meta.setdefault("sources", {})):
            self.program.emit(phase, d)

    def add_into(self, phase, src, dst, n):
        self.emit(phase, "add_into", groups_1d(n), {"x": src}, {"y": dst}, shader="ops/axpy.wgsl", n=n)


MATMUL_TILE = 4   # each invocation of ops/matmul.wgsl computes a 4x4 block of C


def matmul_groups(m: int, n: int) -> tuple[int, int, int]:
    blocks = -(-m // MATMUL_TILE) * -(-n // MATMUL_TILE)
    return groups_1d(blocks)


def matmul_dispatches(a, b, c, m, n, k, ta=False, tb=False, acc=False, bias=None, node=None,
                      sources: dict | None = None) -> list[Dispatch]:
    """The kernels for c (+)= op(a)[m,k] · op(b)[k,n] (+ bias[n]) (what Dense lowers to, and what
    bench/run.py times as M1). With `sources` (a Program's meta["sources"]) the kernel is the
    register-blocked vec4 one generated by app/model/matmul.py, its text added there; without,
    the plain wgsl/ops/matmul.wgsl."""
    if sources is not None:
        from . import matmul
        v = matmul.choose(m, n, k, ta, tb, acc=acc, bias=bias is not None)
        return matmul.dispatches(v, a, b, c, m, n, k, bias=bias, node=node, sources=sources)
    from .matmul import K_CHUNK      # a long K: several dispatches (see wgsl/ops/matmul.wgsl)
    out = []
    for k0 in range(0, max(k, 1), K_CHUNK):
        first = k0 == 0
        with_bias = bias is not None and first
        reads = [Binding("a", a), Binding("b", b)] + ([Binding("bias", bias)] if with_bias else [])
        out.append(Dispatch("ops/matmul.wgsl", "matmul_bias" if with_bias else "matmul",
                            (*reads, Binding("c", c, write=True)), matmul_groups(m, n),
                            tuple(_uniform(u, v) for u, v in (
                                ("M", m), ("N", n), ("K", k), ("ta", int(ta)), ("tb", int(tb)),
                                ("acc", int(acc or not first)), ("k0", k0), ("k1", min(k0 + K_CHUNK, k)))),
                            node=node))
    return out


# ---- the whole graph ---------------------------------------------------------------

@dataclass
class Lowered:
    """A Program plus the facts the host needs to drive it."""
    program: Program
    batch: int
    order: list[str]
    outputs: dict            # (node, port) -> tensor name
    params: dict             # weight tensor -> (node, weight name, shape): the learnable ones
    feeds: dict              # data/target node -> its output tensor (the host or the gather fills it)
    losses: list[str]        # loss nodes
    stats: list[tuple[str, str, str]]   # slot i: ("loss" | "param" | "out", node, tensor)
    # state tensor (Weight(trainable=False), e.g. BatchNorm's running mean) -> (node, name, shape):
    # saved and restored with the weights, never given a gradient or an optimizer update
    buffers: dict = field(default_factory=dict)
    training: bool = False   # the mode the kinds were lowered in

    @property
    def persistent(self) -> dict:
        """params and buffers together: every tensor a weights file holds."""
        return {**self.params, **self.buffers}


def init_weights(doc, analysis, seed: int) -> dict[str, np.ndarray]:
    """Seeded float64 initial weights by tensor name "<node>.<weight>". Each node draws from
    its own stream (seed, node id), so adding a node does not change the others' start."""
    import zlib
    out = {}
    for node_id in analysis.order:
        rng = np.random.default_rng([int(seed), zlib.crc32(node_id.encode())])
        for w in analysis.weights.get(node_id, []):
            out[f"{node_id}.{w.name}"] = w.initial(rng)
    return out


def _needs_grad(doc, analysis) -> set[tuple[str, str]]:
    """Outputs whose gradient is wanted: downstream of a learnable tensor and upstream of a loss."""
    kinds = {n: get_kind(doc.nodes[n].kind) for n in analysis.order}
    learn, reaches_loss = set(), set()
    for n in analysis.order:
        trainable = any(w.trainable for w in analysis.weights.get(n, []))
        if trainable or kinds[n].role == "parameter" or any(e.src in learn for e in doc.edges if e.dst == n):
            learn.add(n)
    for n in reversed(analysis.order):
        if kinds[n].role == "loss" or any(e.dst in reaches_loss for e in doc.edges if e.src == n):
            reaches_loss.add(n)
    return {(n, p.name) for n in learn & reaches_loss for p in kinds[n].outputs
            if kinds[n].role == "loss" or any(e.dst in reaches_loss for e in doc.consumers(n, p.name))}


def lower(doc, batch: int, *, analysis=None, seed: int = 0, weights: dict | None = None,
          data_rows: int | None = None, optimizer: dict | None = None,
          gradients: bool | None = None, training: bool | None = None,
          fuse: bool = True, max_binding: int | None = None) -> Lowered:
    """Build the Program for one training step: forward, backward and, when optimizer settings
    are given, the update. gradients=False (the default without an optimizer) gives forward only.

    training: the mode modal kinds lower in (BatchNorm, Dropout; ctx.training). By default a
    program with gradients is a training step and a forward-only program is evaluation.

    data_rows: when given, each data/target node gathers its batch from a dataset tensor
    "data:<node>" of that many rows, uploaded once (phase "feed"); otherwise the host writes
    the data nodes' outputs directly (evaluation, gradcheck).

    fuse: a training program (optimizer and data_rows given) is rewritten by app/model/fused.py
    into fewer, generated kernels with the same tensors and results, where the graph allows;
    program.meta["train_phases"] then names the phases one step runs. max_binding: the most
    bytes one buffer may hold; a rewrite that would gather tensors into a larger one is skipped.
    """
    from .shapes import analyse
    a = analysis or analyse(doc)
    if a.problems:
        raise LoweringError("the graph has problems:\n" + "\n".join(f"  {p}" for p in problem_lines(a.problems)))
    if batch < 1:
        raise LoweringError(f"batch size must be >= 1, got {batch}")
    prog = Program()
    init = weights if weights is not None else init_weights(doc, a, seed)
    want_grads = optimizer is not None if gradients is None else gradients
    grads = _needs_grad(doc, a) if want_grads else set()
    training = want_grads if training is None else bool(training)

    def concrete(shape):
        return tuple(batch if d is None else d for d in shape)

    outputs, params, feeds, losses, buffers = {}, {}, {}, [], {}
    seeds = []   # (gradient, size, node) of losses whose seed is rewritten every backward
    for node_id in a.order:
        node, kind = doc.nodes[node_id], get_kind(doc.nodes[node_id].kind)
        for w in a.weights.get(node_id, []):
            name = f"{node_id}.{w.name}"
            value = np.asarray(init[name], dtype=np.float32)
            if value.shape != tuple(w.shape):
                raise LoweringError(f"{name}: weights have shape {value.shape}, the graph needs {tuple(w.shape)}")
            prog.add(Tensor(name, value.size, init=value.ravel(), node=node_id))
            (params if w.trainable else buffers)[name] = (node_id, w.name, tuple(w.shape))
        for port in kind.outputs:
            shape = a.shapes[(node_id, port.name)]
            if kind.role == "parameter":   # the output *is* the weight; its gradient is the weight's
                outputs[(node_id, port.name)] = f"{node_id}.value"
                continue
            name = prog.add(Tensor(f"{node_id}.{port.name}", int(np.prod(concrete(shape))), node=node_id)).name
            outputs[(node_id, port.name)] = name
            if (node_id, port.name) in grads:
                size = int(np.prod(concrete(shape)))
                seed_value = None
                if kind.role == "loss":   # the base case: dC/d(loss_i) = 1/batch
                    if doc.consumers(node_id, port.name):
                        # the loss is also a value downstream, whose backward adds into this
                        # gradient: a constant would grow step after step, so it is rewritten
                        # with the seed at the start of every backward instead
                        seeds.append((grad_name(name), size, node_id))
                    else:                 # nothing else writes it: a constant uploaded once
                        seed_value = np.full(size, 1.0 / batch, dtype=np.float32)
                prog.add(Tensor(grad_name(name), size, init=seed_value, node=node_id))
                if kind.role != "loss":
                    prog.zeroed.append(grad_name(name))
        if kind.role in ("data", "target"):
            feeds[node_id] = outputs[(node_id, "y")]
        if kind.role == "loss":
            losses.append(node_id)
    trainable = [t for t, (n, _, _) in params.items() if any((n, p.name) in grads for p in get_kind(doc.nodes[n].kind).outputs)]
    for t in trainable:
        prog.add(Tensor(grad_name(t), prog.tensors[t].size, node=params[t][0]))
        prog.zeroed.append(grad_name(t))

    if data_rows is not None:
        _emit_feed(prog, doc, a, feeds, batch, data_rows)

    backward_blocks = []
    for node_id in a.order:
        backward = prog.phases.setdefault("backward", [])
        before = len(backward)
        _lower_node(prog, doc, a, node_id, batch, outputs, concrete, training)
        backward_blocks.append(backward[before:])
        del backward[before:]
    # the recursion runs from the losses back: nodes in reverse order, each node's kernels in its own order
    prog.phases["backward"] = [
        Dispatch("ops/fill.wgsl", "fill", (Binding("y", g, write=True),), groups_1d(size),
                 (("n", "u32", size), ("value", "f32", 1.0 / batch)), node=node_id)
        for g, size, node_id in seeds] + [d for block in reversed(backward_blocks) for d in block]

    stats = _emit_stats(prog, losses, trainable, params, outputs, batch)
    if optimizer is not None:
        from .optim import emit_optimizer
        emit_optimizer(prog, [(t, grad_name(t), prog.tensors[t].size, params[t][0]) for t in trainable], optimizer)
    low = Lowered(prog, batch, a.order, outputs, params, feeds, losses, stats, buffers, training)
    if fuse and optimizer is not None and data_rows is not None:
        from .fused import fuse as fuse_program
        fuse_program(low, doc, max_binding)
    return low


def _lower_node(prog, doc, a, node_id, batch, outputs, concrete, training=False):
    node, kind = doc.nodes[node_id], get_kind(doc.nodes[node_id].kind)
    if kind.lower is None:
        return
    inputs, input_grads, in_shapes, dup_grads = {}, {}, {}, []
    bound_grads = set()
    for port in kind.input_ports(node.params):
        e = doc.edge_into(node_id, port.name)
        src = (e.src, e.src_port)
        inputs[port.name] = outputs[src]
        in_shapes[port.name] = concrete(a.shapes[src])
        g = grad_name(outputs[src]) if grad_name(outputs[src]) in prog.tensors else None
        if g is not None and g in bound_grads:
            # the same tensor enters this node twice: a kernel can't write one buffer through two
            # bindings, so this port adds into a scratch gradient that is summed in afterwards
            scratch = f"{node_id}.d_{port.name}"
            prog.add(Tensor(scratch, prog.tensors[g].size, node=node_id))
            prog.zeroed.append(scratch)
            dup_grads.append((scratch, g))
            g = scratch
        if g is not None:
            bound_grads.add(g)
        input_grads[port.name] = g
    out_names = {p.name: outputs[(node_id, p.name)] for p in kind.outputs}
    out_grads = {p: (grad_name(t) if grad_name(t) in prog.tensors else None) for p, t in out_names.items()}
    ctx = LowerContext(prog, node_id, kind, node.params, batch, in_shapes,
                       {p.name: concrete(a.shapes[(node_id, p.name)]) for p in kind.outputs},
                       inputs, out_names, input_grads, out_grads,
                       {w.name: f"{node_id}.{w.name}" for w in a.weights.get(node_id, [])}, training)
    kind.lower(ctx)
    for scratch, g in dup_grads:
        ctx.add_into("backward", scratch, g, prog.tensors[g].size)


def _emit_feed(prog, doc, a, feeds, batch, data_rows):
    """Each data node gathers its batch from the dataset on the GPU through a permutation the
    host writes once per epoch; counters[1] is the batch cursor that ops/counters advances."""
    if data_rows < batch:
        raise LoweringError(f"the dataset has {data_rows} training rows, fewer than the batch size {batch}")
    prog.add(Tensor("perm", data_rows, "u32"))
    if "counters" not in prog.tensors:
        prog.add(Tensor("counters", 2, "u32"))
    for node_id, out in feeds.items():
        width = feature_size(a.shapes[(node_id, "y")])
        prog.add(Tensor(f"data:{node_id}", data_rows * width, node=node_id))
        prog.emit("feed", Dispatch("ops/gather.wgsl", "gather_rows",
                                   (Binding("src", f"data:{node_id}"), Binding("perm", "perm"),
                                    Binding("counters", "counters"), Binding("out", out, write=True)),
                                   groups_1d(batch * width), (("rows", "u32", batch), ("width", "u32", width)),
                                   node=node_id))


def _emit_stats(prog, losses, trainable, params, outputs, batch):
    """Slots of the stats tensor: each loss's batch mean, ‖dC/dθ‖² per parameter tensor and
    ‖dC/d(out)‖² per node output, then ("fwd") ‖out‖² of those outputs themselves, which say
    where a non-finite value began from the figures of the very step (the host may have
    queued more steps by the time it reads them). Encoded only on steps whose stats the host
    will read."""
    slots = [("loss", n, outputs[(n, "loss")]) for n in losses]
    slots += [("param", params[t][0], t) for t in trainable]
    outs = [("out", n, t) for (n, port), t in outputs.items()
            if n not in losses and t not in params and grad_name(t) in prog.tensors]
    slots += outs + [("fwd", n, t) for _, n, t in outs]
    prog.add(Tensor("stats", max(1, len(slots))))
    for i, (what, node, t) in enumerate(slots[:len(slots) - len(outs)]):
        src = t if what == "loss" else grad_name(t)
        size = prog.tensors[src].size
        if what == "out":
            prog.emit("stats", Dispatch("ops/reduce.wgsl", "sumsq2",
                                        (Binding("x", src), Binding("y", t), Binding("out", "stats", write=True)),
                                        (1, 1, 1), (("n", "u32", size), ("slot", "u32", i),
                                                    ("slot2", "u32", i + len(outs)), ("scale", "f32", 1.0)),
                                        node=node))
            continue
        prog.emit("stats", Dispatch("ops/reduce.wgsl", "sum" if what == "loss" else "sumsq",
                                    (Binding("x", src), Binding("out", "stats", write=True)), (1, 1, 1),
                                    (("n", "u32", size), ("slot", "u32", i),
                                     ("scale", "f32", 1.0 / batch if what == "loss" else 1.0)), node=node))
    return slots
