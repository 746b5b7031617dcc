"""Screenshots of the editor with the residual example open, written to out/ for a person to
look at: offscreen (light, dark, and with problems showing), and a real X11 window under Xvfb
at 2x scale (skipped where xvfb-run is missing)."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from app.model.document import Edge
from app.paths import example
from app.ui.style import dark_palette
from ui_helpers import click_node, settings_dir, settle, window  # noqa: F401

pytestmark = pytest.mark.qt
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "out"


def has_color(image: QImage, color: str, tolerance: int = 6) -> bool:
    """Whether some pixel (on a coarse grid) has this colour: the category colours must show."""
    want = QColor(color)
    for y in range(0, image.height(), 3):
        for x in range(0, image.width(), 3):
            c = image.pixelColor(x, y)
            if abs(c.red() - want.red()) + abs(c.green() - want.green()) + abs(c.blue() - want.blue()) <= tolerance:
                return True
    return False


def shoot(w, name: str) -> QImage:
    OUT.mkdir(exist_ok=True)
    settle()
    image = w.grab().toImage()
    path = OUT / name
    assert image.save(str(path)), f"could not write {path}"
    return image


def test_screenshots_offscreen(window):
    w = window
    w.resize(1440, 900)
    w.open_example(example("residual_mlp"))
    settle()
    w.canvas.fit_all()
    click_node(w, "dense1")
    image = shoot(w, "editor_residual.png")
    assert image.width() >= 1440 * 0.99
    for color in ("#16a085", "#e67e22", "#c0392b", "#2e86de"):      # Core, Activation, Combine, Data
        assert has_color(image, color), f"no {color} on screen"

    w.editor.disconnect(Edge("relu2", "y", "add1", "b"))           # a problem, to see the badge
    settle()
    shoot(w, "editor_residual_problem.png")

    app = QApplication.instance()
    light = app.palette()
    try:
        app.setPalette(dark_palette())
        w.canvas.viewport().update()
        w.undo_stack.undo()
        dark = shoot(w, "editor_residual_dark.png")
        bg = dark.pixelColor(w.canvas.mapTo(w, w.canvas.rect().topLeft()).x() + 5, w.canvas.mapTo(w, w.canvas.rect().topLeft()).y() + 5)
        assert bg.lightness() < 80, "the canvas did not follow the dark palette"
    finally:
        app.setPalette(light)


CHILD = r"""
import os, sys, time
sys.path.insert(0, {root!r})
from PySide6.QtWidgets import QApplication
app = QApplication(["wiregrad"])
from app.ui.main_window import MainWindow
from app.paths import example
w = MainWindow(adapter_probe=None)
w.resize(1440, 900)
w.show()
w.open_example(example("residual_mlp"))
end = time.time() + 1.0
while time.time() < end:
    app.processEvents()
    time.sleep(0.02)
w.canvas.fit_all()
w.canvas.graph.select_only(["dense1"])
for _ in range(20):
    app.processEvents()
    time.sleep(0.02)
shot = w.screen().grabWindow(0)
shot.save({out!r})
print(app.platformName(), shot.width(), shot.height(), shot.devicePixelRatio(), flush=True)
w.ask_save_changes = lambda: "discard"
w.close()
"""


@pytest.mark.skipif(not shutil.which("xvfb-run"), reason="xvfb-run is not installed")
def test_screenshot_under_xvfb_at_2x(tmp_path):
    OUT.mkdir(exist_ok=True)
    out = OUT / "editor_xvfb_2x.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "QT_SCALE_FACTOR": "2", "WIREGRAD_RECOVERY_DIR": str(tmp_path / "rec"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    run = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 2880x1800x24", sys.executable, "-c",
                          CHILD.format(root=str(ROOT), out=str(out))],
                         env=env, capture_output=True, text=True, timeout=60)
    if "Could not load the Qt platform plugin" in run.stderr:
        pytest.skip("Qt's xcb plugin can't load here; it needs libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 "
                    "(apt-get install them)")
    assert run.returncode == 0, run.stderr[-2000:]
    platform, width, height, ratio = run.stdout.split()[-4:]
    assert platform == "xcb" and float(ratio) == 2.0
    image = QImage(str(out))
    assert image.width() == 2880
    assert has_color(image, "#16a085") and has_color(image, "#e67e22")
