"""Faster Programs for common training graphs, rewritten from the plain lowering.

The plain lowering (app/model/lower.py) emits a few kernels per node: on lavapipe a dispatch
costs ~20 us to run, a compute pass ~50 us, so a Playground-size network spends nearly all its
time on overhead (bench/README.md has the measurements). This module rewrites a training
Program into one that does the same arithmetic in fewer dispatches:

- "layers": a chain Dense [act] Dense [act] ... Dense -> loss too big for that runs as a few
  kernels per layer (app/model/matmul.py epilogues carry bias, activation and its gradient,
  and the bias gradient), one loss kernel, one optimizer dispatch over flat buffers.
- "whole_step": a chain input -> (Dense | activation)* -> loss, small enough, becomes ONE
  generated kernel per training step (gather, forward, loss, backward, optimizer, counters) in
  one workgroup: lane r holds batch row r in registers through the forward and the backward
  (weights are read at constant offsets, which lavapipe turns into cheap broadcast loads);
  then lane i takes weight i: its gradient, summed over the rows, and its update.

Every rewrite keeps every tensor of the plain Program, with the same values after a step:
node outputs, their gradients, parameter gradients, optimizer state, the loss. So statistics,
the NaN check that names a node, weights files and evaluation work unchanged; tests compare a
rewritten Program with the plain one and with the float64 reference. Set WIREGRAD_FUSE=0 to
train with the plain Program.

This module is plain Python (no wgpu): generated WGSL travels in program.meta["sources"] and
the flat buffers as program.meta["views"] (see gpu/engine.py and gpu/shaders.py).
"""
from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass, field
from functools import lru_cache
from hashlib import sha1
from pathlib import Path


from gpu import sources as registry
from gpu.program import Binding, Dispatch, Program, Tensor, groups_1d
from .layers import get_kind

VIEW_ALIGN = 64          # elements: 256 bytes, the largest storage offset alignment WebGPU allows
LOSSES = ("softmax_cross_entropy", "binary_cross_entropy", "mse")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw")
UPDATE_GROUPS = 8        # workgroups of the one optimizer dispatch (a grid-stride loop covers the rest)

# whole_step limits: one workgroup runs the step on one core, with every product unrolled
WHOLE_STEP_MAX_BATCH = 256
WHOLE_STEP_MAX_TERMS = 320       # unrolled multiply-adds in the kernel: lavapipe's compile takes
                                 # ~4-10 ms each (W1's 160: ~1 s; the spiral example's 576: 2-5 s;
                                 # 2700: 27 s), which the first step waits for
WHOLE_STEP_MAX_MACS = 1 << 17    # batch x weights: beyond this, parallel per-layer kernels win
WHOLE_STEP_MAX_SITES = 400       # lane-dependent loads/stores in the unrolled code (see _sites)


def enabled() -> bool:
    return os.environ.get("WIREGRAD_FUSE", "1") not in ("0", "false", "no", "off")


@lru_cache(maxsize=1)
def _wgsl_dir() -> Path:
    """wgsl/ in a checkout, gpu/wgsl when installed (as gpu/shaders.py looks, without wgpu)."""
    import gpu.program
    here = Path(gpu.program.__file__).resolve().parent
    for candidate in (here.parent / "wgsl", here / "wgsl"):
        if (candidate / "common.wgsl").is_file():
            return candidate
    raise FileNotFoundError("cannot find the wgsl/ folder")


@lru_cache(maxsize=None)
def _prefix(shader: str) -> str:
    text = (_wgsl_dir() / shader).read_text(encoding="utf-8")
    m = re.search(r"^//!\s*entry\s+\w+", text, re.MULTILINE)
    return text[:m.start()] if m else text


def wgsl_literal(typ: str, value) -> str:
    """A WGSL expression equal to what a uniform of that type would hold, bit for bit."""
    if typ == "f32":
        return f"bitcast<f32>({struct.unpack('<I', struct.pack('<f', float(value)))[0]:#x}u)"
    return f"{int(value)}{'u' if typ == 'u32' else 'i'}"


def source_name(kind: str, text: str) -> str:
    return f"gen/{kind}-{sha1(text.encode()).hexdigest()[:16]}.wgsl"


# ---------------------------------------------------------------------------- the chain

