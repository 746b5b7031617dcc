"""The headless command line. Each command returns an exit code and prints plain text."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .model.graphfile import GraphFileError, load
from .model.shapes import analyse, describe, problem_lines


def cmd_validate(args) -> int:
    try:
        doc = load(args.graph)
    except GraphFileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    a = analyse(doc)
    problems = problem_lines(a.problems) + training_problems(doc, a, Path(args.graph).resolve().parent)
    if problems:
        print(f"{args.graph}: {len(problems)} problem{'s' if len(problems) != 1 else ''}", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print(f"{args.graph}: ok")
    print(describe(doc, a))
    return 0


def training_problems(doc, analysis, base_dir: Path) -> list[str]:
    """What `train` would refuse, short of the GPU: the optimizer settings, the dataset (loaded)
    and how it fits the graph, and whether the run fits in memory."""
    from .model.binding import check_binding
    from .model.datasets import DatasetError, load_dataset, validate_spec
    from .model.optim import validate_settings
    from .model.sizes import memory_problem
    from .session import batch_problem, eval_batch_rows
    t = doc.training
    spec = t.get("dataset", {"name": "digits"})
    spec_problems = validate_spec(spec)
    problems = validate_settings(t.get("optimizer", {})) + spec_problems
    if analysis.problems:          # shapes unknown: nothing more to check against
        return problems
    batch = int(t.get("batch_size", 64))
    data = None
    if not spec_problems:
        try:
            data = load_dataset(spec, base_dir)
        except DatasetError as e:
            problems.append(str(e))
    if data is not None:
        problems += [str(p) for p in check_binding(doc, analysis, data)]
        problems += [p for p in [batch_problem(batch, len(data.x_train))] if p]
    eval_rows = eval_batch_rows(data) if data is not None else 0
    too_much = memory_problem(analysis, batch, eval_rows)
    if too_much:
        problems.append(str(too_much))
    return problems


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


def _number(kind, low, inclusive=True, what=None, high=None):
    """An argparse type: kind (int/float) >= low (or > low), <= high if given, finite, with a
    plain message. The bounds are the graph file's (its schema), so a flag takes what a file may."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what or kind.__name__}, got {text!r}") from None
        if value != value or value in (float("inf"), float("-inf")) or (value < low if inclusive else value <= low):
            raise argparse.ArgumentTypeError(f"expected {what or kind.__name__} {'>=' if inclusive else '>'} {low}, got {text}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"expected {what or kind.__name__} <= {high}, got {text}")
        return value
    return parse


def _file_name(text: str) -> str:
    """An argparse type: a path that is not empty (an empty one would silently write nothing)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a file name, got an empty one")
    return text


POSITIVE = _number(int, 1, what="a whole number")
BATCH = _number(int, 1, what="a whole number", high=1_048_576)
EPOCHS = _number(int, 0, what="a whole number", high=1_000_000)      # 0 evaluates only
SEED = _number(int, 0, what="a whole number", high=2**32 - 1)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wiregrad", description="Build neural networks by hand and watch them learn. "
                                "With no command, opens the editor.")
    sub = p.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="check a graph file and print its shapes")
    v.add_argument("graph")
    v.set_defaults(func=cmd_validate)

    t = sub.add_parser("train", help="train a graph file headless")
    t.add_argument("graph")
    t.add_argument("--epochs", type=EPOCHS, help="0 evaluates the starting (or --weights-in) weights without training")
    t.add_argument("--batch-size", type=BATCH)
    t.add_argument("--lr", type=_number(float, 0, inclusive=False, what="a number"))
    t.add_argument("--optimizer", choices=["sgd", "momentum", "nesterov", "adam", "adamw"])
    t.add_argument("--seed", type=SEED)
    t.add_argument("--weights-in", type=_file_name, help="start from these weights (.safetensors)")
    t.add_argument("--weights-out", type=_file_name, help="write the trained weights here (.safetensors)")
    t.add_argument("--metrics-out", type=_file_name, help="write per-epoch metrics here (.csv)")
    t.add_argument("--json", action="store_true", help="print one JSON object with the results as the last line")
    t.set_defaults(func=cmd_train)

    g = sub.add_parser("gradcheck", help="compare the engine's gradients with finite differences")
    g.add_argument("graph")
    g.add_argument("--batch-size", type=POSITIVE, default=4)
    g.add_argument("--samples", type=POSITIVE, default=12, help="elements checked per tensor")
    g.add_argument("--tolerance", type=_number(float, 0, inclusive=False, what="a number"), default=1e-3)
    g.set_defaults(func=cmd_gradcheck)

    a = sub.add_parser("adapters", help="list the GPU adapters wgpu finds")
    a.set_defaults(func=cmd_adapters)

    d = sub.add_parser("data", help="datasets: `wiregrad data inspect PATH` shows what the importer reads")
    d.add_argument("action", choices=["inspect"], help="what to do with the dataset")
    d.add_argument("rest", nargs=argparse.REMAINDER, help="a file, folder or built-in name, and options "
                   "(see `wiregrad data inspect --help`)")
    d.set_defaults(func=cmd_data)
    return p


def run(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    return args.func(args)
