"""`wiregrad` opens the editor; `wiregrad validate|train|gradcheck|adapters|data ...` run headless."""
from __future__ import annotations

import os
import sys
from pathlib import Path

COMMANDS = ("validate", "train", "gradcheck", "adapters", "data")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and (argv[0] in COMMANDS or argv[0] in ("-h", "--help")):
        try:
            from .cli import run
            return run(argv)
        except KeyboardInterrupt:      # before training started (train handles its own Ctrl-C)
            print("\ninterrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:        # `wiregrad data inspect x | head -1`: the reader left; quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # (Python's recipe)
            return 141
    problem = editor_problem(argv)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    from .ui.main_window import run_editor   # Qt is imported only when the editor opens
    return run_editor(argv)


def editor_problem(argv: list[str]) -> str | None:
    """Why `wiregrad ARGS` can't open the editor, in words, before Qt aborts with its own."""
    first = next((a for a in argv if not a.startswith("-")), None)
    if first and not Path(first).exists() and not first.endswith(".json"):
        return (f"{first!r} is neither a command ({', '.join(COMMANDS)}) nor a graph file; "
                "`wiregrad --help` lists the commands")
    if sys.platform.startswith("linux") and not any(os.environ.get(v) for v in
                                                    ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        return ("no display to open the editor on (neither DISPLAY nor WAYLAND_DISPLAY is set). Run it in a "
                "desktop session or under `xvfb-run wiregrad`; the headless commands work anywhere "
                "(`wiregrad --help`)")
    return None


if __name__ == "__main__":
    sys.exit(main())