@dataclass
class Op:
    node: str
    kind: str                 # "dense" or the activation kind's name
    fin: int
    fout: int
    y: str                    # output tensor
    dy: str | None            # its gradient tensor (None: nothing upstream needs it)
    w: str | None = None      # dense weights (fin, fout)
    b: str | None = None      # dense bias (fout,)
    include: str = ""         # activation: the //! include line for its f/df
    alias: str = ""


@dataclass
class Chain:
    batch: int
    input: str
    target: str
    loss: str
    loss_kind: str
    x: str                    # input tensor, width fin
    t: str                    # target tensor, width tw
    tw: int
    loss_y: str
    loss_dy: str
    ops: list[Op] = field(default_factory=list)

    @property
    def fin(self) -> int:
        return self.ops[0].fin

    @property
    def params(self) -> list[str]:
        return [p for op in self.ops for p in (op.w, op.b) if p]


def _activation(low, doc, node_id):
    """(include line, alias) when node_id is an elementwise activation whose WGSL prefix defines
    f(x) and df(x, y), with its uniform parameters baked in; else None."""
    kind = get_kind(doc.nodes[node_id].kind)
    if kind is None or kind.category != "Activation" or kind.shader is None or kind.modal:
        return None
    fwd = [d for d in low.program.phases.get("forward", ()) if d.node == node_id]
    if len(fwd) != 1 or fwd[0].shader != kind.shader or fwd[0].entry != "forward":
        return None
    try:
        prefix = _prefix(kind.shader)
    except OSError:
        return None
    if not (re.search(r"^fn f\(", prefix, re.M) and re.search(r"^fn df\(", prefix, re.M)):
        return None
    subs = " ".join(f"{name}={wgsl_literal(typ, v)}" for name, typ, v in fwd[0].uniforms if name != "n")
    used = set(re.findall(r"\bU\.(\w+)", prefix))
    if used - {name for name, _, _ in fwd[0].uniforms}:
        return None
    # named by kind and parameters, not by node: two ReLUs share one generated kernel
    alias = f"act_{re.sub(r'[^a-z0-9_]', '_', kind.name)}" + (f"_{sha1(subs.encode()).hexdigest()[:8]}" if subs else "")
    return f"//! include {kind.shader} as {alias}{' ' + subs if subs else ''}", alias


def find_chain(low, doc) -> Chain | None:
    """The graph as input -> (Dense | elementwise activation)* -> loss(pred), target -> loss,
    nothing else; None for any other graph."""
    from .lower import grad_name
    prog = low.program
    roles = {n: get_kind(doc.nodes[n].kind) for n in doc.nodes}
    if any(k is None for k in roles.values()):
        return None
    data = [n for n, k in roles.items() if k.role == "data"]
    targets = [n for n, k in roles.items() if k.role == "target"]
    losses = [n for n, k in roles.items() if k.role == "loss"]
    if len(data) != 1 or len(targets) != 1 or len(losses) != 1 or "perm" not in prog.tensors:
        return None
    loss = losses[0]
    if roles[loss].name not in LOSSES or doc.consumers(loss):
        return None
    tedge = doc.edge_into(loss, "target")
    if tedge is None or tedge.src != targets[0] or len(doc.consumers(targets[0])) != 1:
        return None
    x_size = prog.tensors[low.outputs[(data[0], "y")]].size
    if x_size % low.batch:
        return None
    chain = Chain(low.batch, data[0], targets[0], loss, roles[loss].name,
                  low.outputs[(data[0], "y")], low.outputs[(targets[0], "y")],
                  prog.tensors[low.outputs[(targets[0], "y")]].size // low.batch,
                  low.outputs[(loss, "loss")], grad_name(low.outputs[(loss, "loss")]))
    if chain.loss_dy not in prog.tensors or prog.tensors[chain.loss_dy].init is None:
        return None
    width, node, seen = x_size // low.batch, data[0], {data[0], targets[0], loss}
    while True:
        edges = doc.consumers(node, "y")
        if len(edges) != 1:
            return None
        e = edges[0]
        if e.dst == loss:
            if e.dst_port != "pred" or not chain.ops:
                return None
            break
        nxt, kind = e.dst, roles[e.dst]
        seen.add(nxt)
        y = low.outputs[(nxt, "y")]
        dy = grad_name(y) if grad_name(y) in prog.tensors else None
        if kind.name == "dense":
            p = doc.nodes[nxt].params
            w, b = f"{nxt}.w", (f"{nxt}.b" if p.get("bias") else None)
            if w not in low.params or (b and b not in low.params) or set(doc.nodes[nxt].params) - {"units", "bias"}:
                return None
            op = Op(nxt, "dense", width, int(p["units"]), y, dy, w, b)
        else:
            act = _activation(low, doc, nxt)
            if act is None:
                return None
            op = Op(nxt, kind.name, width, width, y, dy, include=act[0], alias=act[1])
        if prog.tensors[y].size != low.batch * op.fout or dy is None:
            return None
        chain.ops.append(op)
        width, node = op.fout, nxt
    if seen != set(doc.nodes) or not any(op.kind == "dense" for op in chain.ops):
        return None
    pred_w = chain.ops[-1].fout
    if chain.loss_kind == "softmax_cross_entropy" and chain.tw != 1:
        return None
    if chain.loss_kind != "softmax_cross_entropy" and chain.tw != pred_w:
        return None
    return chain


