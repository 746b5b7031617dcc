"""Built-in sets: the Playground generators and the bundled digits, iris and wine."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from . import playground
from .core import Imported, pixel_names
from .csv_import import read_csv
from .options import COMMON, DIGITS, PLAYGROUND, Option

GENERATOR_STREAM = 0  # the split uses another stream of the same seed (prepare.SPLIT_STREAM)


def assets_dir() -> Path:
    """assets/datasets in a checkout, or app/assets/datasets once installed (see pyproject)."""
    here = Path(__file__).resolve()
    for root in (here.parents[3], here.parents[2]):
        d = root / "assets" / "datasets"
        if d.is_dir():
            return d
    return here.parents[3] / "assets" / "datasets"


@dataclass(frozen=True)
class Builtin:
    description: str
    task: str
    make: Callable[[dict], Imported]  # options (defaults filled in) -> Imported
    options: dict[str, Option] = field(default_factory=dict)  # its own options besides the common ones
    scale: str = "none"  # default scaling

    @property
    def defaults(self) -> dict:
        """Every option with its default, for the editor's dataset dialog."""
        out = {k: o.default for k, o in {**COMMON, **self.options}.items()}
        out["scale"] = self.scale
        return out


def _playground(name: str, task: str) -> Builtin:
    gen = {**playground.CLASSIFIERS, **playground.REGRESSORS}[name]

    def make(opts: dict) -> Imported:
        rng = np.random.default_rng([opts["seed"], GENERATOR_STREAM])
        x, y = gen(opts["samples"], opts["noise"], rng)
        classify = task == "classification"
        return Imported(x=x.astype(np.float32), y=y if classify else y.astype(np.float32), task=task,
                        num_classes=2 if classify else None, feature_names=["x1", "x2"],
                        class_names=["0", "1"] if classify else None, source=f"built-in {name}")

    return Builtin(playground.DESCRIPTIONS[name], task, make, PLAYGROUND)


def _digits(opts: dict) -> Imported:
    with np.load(assets_dir() / "digits.npz", allow_pickle=False) as f:
        pixels, labels = f["x"], f["y"]
    x = pixels.astype(np.float32) / 16.0  # pixels count 0..16 set bits in a 4x4 block
    if opts["layout"] == "image":
        x = x.reshape(-1, 1, 8, 8)
    return Imported(x=x, y=labels.astype(np.int64), task="classification", num_classes=10,
                    feature_names=pixel_names((1, 8, 8)), class_names=[str(i) for i in range(10)],
                    source="built-in digits")


def _bundled_csv(name: str) -> Callable[[dict], Imported]:
    def make(opts: dict) -> Imported:
        imp = read_csv(assets_dir() / f"{name}.csv", label=-1, header=True)
        imp.source = f"built-in {name}"
        return imp

    return make


BUILTINS: dict[str, Builtin] = {
    **{n: _playground(n, "classification") for n in playground.CLASSIFIERS},
    **{n: _playground(n, "regression") for n in playground.REGRESSORS},
    "digits": Builtin("Handwritten digits, 8x8 pixels (UCI optical digits, 1797 samples, 10 classes)",
                      "classification", _digits, DIGITS),
    "iris": Builtin("Iris flowers: 4 measurements, 3 species (150 samples)", "classification",
                    _bundled_csv("iris"), scale="standard"),
    "wine": Builtin("Wine: 13 chemical measurements, 3 cultivars (178 samples)", "classification",
                    _bundled_csv("wine"), scale="standard"),
}
