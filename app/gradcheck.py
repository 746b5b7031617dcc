"""`wiregrad gradcheck`: the engine's gradients against central finite differences of the
numpy float64 reference of the same graph, for every learnable tensor (dC/dθ) and every node
output that carries a gradient (dC/dx). A product feature: it is how a new layer is proven."""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from .model import reference
from .model.layers import get_kind
from .model.lower import grad_name, init_weights, lower
from .model.sizes import BYTES_PER_ACTIVATION, memory_problem, size_problems
from .model.shapes import analyse, problem_lines


@dataclass
class TensorCheck:
    node: str
    what: str          # "param <name>" or "output <port>"
    error: float       # max |engine - fd| / max |fd| over the sampled elements


def random_feeds(doc, a, batch: int, rng) -> dict:
    """A batch of inputs: normal features; targets of the kind their loss expects."""
    feeds = {}
    for node_id in a.order:
        node = doc.nodes[node_id]
        kind = get_kind(node.kind)
        shape = tuple(batch if d is None else d for d in a.shapes[(node_id, "y")]) if kind.role in ("data", "target") else None
        if kind.role == "data":
            feeds[node_id] = rng.normal(size=shape)
        elif kind.role == "target":
            losses = [get_kind(doc.nodes[e.dst].kind).name for e in doc.consumers(node_id)]
            if node.params["labels"] == "classes":
                classes = 2
                for e in doc.consumers(node_id):
                    pred = doc.edge_into(e.dst, "pred")
                    if pred is not None and get_kind(doc.nodes[e.dst].kind).name == "softmax_cross_entropy":
                        classes = a.shapes[(pred.src, pred.src_port)][-1]
                feeds[node_id] = rng.integers(0, classes, size=shape).astype(np.float64)
            elif "binary_cross_entropy" in losses:
                feeds[node_id] = rng.uniform(0, 1, size=shape)
            else:
                feeds[node_id] = rng.normal(size=shape)
    return {k: v.astype(np.float32).astype(np.float64) for k, v in feeds.items()}


def engine_gradients(doc, a, weights: dict, feeds: dict, batch: int, device=None) -> tuple[dict, dict]:
    """Run forward and backward once on the GPU; returns (all tensors read back, lowered)."""
    from gpu.engine import Engine
    low = lower(doc, batch, analysis=a, weights=weights, gradients=True)
    engine = Engine(low.program, device)
    try:
        for node_id, value in feeds.items():
            engine.write(low.feeds[node_id], value.astype(np.float32))
        engine.run(["forward", "backward"])
        return {name: engine.read(name) for name in low.program.tensors}, low
    finally:
        engine.destroy()


