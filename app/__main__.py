"""`wiregrad` opens the editor; `wiregrad validate|train|gradcheck|adapters|data ...` run headless."""
from __future__ import annotations

import sys

COMMANDS = ("validate", "train", "gradcheck", "adapters", "data")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and (argv[0] in COMMANDS or argv[0] in ("-h", "--help")):
        from .cli import run
        return run(argv)
    from .ui.main_window import run_editor   # Qt is imported only when the editor opens
    return run_editor(argv)


if __name__ == "__main__":
    sys.exit(main())
