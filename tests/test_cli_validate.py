"""`wiregrad validate GRAPH.json` (python -m app validate): shapes and parameter counts for a good
graph, exit 0; every problem, or the place of the fault in a broken file, exit 1."""
from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import run
from app.paths import examples_dir

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(examples_dir().glob("*.json"))


@functools.lru_cache(maxsize=None)
def validate_example(path: Path) -> subprocess.CompletedProcess:
    return validate(path)


def validate(path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", "validate", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_are_accepted(path):
    r = validate_example(path)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert f"{path}: ok" in out
    assert "tensors:" in out and "learnable tensors:" in out
    assert re.search(r"^total parameters: [\d,]+$", out, re.M)
    assert re.search(r"^  input1\.y\s+\(\?(, \d+)+\)$", out, re.M)     # (?, 64) or an image (?, 1, 8, 8)
    assert re.search(r"^  dense1\.w\s+\(\d+, \d+\)\s+[\d,]+$", out, re.M)
    assert r.stderr == ""


def test_digits_mlp_shapes_and_count():
    r = validate_example(examples_dir() / "digits_mlp.json")
    lines = [line.split() for line in r.stdout.splitlines()]
    assert ["input1.y", "(?,", "64)"] in lines
    assert ["dense1.y", "(?,", "128)"] in lines
    assert ["softmax_cross_entropy1.loss", "(?,)"] in lines
    assert ["dense1.w", "(64,", "128)", "8,192"] in lines
    assert ["dense3.b", "(10,)", "10"] in lines
    assert "total parameters: 17,226" in r.stdout


def corrupt(tmp_path: Path, name: str, change) -> Path:
    data = json.loads((examples_dir() / name).read_text("utf-8"))
    change(data)
    out = tmp_path / name
    out.write_text(json.dumps(data, indent=1), "utf-8")
    return out


def test_a_param_set_to_abc_is_refused(tmp_path):
    bad = corrupt(tmp_path, "digits_mlp.json", lambda d: d["nodes"][1]["params"].update(units="abc"))
    r = validate(bad)
    assert r.returncode == 1
    assert r.stderr.strip() == 'error: digits_mlp.json: nodes[1].params.units: expected an integer in [1, 65536], got "abc"'
    assert r.stdout == ""


def test_a_dangling_edge_is_refused(tmp_path):
    bad = corrupt(tmp_path, "spiral.json", lambda d: d["edges"][2].update({"from": ["ghost", "y"]}))
    r = validate(bad)
    assert r.returncode == 1
    assert "spiral.json: edges[2].from: node 'ghost' does not exist" in r.stderr


def test_a_graph_with_problems_lists_them_all(tmp_path, capsys):
    def change(d):
        d["nodes"][1]["params"]["units"] = 0            # loads (right type), fails validation
        d["edges"] = [e for e in d["edges"] if e["to"] != ["binary_cross_entropy1", "target"]]
    bad = corrupt(tmp_path, "spiral.json", change)
    assert run(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}: 2 problems" in err
    assert "  dense1: param units: expected an integer in [1, 65536], got 0" in err
    assert "  binary_cross_entropy1.target: input is not connected" in err


@pytest.mark.parametrize("content, expected", [
    (b"", "not valid JSON"),
    (b"{\"format\": \"wiregrad.graph\", \"version\": 7, \"nodes\": [], \"edges\": []}", "made by a newer Wiregrad"),
    (b"\xff\xfe\x00", "not UTF-8 text"),
])
def test_broken_files_in_process(tmp_path, capsys, content, expected):
    path = tmp_path / "g.json"
    path.write_bytes(content)
    assert run(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: g.json: ") and expected in err


def test_a_missing_file(tmp_path, capsys):
    assert run(["validate", str(tmp_path / "nope.json")]) == 1
    assert "No such file" in capsys.readouterr().err


def test_every_example_in_process(capsys):
    for path in EXAMPLES:
        assert run(["validate", str(path)]) == 0
        assert "total parameters:" in capsys.readouterr().out


def test_the_editor_says_why_it_cannot_open(monkeypatch, tmp_path):
    """`wiregrad foo` (a typo for a command) and `wiregrad` with no display get a clear message
    and exit 2, instead of an editor complaining about a file or Qt aborting (rc 134)."""
    import sys as _sys
    from app.__main__ import editor_problem, main
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert "neither a command (validate, train" in editor_problem(["trian"])
    assert editor_problem([str(tmp_path / "missing.json")]) is None      # the editor says it can't open it
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    if _sys.platform.startswith("linux"):
        assert "no display" in editor_problem([]) and "xvfb-run" in editor_problem([])
        assert main([]) == 2


@pytest.mark.parametrize("change, expected", [
    (lambda t: t["optimizer"].update(lr=-1), "training.optimizer.lr: expected a number > 0, got -1"),
    (lambda t: t["optimizer"].update(lr="fast"), "training.optimizer.lr: expected a number > 0, got \"fast\""),
    (lambda t: t["optimizer"].update(name="bogus"), "training.optimizer.name: expected one of"),
    (lambda t: t["dataset"].update(test_ratio=1.5), "training.dataset.test_ratio: expected"),
    (lambda t: t["dataset"].update(samples=-10), "training.dataset.samples: expected"),
    (lambda t: t["dataset"].update(colour="red"), "training.dataset.colour: not an option of spiral"),
    (lambda t: t["dataset"].update(name="mnist_fashion"), "training.dataset.name: unknown built-in dataset 'mnist_fashion'"),
])
def test_training_settings_that_train_refuses_are_refused(tmp_path, capsys, change, expected):
    """validate says what train would say, without loading the data or touching the GPU."""
    bad = corrupt(tmp_path, "spiral.json", lambda d: change(d["training"]))
    assert run(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}: 1 problem\n" in err and f"  {expected}" in err, err
    assert run(["train", str(bad), "--epochs", "1"]) == 1
    assert expected in capsys.readouterr().err


def test_validate_loads_the_dataset_and_checks_it_fits(tmp_path, capsys):
    wrong_input = corrupt(tmp_path, "digits_mlp.json", lambda d: d["nodes"][0]["params"].update(shape=[65]))
    assert run(["validate", str(wrong_input)]) == 1
    assert "input1.y: the Input has shape (?, 65) but the dataset (built-in digits) has features (?, 64)" \
        in capsys.readouterr().err
    no_file = corrupt(tmp_path, "iris.json", lambda d: d["training"]["dataset"].update(path="nowhere.csv"))
    assert run(["validate", str(no_file)]) == 1
    assert "nowhere.csv: file not found" in capsys.readouterr().err


def test_validate_says_when_training_would_not_fit_in_memory(tmp_path, capsys, monkeypatch):
    from app.model import sizes
    monkeypatch.setattr(sizes, "available_memory", lambda: 256 << 10)      # 256 KiB free
    wide = corrupt(tmp_path, "digits_mlp.json", lambda d: [n["params"].update(units=2048) for n in d["nodes"]
                                                          if n["id"] in ("dense1", "dense2")])
    assert run(["validate", str(wide)]) == 1
    err = capsys.readouterr().err
    assert "all of it together needs about" in err and "256.0 KiB of this computer's memory is free" in err, err
    assert "The largest layers: dense2 (4,196,352), dense1 (133,120), dense3 (20,490)" in err, err
    # where the layers' outputs cost the most (evaluation batches of 1024 rows), it says that instead
    assert run(["validate", str(examples_dir() / "digits_mlp.json")]) == 1
    err = capsys.readouterr().err
    assert "mostly for the layers' outputs" in err and "batches of 1024 rows" in err and "input1" not in err, err
