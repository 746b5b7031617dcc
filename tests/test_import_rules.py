"""The import rules of DESIGN.md: app/model imports neither Qt nor wgpu; gpu never imports Qt or
app; app/ui reaches the GPU only through app/ui/runner.py.

Held two ways: by importing with the forbidden packages blocked (sys.modules[name] = None makes
any import of them fail), and by reading the source of every file (which also sees imports
inside functions that an import alone would not run)."""
from __future__ import annotations

import ast
import functools
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCKED = ("PySide6", "pyqtgraph", "wgpu")
# test-only packages: the runtime (a plain `pip install .`) must not need them
TEST_ONLY = ("scipy", "torch", "hypothesis", "pytest")


def run_blocked(code: str) -> subprocess.CompletedProcess:
    prelude = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        for name in {BLOCKED + TEST_ONLY!r}:
            sys.modules[name] = None
    """)
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_model_and_gpu_program_import_without_qt_or_wgpu():
    r = run_blocked("""
        import importlib, pkgutil
        import app.model
        from app.model.layers import all_kinds
        kinds = all_kinds()
        assert len(kinds) >= 18, sorted(kinds)
        for name in sorted(kinds):
            importlib.import_module("app.model.layers." + name)
        import app.model.document, app.model.shapes, app.model.graphfile, app.model.lower
        import gpu.program
        # and every other module of the model package, whoever wrote it
        import app.model as pkg
        for info in pkgutil.walk_packages(pkg.__path__, "app.model."):
            importlib.import_module(info.name)
        loaded = [m for m in sys.modules if m.split(".")[0] in ("PySide6", "pyqtgraph", "wgpu")
                  and sys.modules[m] is not None]
        assert not loaded, loaded
        print("ok", len(kinds))
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok ")


def test_the_blocking_works():
    """The harness above can fail: a module that needs wgpu does not import under it."""
    r = run_blocked("import gpu.device")
    assert r.returncode != 0 and "import of wgpu halted" in r.stderr, r.stderr
    r = run_blocked("import PySide6.QtCore")
    assert r.returncode != 0


# ---- the same rules, read from the source -----------------------------------------------

def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) for every import in a file, function-level ones included."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    if path.name == "__init__.py":
        package = ".".join(path.relative_to(ROOT).parts[:-1])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{a.name}") for a in node.names]   # from gpu import device
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            found.append((node.lineno, node.args[0].value))
    return found


def top(module: str) -> str:
    return module.split(".")[0]


def py_files(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


@functools.lru_cache(maxsize=None)
def gpu_bound_modules() -> frozenset[str]:
    """gpu modules that import wgpu, directly or through another gpu module."""
    deps = {".".join(p.relative_to(ROOT).with_suffix("").parts): {m for _, m in imports_of(p)} for p in py_files("gpu")}
    bound = {m for m, imps in deps.items() if any(top(i) == "wgpu" for i in imps)}
    changed = True
    while changed:
        changed = False
        for m, imps in deps.items():
            if m not in bound and imps & bound:
                bound.add(m)
                changed = True
    return frozenset(bound)


def violations(folder: str, forbidden, skip=()) -> list[str]:
    out = []
    for path in py_files(folder):
        rel = path.relative_to(ROOT).as_posix()
        if rel in skip:
            continue
        for line, module in imports_of(path):
            if forbidden(module):
                out.append(f"{rel}:{line} imports {module}")
    return out


def test_gpu_imports_neither_qt_nor_app():
    assert py_files("gpu"), "no gpu package?"
    assert violations("gpu", lambda m: top(m) in ("PySide6", "pyqtgraph", "app")) == []


def test_model_imports_neither_qt_nor_wgpu_nor_the_ui():
    assert violations("app/model", lambda m: top(m) in BLOCKED or m.startswith("app.ui")
                      or m in gpu_bound_modules()) == []


def test_only_the_runner_imports_wgpu_in_the_ui():
    assert violations("app/ui", lambda m: top(m) == "wgpu", skip={"app/ui/runner.py"}) == []


def test_ui_reaches_the_gpu_only_through_the_runner():
    """Not only wgpu itself: a gpu module that loads wgpu (gpu.device, gpu.engine...) counts too.
    gpu.program and gpu.errors are plain Python and may be used anywhere."""
    bound = gpu_bound_modules()
    assert "gpu.device" in bound and "gpu.program" not in bound
    found = violations("app/ui", lambda m: top(m) == "wgpu" or m in bound, skip={"app/ui/runner.py"})
    assert found == [], "move these into app/ui/runner.py: " + "; ".join(found)


def test_the_static_check_sees_every_form_of_import(tmp_path, monkeypatch):
    fake = tmp_path / "gpu"
    fake.mkdir()
    (fake / "bad.py").write_text(textwrap.dedent("""
        import os
        from PySide6 import QtCore
        def later():
            import pyqtgraph as pg
            from app.model import document
            import importlib
            importlib.import_module("app.ui")
    """))
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    found = violations("gpu", lambda m: top(m) in ("PySide6", "pyqtgraph", "app"))
    assert {f.split(" imports ")[1] for f in found} >= {"PySide6", "pyqtgraph", "app.model", "app.ui"}
    assert not any(f.endswith("imports os") for f in found)


@pytest.mark.parametrize("folder", ["app", "gpu"])
def test_every_source_file_parses(folder):
    for path in py_files(folder):
        ast.parse(path.read_text("utf-8"), filename=str(path))