def check(doc, batch: int = 4, samples: int = 12, seed: int = 0, eps: float = 1e-6, device=None) -> list[TensorCheck]:
    a = analyse(doc)
    if a.problems:
        raise ValueError("the graph has problems:\n" + "\n".join(f"  {p}" for p in problem_lines(a.problems)))
    from gpu.device import get_device
    too_large = size_problems(a, batch, (device or get_device()).limits["max-storage-buffer-binding-size"])
    # the float64 reference forward and every tensor read back: ~4x the engine's per activation
    too_large += [p for p in [memory_problem(a, batch, activation_bytes=4 * BYTES_PER_ACTIVATION)] if p]
    if too_large:     # before numpy draws the weights (a MemoryError otherwise)
        raise ValueError("the graph is too large to train here:\n" + "\n".join(f"  {p}" for p in too_large))
    rng = np.random.default_rng(seed)
    weights = {k: v.astype(np.float32).astype(np.float64) for k, v in init_weights(doc, a, seed).items()}
    feeds = random_feeds(doc, a, batch, rng)
    got, low = engine_gradients(doc, a, weights, feeds, batch, device)
    # like with like: the engine ran one training step's forward at step 0 (batch statistics,
    # dropout masks), so the reference does too
    base = reference.forward(doc, a, weights, feeds, training=low.training, step=0)

    def cost_with(weights_=weights, overrides=None):
        return reference.cost(doc, a, reference.forward(doc, a, weights_, feeds, overrides,
                                                        training=low.training, step=0))

    results = []
    for tensor, (node_id, wname, shape) in low.params.items():
        if grad_name(tensor) not in low.program.tensors:
            continue
        def perturbed(i, h, tensor=tensor):
            w = dict(weights)
            w[tensor] = weights[tensor].copy()
            w[tensor].flat[i] += h
            return cost_with(w)
        results.append(TensorCheck(node_id, f"param {wname}",
                                   _compare(got[grad_name(tensor)], weights[tensor].size, perturbed, rng, samples, eps)))
    for (node_id, port), tensor in low.outputs.items():
        if grad_name(tensor) not in low.program.tensors or tensor in low.params or node_id in low.losses:
            continue
        value = base[(node_id, port)]
        def perturbed(i, h, key=(node_id, port), value=value):
            v = value.copy()
            v.flat[i] += h
            return cost_with(overrides={key: v})
        results.append(TensorCheck(node_id, f"output {port}", _compare(got[grad_name(tensor)], value.size, perturbed, rng, samples, eps)))
    return results


KINK = 1e-4   # one-sided differences further apart than this (relative) mark a kink


def _compare(engine_grad, size, perturbed, rng, samples, eps) -> float:
    """max |engine - fd| / max |fd| over the sampled elements. Where the cost has a kink
    within ±eps of an element (a ReLU at 0, tied maxima in MaxPool: ReLU then MaxPool ties
    at 0 all the time), central differences average the two sides and no single gradient
    matches them; there the engine's value only has to lie between the one-sided
    differences (it is then a one-sided derivative, or between them)."""
    idx = rng.choice(size, size=min(samples, size), replace=False)
    c0 = perturbed(idx[0], 0.0)
    up = np.array([perturbed(i, eps) for i in idx])
    down = np.array([perturbed(i, -eps) for i in idx])
    fd = (up - down) / (2 * eps)
    right, left = (up - c0) / eps, (c0 - down) / eps
    mine = engine_grad.astype(np.float64)[idx]
    scale = max(np.abs(fd).max(), np.abs(mine).max(), 1e-7)
    off = np.abs(mine - fd)
    kink = np.abs(right - left) > KINK * scale
    lo, hi = np.minimum(np.minimum(left, right), fd), np.maximum(np.maximum(left, right), fd)
    off[kink] = np.maximum(0.0, np.maximum(lo - mine, mine - hi))[kink]
    return float(off.max() / scale)


def _gpu_error():
    try:
        from gpu.errors import GpuError      # no adapter, a kernel that failed
        return GpuError
    except ImportError:
        return RuntimeError


def gradcheck_main(args) -> int:
    from .model.graphfile import GraphFileError, load
    try:
        doc = load(args.graph)
        results = check(doc, batch=args.batch_size, samples=args.samples)
    except (GraphFileError, ValueError, _gpu_error()) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except MemoryError:          # past the estimate (a container's limit, ulimit -v): in words
        print("error: not enough memory for this graph's gradient check; try a smaller --batch-size",
              file=sys.stderr)
        return 1
    worst: dict[str, TensorCheck] = {}
    for r in results:
        if r.node not in worst or r.error > worst[r.node].error:
            worst[r.node] = r
    failed = [r for r in worst.values() if not r.error <= args.tolerance]
    for r in worst.values():
        mark = "FAIL" if r in failed else "ok"
        print(f"{mark:>4}  {r.node:<28} worst relative error {r.error:.2e}  ({r.what})")
    print(f"{len(worst) - len(failed)} nodes ok, {len(failed)} failed (tolerance {args.tolerance:g})")
    return 1 if failed else 0
