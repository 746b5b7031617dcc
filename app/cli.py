"""The headless command line. Each command returns an exit code and prints plain text."""
from __future__ import annotations

import argparse
import sys

from .model.graphfile import GraphFileError, load
from .model.shapes import analyse, describe


def cmd_validate(args) -> int:
    try:
        doc = load(args.graph)
    except GraphFileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    a = analyse(doc)
    if a.problems:
        print(f"{args.graph}: {len(a.problems)} problem{'s' if len(a.problems) != 1 else ''}", file=sys.stderr)
        for p in a.problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print(f"{args.graph}: ok")
    print(describe(doc, a))
    return 0


def cmd_adapters(args) -> int:
    from gpu.device import adapters_main
    return adapters_main()


def cmd_data(args) -> int:
    from .datasets_cli import inspect_main
    return inspect_main(args.rest)


def cmd_train(args) -> int:
    from .train import train_main
    return train_main(args)


def cmd_gradcheck(args) -> int:
    from .gradcheck import gradcheck_main
    return gradcheck_main(args)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wiregrad", description="Build neural networks by hand and watch them learn. "
                                "With no command, opens the editor.")
    sub = p.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="check a graph file and print its shapes")
    v.add_argument("graph")
    v.set_defaults(func=cmd_validate)

    t = sub.add_parser("train", help="train a graph file headless")
    t.add_argument("graph")
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--optimizer", choices=["sgd", "momentum", "nesterov", "adam", "adamw"])
    t.add_argument("--seed", type=int)
    t.add_argument("--weights-in", help="start from these weights (.safetensors)")
    t.add_argument("--weights-out", help="write the trained weights here (.safetensors)")
    t.add_argument("--metrics-out", help="write per-epoch metrics here (.csv)")
    t.add_argument("--json", action="store_true", help="print one JSON object with the results as the last line")
    t.set_defaults(func=cmd_train)

    g = sub.add_parser("gradcheck", help="compare the engine's gradients with finite differences")
    g.add_argument("graph")
    g.add_argument("--batch-size", type=int, default=4)
    g.add_argument("--samples", type=int, default=12, help="elements checked per tensor")
    g.add_argument("--tolerance", type=float, default=1e-3)
    g.set_defaults(func=cmd_gradcheck)

    a = sub.add_parser("adapters", help="list the GPU adapters wgpu finds")
    a.set_defaults(func=cmd_adapters)

    d = sub.add_parser("data", help="datasets: `wiregrad data inspect PATH` shows what the importer reads")
    d.add_argument("rest", nargs=argparse.REMAINDER)
    d.set_defaults(func=cmd_data)
    return p


def run(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    return args.func(args)