# ---------------------------------------------------------------------------- flat buffers

def _layout(names: list[str], sizes: dict) -> tuple[dict, int]:
    offsets, at = {}, 0
    for n in names:
        offsets[n] = at
        at += -(-sizes[n] // VIEW_ALIGN) * VIEW_ALIGN
    return offsets, max(at, 4)


def _flatten(prog: Program, base: str, names: list[str]) -> dict:
    """Make `names` views into one new tensor `base`; returns name -> element offset."""
    sizes = {n: prog.tensors[n].size for n in names}
    offsets, total = _layout(names, sizes)
    prog.add(Tensor(base, total, prog.tensors[names[0]].dtype))
    views = prog.meta.setdefault("views", {})
    for n in names:
        views[n] = (base, offsets[n])
    return offsets


# ---------------------------------------------------------------------------- whole step

def _terms(chain: Chain) -> int:
    fwd = sum(op.fin * op.fout for op in chain.ops if op.kind == "dense")
    bwd = sum(op.fin * op.fout for i, op in enumerate(chain.ops) if op.kind == "dense" and i > 0)
    return fwd + bwd


def _sites(chain: Chain) -> int:
    """Loads and stores at lane-dependent addresses in the unrolled part of the kernel: the
    gathered row, and every output and gradient written. Each is a loop over the SIMD lanes in
    lavapipe's code, and they are what makes a kernel slow to compile (~5 ms each)."""
    return 2 * (chain.fin + chain.tw) + 2 * sum(op.fout for op in chain.ops) + 2


def whole_step_fits(chain: Chain) -> bool:
    macs = chain.batch * sum(op.fin * op.fout for op in chain.ops if op.kind == "dense")
    return (chain.batch <= WHOLE_STEP_MAX_BATCH and _terms(chain) <= WHOLE_STEP_MAX_TERMS
            and macs <= WHOLE_STEP_MAX_MACS and _sites(chain) <= WHOLE_STEP_MAX_SITES)


def _wg(batch: int) -> int:
    return max(8, -(-batch // 8) * 8)


def whole_step_source(chain: Chain, opt: str, offsets: dict, data_x: str, data_t: str) -> str:
    """The generated kernel. Registers: v<i>_<j> is element j of op i's output for this lane's
    row (v0_ is the input row), g<i>_<j> the gradient of op i's output."""
    B, WG = chain.batch, _wg(chain.batch)
    o = offsets
    L = [f"// Whole training step of a {len(chain.ops)}-op dense chain, batch {B}: generated by",
         "// app/model/fused.py (whole_step). A = activations, D = their gradients, P = parameters,",
         "// G = parameter gradients, M/V = optimizer state: flat buffers, constant offsets.",
         f"//! include optim/{'adam' if opt in ('adam', 'adamw') else 'sgd'}.wgsl"]
    seen_alias = set()
    for op in chain.ops:
        if op.include and op.alias not in seen_alias:
            L.append(op.include)
            seen_alias.add(op.alias)
    L += [f"const B: u32 = {B}u;", "", "//! entry step",
          f"@compute @workgroup_size({WG})",
          "fn step(@builtin(local_invocation_index) lid: u32) {",
          "    // ---- rows: lane r is batch row r (lanes past the batch redo the last row)",
          "    let r = min(lid, B - 1u);",
          "    let row = perm[counters[1] * B + r];"]
    fin = chain.fin
    for k in range(fin):
        L.append(f"    let v0_{k} = data_x[row * {fin}u + {k}u];")
        L.append(f"    A[{o[chain.x]}u + r * {fin}u + {k}u] = v0_{k};")
    for k in range(chain.tw):
        L.append(f"    let t_{k} = data_t[row * {chain.tw}u + {k}u];")
        L.append(f"    A[{o[chain.t]}u + r * {chain.tw}u + {k}u] = t_{k};")
    # forward
    for i, op in enumerate(chain.ops, 1):
        for j in range(op.fout):
            if op.kind == "dense":
                s = " + ".join(f"v{i - 1}_{k} * P[{o[op.w] + k * op.fout + j}u]" for k in range(op.fin))
                if op.b:
                    s = f"({s}) + P[{o[op.b] + j}u]"
                L.append(f"    let v{i}_{j} = {s};")
            else:
                L.append(f"    let v{i}_{j} = {op.alias}_f(v{i - 1}_{j});")
            L.append(f"    A[{o[op.y]}u + r * {op.fout}u + {j}u] = v{i}_{j};")
    n, W = len(chain.ops), chain.ops[-1].fout
    z = [f"v{n}_{j}" for j in range(W)]
    L.append("    // ---- loss, and the base case of the backward: its gradient")
    L.append(f"    let gl = D[{o[chain.loss_dy]}u + r];")
    if chain.loss_kind == "softmax_cross_entropy":
        L.append(f"    let label = min(u32(t_0), {W - 1}u);")
        L.append(f"    var m = {z[0]};")
        L += [f"    m = max(m, {z[j]});" for j in range(1, W)]
        L.append("    var s = 0.0;")
        L += [f"    s += exp({z[j]} - m);" for j in range(W)]
        L.append(f"    var zl = {z[0]};")
        L += [f"    zl = select(zl, {z[j]}, label == {j}u);" for j in range(1, W)]
        L.append(f"    A[{o[chain.loss_y]}u + r] = m + log(s) - zl;")
        for j in range(W):
            L.append(f"    let g{n}_{j} = gl * (exp({z[j]} - m) / s - select(0.0, 1.0, label == {j}u));")
    elif chain.loss_kind == "binary_cross_entropy":
        L.append("    var s = 0.0;")
        L += [f"    s += max({z[j]}, 0.0) - {z[j]} * t_{j} + log(1.0 + exp(-abs({z[j]})));" for j in range(W)]
        L.append(f"    A[{o[chain.loss_y]}u + r] = s / f32({W}u);")
        L.append(f"    let gb = gl / f32({W}u);")
        L += [f"    let g{n}_{j} = gb * (1.0 / (1.0 + exp(-{z[j]})) - t_{j});" for j in range(W)]
    else:   # mse
        L.append("    var s = 0.0;")
        for j in range(W):
            L.append(f"    let e_{j} = {z[j]} - t_{j};")
            L.append(f"    s += e_{j} * e_{j};")
        L.append(f"    A[{o[chain.loss_y]}u + r] = s / f32({W}u);")
        L.append(f"    let gm = gl * 2.0 / f32({W}u);")
        L += [f"    let g{n}_{j} = gm * ({z[j]} - t_{j});" for j in range(W)]
    # backward through the ops: g<i> is the gradient of op i's output
    for i in range(n, 0, -1):
        op = chain.ops[i - 1]
        for j in range(op.fout):
            L.append(f"    D[{o[op.dy]}u + r * {op.fout}u + {j}u] = g{i}_{j};")
        if i == 1:
            break
        if op.kind == "dense":
            for k in range(op.fin):
                s = " + ".join(f"g{i}_{j} * P[{o[op.w] + k * op.fout + j}u]" for j in range(op.fout))
                L.append(f"    let g{i - 1}_{k} = {s};")
        else:
            for j in range(op.fin):
                L.append(f"    let g{i - 1}_{j} = g{i}_{j} * {op.alias}_df(v{i - 1}_{j}, v{i}_{j});")
    # weights: lane = element
    L += ["    storageBarrier();",
          "    // ---- weights: lane i takes element i of each parameter: gradient over the rows, update"]
    # one loop over the dense layers, one body: every lane-dependent load or store is a loop
    # over the SIMD lanes in lavapipe's code, so few of them in the text keep the compile short.
    # Row `fin` of a layer's (fin + 1) x fout block is its bias (input 1.0).
    dense = [(i, op) for i, op in enumerate(chain.ops, 1) if op.kind == "dense"]
    table = []
    for i, op in dense:
        src = chain.x if i == 1 else chain.ops[i - 2].y
        table.append(f"vec4<u32>({op.fin}u, {op.fout}u, {o[src]}u, {o[op.dy]}u), "
                     f"vec4<u32>({o[op.w]}u, {o[op.b] if op.b else 0}u, {1 if op.b else 0}u, 0u)")
    L += [f"    let layers = array<vec4<u32>, {2 * len(dense)}>({', '.join(table)});"]
    if opt in ("adam", "adamw"):
        L += ["    let t = counters[0] + 1u;", "    let c1 = adam_c1(t);", "    let c2 = adam_c2(t);", "    let h = adam_hyper();"]
    else:
        L += ["    let h = sgd_hyper();"]
    L += [f"    for (var l = 0u; l < {len(dense)}u; l++) {{",
          "        let q = layers[2u * l];",
          "        let w = layers[2u * l + 1u];",
          "        let n = (q.x + w.z) * q.y;",
          f"        for (var e = lid; e < n; e += {WG}u) {{",
          "            let k = e / q.y;",
          "            let j = e % q.y;",
          "            let bias = k == q.x;",
          "            let ka = min(k, q.x - 1u);",
          "            var g = 0.0;",
          "            for (var rr = 0u; rr < B; rr++) {",
          "                let a = select(A[q.z + rr * q.x + ka], 1.0, bias);",
          "                g += a * D[q.w + rr * q.y + j];",
          "            }",
          "            let i = select(w.x + e, w.y + j, bias);",
          "            G[i] = g;"]
    L += ["            " + line for line in _update(opt, "i")]
    L += ["        }", "    }"]
    L += ["    storageBarrier();",
          "    if (lid == 0u) {",
          "        counters[0] = counters[0] + 1u;",
          "        counters[1] = counters[1] + 1u;",
          "    }", "}", ""]
    return "\n".join(L)


def _update(opt: str, i: str) -> list[str]:
    if opt == "sgd":
        return [f"P[{i}] = sgd_value(h, P[{i}], g);"]
    if opt in ("momentum", "nesterov"):
        return [f"let u = momentum_value(h, P[{i}], g, M[{i}], counters[0] == 0u, {'true' if opt == 'nesterov' else 'false'});",
                f"M[{i}] = u.y;", f"P[{i}] = u.x;"]
    return [f"let u = adam_value(h, P[{i}], g, M[{i}], V[{i}], c1, c2, {'true' if opt == 'adamw' else 'false'});",
            f"M[{i}] = u.y;", f"V[{i}] = u.z;", f"P[{i}] = u.x;"]


def apply_whole_step(low, chain: Chain) -> None:
    prog = low.program
    opt = prog.meta["optimizer"]["name"]
    state = [s for s in ("m", "v") if f"{chain.params[0]}.{s}" in prog.tensors]
    acts = [chain.x, chain.t] + [op.y for op in chain.ops] + [chain.loss_y]
    dacts = [op.dy for op in chain.ops] + [chain.loss_dy]
    offsets = {}
    offsets.update(_flatten(prog, "flat:A", acts))
    offsets.update(_flatten(prog, "flat:D", dacts))
    offsets.update(_flatten(prog, "flat:P", chain.params))
    goff = _flatten(prog, "flat:G", [f"d:{p}" for p in chain.params])
    for s in state:
        _flatten(prog, f"flat:{s.upper()}", [f"{p}.{s}" for p in chain.params])
    assert all(goff[f"d:{p}"] == offsets[p] for p in chain.params)   # same layout: one index for P, G, M, V
    data_x, data_t = f"data:{chain.input}", f"data:{chain.target}"
    text = whole_step_source(chain, opt, offsets, data_x, data_t)
    name = registry.register(source_name("whole_step", text), text)
    prog.meta.setdefault("sources", {})[name] = text
    bindings = [Binding("data_x", data_x), Binding("data_t", data_t), Binding("perm", "perm"),
                Binding("hyper", "hyper"), Binding("counters", "counters", write=True),
                Binding("A", "flat:A", write=True), Binding("D", "flat:D", write=True),
                Binding("P", "flat:P", write=True), Binding("G", "flat:G", write=True)]
    bindings += [Binding(s.upper(), f"flat:{s.upper()}", write=True) for s in state]
    step = Dispatch(name, "step", tuple(bindings), (1, 1, 1), node=chain.loss)
    for phase in ("feed", "forward", "backward", "update"):
        prog.phases.pop(phase, None)
    prog.phases = {"step": [step], **prog.phases}
    prog.zeroed = []
    prog.meta["train_phases"] = ("step",)
    prog.meta["fused"] = "whole_step"


# ---------------------------------------------------------------------------- layers

def layers_fit(chain: Chain) -> bool:
    """Dense [activation] Dense [activation] ... Dense -> loss: every activation right after a
    Dense (it becomes that product's epilogue), the last op a Dense (the loss kernel writes its
    gradient)."""
    ops = chain.ops
    if ops[0].kind != "dense" or ops[-1].kind != "dense":
        return False
    return all(op.kind == "dense" or ops[i - 1].kind == "dense" for i, op in enumerate(ops))


def apply_layers(low, chain: Chain) -> None:
    """A kernel or two per layer instead of five: the forward product with its bias and
    activation, one loss kernel (forward and gradient), per Dense the dX product with the
    gradient through the activation before it and the dW product with the bias gradient, one
    update over flat parameter buffers, every step of a chunk in one compute pass."""
    from . import matmul
    prog = low.program
    opt = prog.meta["optimizer"]["name"]
    sources = prog.meta.setdefault("sources", {})
    state = [s for s in ("m", "v") if f"{chain.params[0]}.{s}" in prog.tensors]
    _flatten(prog, "flat:P", chain.params)
    _flatten(prog, "flat:G", [f"d:{p}" for p in chain.params])
    for s_ in state:
        _flatten(prog, f"flat:{s_.upper()}", [f"{p}.{s_}" for p in chain.params])
    B = chain.batch
    gather = (Binding("src_x", f"data:{chain.input}"), Binding("src_t", f"data:{chain.target}"),
              Binding("perm", "perm"), Binding("counters", "counters"),
              Binding("out_x", chain.x, write=True), Binding("out_t", chain.t, write=True))
    if chain.fin % 4 == 0:       # a row per invocation, in vec4s: 1/4 of the loads, few workgroups
        step = [Dispatch("fused/gather.wgsl", "gather2_rows4", gather, groups_1d(B),
                         (("rows", "u32", B), ("wx4", "u32", chain.fin // 4), ("wt", "u32", chain.tw)),
                         node=chain.input)]
    else:
        step = [Dispatch("fused/gather.wgsl", "gather2", gather, groups_1d(B * (chain.fin + chain.tw)),
                         (("rows", "u32", B), ("wx", "u32", chain.fin), ("wt", "u32", chain.tw)),
                         node=chain.input)]
    # every product twice: the fast kernel ("step") and one that compiles quickly, which the
    # first steps run while the fast ones wait their turn to compile (gpu/engine.py, tiers)
    quick = list(step)

    def other(d):
        step.append(d)
        quick.append(d)

    def product(m, n, k, ta, tb, epilogue, a, b, c, **binds):
        fast, slow = matmul.choose(m, n, k, ta, tb, **epilogue), matmul.quick(m, n, k, ta, tb, **epilogue)
        # a long K runs as several dispatches, as many for both (chunks of matmul.K_CHUNK)
        step.extend(matmul.dispatches(fast, a, b, c, m, n, k, sources=sources, **binds))
        quick.extend(matmul.dispatches(slow, a, b, c, m, n, k, sources=sources, **binds))

    dense = [i for i, op in enumerate(chain.ops) if op.kind == "dense"]
    act_after = {i: chain.ops[i + 1] if i + 1 < len(chain.ops) and chain.ops[i + 1].kind != "dense" else None
                 for i in dense}
    inp = {}          # dense index -> its input tensor
    for i in dense:
        op, act = chain.ops[i], act_after[i]
        x = chain.x if i == 0 else chain.ops[i - 1].y
        inp[i] = x
        product(B, op.fout, op.fin, False, False, dict(bias=op.b is not None, act=act.include if act else ""),
                x, op.w, op.y, bias=op.b, c2=act.y if act else None, node=op.node)
    last = chain.ops[-1]
    other(Dispatch("fused/loss.wgsl", chain.loss_kind,
                         (Binding("pred", last.y), Binding("tgt", chain.t), Binding("dloss", chain.loss_dy),
                          Binding("loss", chain.loss_y, write=True), Binding("dpred", last.dy, write=True)),
                         groups_1d(B), (("rows", "u32", B), ("width", "u32", last.fout)), node=chain.loss))
    for i in reversed(dense):
        op = chain.ops[i]
        if i > 0:        # dX = dZ · W^T, into the gradient of this Dense's input
            prev = chain.ops[i - 1]
            if prev.kind == "dense":
                product(B, op.fin, op.fout, False, True, {}, op.dy, op.w, prev.dy, node=op.node)
            else:        # ... and on through the activation before it
                pre = chain.ops[i - 2]
                product(B, op.fin, op.fout, False, True, dict(dact=prev.include), op.dy, op.w, prev.dy,
                        c2=pre.dy, x2=pre.y, y2=prev.y, node=op.node)
        product(op.fin, op.fout, B, True, False, dict(colsum=op.b is not None), inp[i], op.dy, f"d:{op.w}",
                db=f"d:{op.b}" if op.b else None, node=op.node)
    n4 = prog.tensors["flat:P"].size // 4
    entry = {"sgd": "sgd", "momentum": "momentum", "nesterov": "momentum"}.get(opt, "adam")
    flags = {"momentum": (("nesterov", "u32", 0),), "nesterov": (("nesterov", "u32", 1),),
             "adam": (("decoupled", "u32", 0),), "adamw": (("decoupled", "u32", 1),)}.get(opt, ())
    other(Dispatch("fused/update.wgsl", entry,
                         (Binding("P", "flat:P", write=True), Binding("G", "flat:G"),
                          *(Binding(s_.upper(), f"flat:{s_.upper()}", write=True) for s_ in state),
                          Binding("hyper", "hyper"), Binding("counters", "counters")),
                         (min(-(-n4 // 64), UPDATE_GROUPS), 1, 1), (("n4", "u32", n4), *flags)))
    other(Dispatch("ops/counters.wgsl", "advance", (Binding("counters", "counters", write=True),), (1, 1, 1)))
    for phase in ("feed", "forward", "backward", "update"):
        prog.phases.pop(phase, None)
    prog.phases = {"step": step, "step_quick": quick, **prog.phases}
    prog.zeroed = []
    prog.meta["train_phases"] = ("step",)
    prog.meta["tiers"] = {"step": "step_quick"}
    prog.meta["fused"] = "layers"


# ---------------------------------------------------------------------------- entry point

def _flat_bytes(prog: Program, chain: Chain) -> int:
    """The largest flat buffer a rewrite makes: all parameters (or their gradients) in one."""
    return 4 * _layout(chain.params, {p: prog.tensors[p].size for p in chain.params})[1]


def fuse(low, doc, max_binding: int | None = None) -> str | None:
    """Rewrite the training Program `low.program` in place with a faster equivalent. Returns the
    rewrite applied, or None (the plain Program stays, as it does when the flat parameter
    buffer would be larger than `max_binding` bytes)."""
    if not enabled() or "optimizer" not in low.program.meta:
        return None
    if low.program.meta["optimizer"]["name"] not in OPTIMIZERS:
        return None
    chain = find_chain(low, doc)
    if chain is None or (max_binding is not None and _flat_bytes(low.program, chain) > max_binding):
        return None
    if whole_step_fits(chain):
        apply_whole_step(low, chain)
        return "whole_step"
    if layers_fit(chain):
        apply_layers(low, chain)
        return "layers"
    return None
