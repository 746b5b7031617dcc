"""Where the bundled assets are: `<checkout>/assets`, or `app/assets` in an installed copy."""
from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def assets_dir() -> Path:
    for candidate in (_HERE / "assets", _HERE.parent / "assets"):
        if (candidate / "schema").is_dir():
            return candidate
    raise FileNotFoundError(f"Wiregrad's assets folder is missing (looked in {_HERE / 'assets'} and {_HERE.parent / 'assets'})")


def examples_dir() -> Path:
    return assets_dir() / "examples"


def example(name: str) -> Path:
    return examples_dir() / (name if name.endswith(".json") else f"{name}.json")
