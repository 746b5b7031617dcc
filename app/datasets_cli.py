"""`wiregrad data inspect`: show what the importer sees in a file or a built-in set."""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from app.model.datasets import BUILTINS, FORMAT_OPTIONS, DatasetError, load_dataset


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wiregrad data inspect",
        description="Import a dataset file (or build a built-in set) and print its shapes, task, classes "
                    "with counts, feature ranges and missing values, unscaled. Built-in sets: "
                    + ", ".join(BUILTINS) + ".")
    p.add_argument("source", metavar="PATH_OR_BUILTIN_NAME")
    p.add_argument("--format", choices=list(FORMAT_OPTIONS), help="file format (default: from the file name)")
    p.add_argument("--label", help="label column: a name or an index (default: the last column)")
    p.add_argument("--delimiter", help="CSV field separator, e.g. ';' or tab (default: detected)")
    head = p.add_mutually_exclusive_group()
    head.add_argument("--header", dest="header", action="store_const", const=True,
                      help="the CSV file's first row is a header (default: detected)")
    head.add_argument("--no-header", dest="header", action="store_const", const=False,
                      help="the CSV file has no header row (default: detected)")
    p.add_argument("--labels", metavar="FILE", help="labels file (IDX labels, or .npy labels)")
    p.add_argument("--size", nargs=2, type=int, metavar=("H", "W"), help="image size for an image folder")
    p.add_argument("--missing", choices=["error", "drop", "fill_mean", "fill_zero"],
                   help="what to do with missing values (default: error)")
    return p


def _spec(args: argparse.Namespace) -> dict:
    if args.source in BUILTINS and not Path(args.source).exists():
        spec = {"name": args.source}
    else:
        spec = {"path": args.source}
        if args.format:
            spec["format"] = args.format
    label = args.label
    options = {
        "label": int(label) if label is not None and label.lstrip("-").isdigit() else label,
        "delimiter": args.delimiter,
        "header": args.header,
        "labels": args.labels,
        "size": args.size,
        "missing": args.missing,
    }
    spec.update({k: v for k, v in options.items() if v is not None})
    spec["scale"] = "none"  # show the values as they are in the file
    return spec


def inspect_main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:  # --help or a usage error: argparse has printed it
        return e.code if isinstance(e.code, int) else 2
    unknown = _not_found(args)
    if unknown:
        print(f"error: {unknown}", file=sys.stderr)
        return 1
    try:
        print(load_dataset(_spec(args)).summary())
    except DatasetError as e:
        print(f"error: {_in_flags(str(e))}", file=sys.stderr)
        return 1
    return 0


def _not_found(args) -> str | None:
    """A name that is neither a file nor a built-in set: say both, and what the built-ins are."""
    if args.source in BUILTINS or os.path.lexists(args.source) or args.format:
        return None
    near = [b for b in BUILTINS if b.lower() == args.source.lower()]
    hint = f"did you mean {near[0]!r}? " if near else ""
    return (f"{args.source}: no such file or folder, and not a built-in set; {hint}"
            f"the built-in sets are {', '.join(BUILTINS)}")


FLAGS = {"label": "--label", "delimiter": "--delimiter", "header": "--header/--no-header", "labels": "--labels",
         "size": "--size", "missing": "--missing", "format": "--format", "path": "PATH"}


def _in_flags(message: str) -> str:
    """A spec problem in the words of this command: '--delimiter: ...', not 'training.dataset.delimiter: ...'."""
    for key, flag in FLAGS.items():
        message = message.replace(f"training.dataset.{key}:", f"{flag}:")
    message = re.sub(r"not an option of (\w+); its options are: .*", r"not an option for \1 data", message)
    for json_words, flag_words in (
            (", or null to detect it", ", or leave it out to detect it"),
            ('set "missing" to "drop", "fill_mean" or "fill_zero"', "give --missing drop, fill_mean or fill_zero"),
            ("set the format to csv, or leave it out", "give --format csv, or leave it out"),
            ("set it, e.g. ';', '|' or tab", "give --delimiter, e.g. ';', '|' or tab")):
        message = message.replace(json_words, flag_words)
    return message


if __name__ == "__main__":
    sys.exit(inspect_main(sys.argv[1:]))
