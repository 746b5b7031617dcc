"""Training steps per second: Wiregrad beside PyTorch on the CPU running the same graph,
initial weights, batches and optimizer. Prints a table; --json writes the figures.

    python bench/train_step.py [--steps 200] [--repeats 5] [--json out.json] [example ...]
"""
from __future__ import annotations

import argparse
import json

import numpy as np

from common import ROOT, median_rate, torch_or_none

from app.model.graphfile import load
from app.session import Session

EXAMPLES = ["digits_mlp", "spiral", "digits_cnn"]


def wiregrad_rate(session: Session, steps: int, repeats: int) -> float:
    def go():
        done = 0
        while done < steps:
            before = session.step
            session.run(steps - done, stats=False)
            done += session.step - before
        session.engine.read("counters")      # wait for the GPU to finish
    go()                                     # warm up
    return median_rate(go, steps, repeats)


def torch_rate(torch, session: Session, steps: int, repeats: int) -> float:
    from torch_peer import TorchGraph, make_optimizer
    model = TorchGraph(session.doc, session.analysis, session.weights())
    opt = make_optimizer(model, session.doc.training["optimizer"])
    feeds_all = {n: torch.tensor(session._split_for(n, "train")) for n in session.low.feeds}
    rng = np.random.default_rng(0)
    n, b = len(session.data.x_train), session.batch

    def go():
        perm = torch.tensor(rng.permutation(n))
        for i in range(steps):
            j = i % (n // b)
            idx = perm[j * b:(j + 1) * b]
            feeds = {k: (v[idx] if session.doc.nodes[k].kind == "input" else v[idx].reshape(-1)
                         if session.doc.nodes[k].params.get("labels") == "classes" else v[idx]) for k, v in feeds_all.items()}
            opt.zero_grad(set_to_none=True)
            model(feeds).backward()
            opt.step()
    go()
    return median_rate(go, steps, repeats)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("examples", nargs="*", default=EXAMPLES)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json")
    args = ap.parse_args()
    torch = torch_or_none()
    if torch is None:
        print("PyTorch is not installed (pip install -e '.[bench]'): reporting Wiregrad alone")
    rows = []
    for name in args.examples:
        doc = load(ROOT / "assets" / "examples" / f"{name}.json")
        session = Session(doc, ROOT / "assets" / "examples")
        wg = wiregrad_rate(session, args.steps, args.repeats)
        pt = torch_rate(torch, session, args.steps, args.repeats) if torch else None
        rows.append({"workload": name, "batch": session.batch, "wiregrad_steps_per_s": wg,
                     "torch_steps_per_s": pt, "ratio": wg / pt if pt else None, "adapter": session.adapter})
        session.close()
    print(f"{'workload':<14}{'batch':>6}{'wiregrad/s':>12}{'torch/s':>10}{'ratio':>8}")
    for r in rows:
        pt = f"{r['torch_steps_per_s']:10.0f}" if r["torch_steps_per_s"] else f"{'-':>10}"
        ratio = f"{r['ratio']:8.2f}" if r["ratio"] else f"{'-':>8}"
        print(f"{r['workload']:<14}{r['batch']:>6}{r['wiregrad_steps_per_s']:12.0f}{pt}{ratio}")
    print(f"adapter: {rows[0]['adapter']}; torch threads: {torch.get_num_threads() if torch else '-'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
