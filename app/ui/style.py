"""The editor's look in one place: colours derived from the application palette (so the canvas
follows the system's light or dark scheme), kind names as people read them, and icons.

Icons are SVG files in assets/icons drawn with `currentColor`; they are tinted with the palette's
text colour and rendered per device pixel ratio, so they stay crisp on high-DPI screens.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

from ..model.layers import get_kind
from ..paths import assets_dir

UNKNOWN_COLOR = "#7f8c8d"
_WORDS = {"relu": "ReLU", "gelu": "GELU", "elu": "ELU", "silu": "SiLU", "mse": "MSE", "matmul": "MatMul",
          "conv2d": "Conv2D", "pool2d": "Pool2D"}


def display_name(kind: str) -> str:
    """'softmax_cross_entropy' -> 'SoftmaxCrossEntropy', as validation messages name kinds."""
    return "".join(_WORDS.get(part, part.capitalize()) for part in kind.split("_"))


def kind_color(kind: str) -> QColor:
    spec = get_kind(kind)
    return QColor(spec.color if spec else UNKNOWN_COLOR)


def is_dark(palette: QPalette | None = None) -> bool:
    palette = palette or QGuiApplication.palette()
    return palette.color(QPalette.Window).lightness() < 128


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    return QColor.fromRgbF(*(a.getRgbF()[i] * (1 - t) + b.getRgbF()[i] * t for i in range(3)))


@dataclass(frozen=True)
class Colors:
    dark: bool
    canvas: QColor
    grid: QColor
    node: QColor
    node_border: QColor
    text: QColor
    dim_text: QColor
    wire: QColor
    label_bg: QColor
    selection: QColor
    error: QColor
    ok: QColor
    flow: QColor
    highlight: QColor


def colors() -> Colors:
    """The canvas colours for the current application palette."""
    p = QGuiApplication.palette()
    return _colors(p.color(QPalette.Window).rgba(), p.color(QPalette.Base).rgba(),
                   p.color(QPalette.Text).rgba(), p.color(QPalette.Highlight).rgba())


@lru_cache(maxsize=8)
def _colors(window: int, base: int, text: int, highlight: int) -> Colors:
    window, base, text, hl = QColor.fromRgba(window), QColor.fromRgba(base), QColor.fromRgba(text), QColor.fromRgba(highlight)
    dark = window.lightness() < 128
    canvas = _mix(window, QColor("black") if dark else QColor("white"), 0.35)
    return Colors(
        dark=dark,
        canvas=canvas,
        grid=_mix(canvas, text, 0.16),
        node=_mix(base, window, 0.25) if not dark else _mix(window, QColor("white"), 0.08),
        node_border=_mix(canvas, text, 0.35),
        text=text,
        dim_text=_mix(canvas, text, 0.6),
        wire=_mix(canvas, text, 0.55),
        label_bg=_mix(canvas, text, 0.07),
        selection=hl,
        error=QColor("#ff6b5e") if dark else QColor("#d0312d"),
        ok=QColor("#4cc47a") if dark else QColor("#1e8c4e"),
        flow=QColor("#ffb347") if dark else QColor("#e67e00"),
        highlight=QColor("#ff5cb8") if dark else QColor("#c2187a"),
    )


def scene_font(pixels: int, bold: bool = False) -> QFont:
    """Fonts on the canvas are sized in scene pixels so text scales with the zoom."""
    f = QFont(QGuiApplication.font())
    f.setPixelSize(pixels)
    f.setBold(bold)
    return f


# ---- icons -----------------------------------------------------------------------------

def _render_svg(svg: bytes, size: int, ratio: float) -> QPixmap:
    pm = QPixmap(int(size * ratio), int(size * ratio))
    pm.fill(Qt.transparent)
    painter = QPainter(pm)
    QSvgRenderer(QByteArray(svg)).render(painter, QRectF(0, 0, pm.width(), pm.height()))
    painter.end()
    pm.setDevicePixelRatio(ratio)
    return pm


def icon(name: str) -> QIcon:
    """assets/icons/<name>.svg tinted with the palette's text colour (empty if missing)."""
    text = QGuiApplication.palette().color(QPalette.WindowText).name()
    return _icon(name, text)


@lru_cache(maxsize=64)
def _icon(name: str, color: str) -> QIcon:
    path = assets_dir() / "icons" / f"{name}.svg"
    result = QIcon()
    if not path.exists():
        return result
    svg = path.read_bytes().replace(b"currentColor", color.encode())
    ratio = max(2.0, QGuiApplication.primaryScreen().devicePixelRatio() if QGuiApplication.primaryScreen() else 1.0)
    for size in (16, 20, 24, 32):
        result.addPixmap(_render_svg(svg, size, ratio))
    return result


@lru_cache(maxsize=64)
def swatch(color: str) -> QIcon:
    """A small rounded square in a category colour, for the palette and quick-add lists."""
    result = QIcon()
    for size, ratio in ((16, 1.0), (16, 2.0), (24, 2.0)):
        pm = QPixmap(int(size * ratio), int(size * ratio))
        pm.fill(Qt.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.Antialiasing)
        p.setPen(Qt.NoPen)
        p.setBrush(QColor(color))
        inset = size * ratio * 0.18
        p.drawRoundedRect(QRectF(inset, inset, size * ratio - 2 * inset, size * ratio - 2 * inset), 3 * ratio, 3 * ratio)
        p.end()
        pm.setDevicePixelRatio(ratio)
        result.addPixmap(pm)
    return result


def dark_palette() -> QPalette:
    """A dark palette for platforms that report no scheme (WIREGRAD_THEME=dark forces it)."""
    p = QPalette()
    window, base, text = QColor("#2b2d31"), QColor("#1f2023"), QColor("#e6e6e6")
    for role, color in ((QPalette.Window, window), (QPalette.WindowText, text), (QPalette.Base, base),
                        (QPalette.AlternateBase, QColor("#26282c")), (QPalette.Text, text),
                        (QPalette.Button, QColor("#35373c")), (QPalette.ButtonText, text),
                        (QPalette.ToolTipBase, QColor("#3a3c42")), (QPalette.ToolTipText, text),
                        (QPalette.Highlight, QColor("#3d8ee6")), (QPalette.HighlightedText, QColor("white")),
                        (QPalette.PlaceholderText, QColor("#8a8d93")), (QPalette.Link, QColor("#6cb4ff"))):
        p.setColor(role, color)
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        p.setColor(QPalette.Disabled, role, QColor("#7d8086"))
    return p
