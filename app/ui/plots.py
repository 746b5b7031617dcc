"""Live training plots (pyqtgraph). Each plot keeps one persistent curve per series and is
refreshed by `refresh()` from a QTimer at the panel's frame rate, never per step; the data
comes from a bounded History. Values <= 0 are masked before a log axis."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from .history import History

pg.setConfigOptions(antialias=True)


def _positive(x, y):
    keep = np.isfinite(y) & (y > 0)
    return x[keep], y[keep]


class _Plot(QWidget):
    """A titled pyqtgraph plot with an optional log-scale toggle; x in steps or epochs."""

    def __init__(self, title: str, y_label: str, log_toggle: bool = False, log: bool = False, parent=None):
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setLabel("left", y_label)
        self.plot.setLabel("bottom", "step")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.getAxis("left").enableAutoSIPrefix(False)     # "loss (x0.001)" confuses more than it helps
        self.item = self.plot.getPlotItem()
        self.item.setClipToView(True)
        self.item.setDownsampling(auto=True, mode="peak")
        self.legend = self.item.addLegend(offset=(-8, 8), labelTextSize="8pt")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        bar = QHBoxLayout()
        self.caption = QLabel(title)
        bar.addWidget(self.caption)
        bar.addStretch(1)
        self.log_box = None
        if log_toggle:
            self.log_box = QCheckBox("log scale")
            self.log_box.setChecked(log)
            self.log_box.toggled.connect(self._set_log)
            bar.addWidget(self.log_box)
        layout.addLayout(bar)
        layout.addWidget(self.plot)
        self.log = log
        self.item.setLogMode(y=log)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._versions: dict[str, int] = {}
        self.steps_per_epoch = 1
        self.x_epochs = False

    def _set_log(self, on: bool) -> None:
        self.log = on
        self.item.setLogMode(y=on)
        self._versions.clear()

    def set_x_epochs(self, on: bool, steps_per_epoch: int) -> None:
        self.x_epochs, self.steps_per_epoch = on, max(1, steps_per_epoch)
        self.plot.setLabel("bottom", "epoch" if on else "step")
        self._versions.clear()

    def curve(self, name: str, label: str, color, width: float = 1.6, symbol=None, style=Qt.SolidLine) -> pg.PlotDataItem:
        c = self.curves.get(name)
        if c is None:
            c = self.plot.plot([], [], name=label, pen=pg.mkPen(color, width=width, style=style),
                               symbol=symbol, symbolSize=5, symbolBrush=color, symbolPen=None)
            self.curves[name] = c
        return c

    def show_series(self, history: History, name: str, label: str, color, **kw) -> None:
        s = history.get(name)
        if s is None:               # no data yet (or never: no validation split): no legend entry
            return
        c = self.curve(name, label, color, **kw)
        if self._versions.get(name) == s.version:
            return
        self._versions[name] = s.version
        x, y = s.data()
        x = x / self.steps_per_epoch if self.x_epochs else x
        if self.log:
            x, y = _positive(x, y)
        c.setData(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))

    def clear(self) -> None:
        for c in self.curves.values():
            self.plot.removeItem(c)
        self.legend.clear()
        self.curves.clear()
        self._versions.clear()


class LossPlot(_Plot):
    def __init__(self, parent=None):
        super().__init__("Loss", "loss", log_toggle=True, log=True, parent=parent)

    def refresh(self, history: History) -> None:
        self.show_series(history, "loss/train", "train (batch)", "#3b82f6")
        self.show_series(history, "loss/val", "validation", "#f59e0b", width=2.2, symbol="o")
        self.show_series(history, "loss/test", "test", "#ef4444", width=2.2, symbol="o")


class AccuracyPlot(_Plot):
    def __init__(self, parent=None):
        super().__init__("Accuracy", "accuracy")
        self.plot.setYRange(0, 1.02)

    def refresh(self, history: History) -> None:
        self.show_series(history, "accuracy/val", "validation", "#f59e0b", width=2.2, symbol="o")
        self.show_series(history, "accuracy/test", "test", "#ef4444", width=2.2, symbol="o")


class GradNormPlot(_Plot):
    """‖dC/dθ‖ per parameter tensor, coloured like its node. Clicking a curve selects the
    node; a selected node's curves are drawn thick."""
    node_clicked = Signal(str)

    def __init__(self, parent=None):
        super().__init__("Gradient norm ‖dC/dθ‖ per parameter tensor", "‖dC/dθ‖", log_toggle=True, log=True,
                         parent=parent)
        self.nodes: dict[str, str] = {}       # tensor -> node
        self.colors: dict[str, str] = {}      # node -> colour
        self.selected: str | None = None

    def set_params(self, params: dict, node_colors: dict) -> None:
        """params: tensor -> node; node_colors: node -> its colour on the canvas. Nodes of one
        colour (three Dense layers) get shades of it, darkest first, so their curves differ."""
        self.clear()
        self.nodes = dict(params)
        self.colors = {}
        by_color: dict[str, list[str]] = {}
        for node in dict.fromkeys(params.values()):
            by_color.setdefault(node_colors.get(node, "#888888"), []).append(node)
        shade = {}
        for base, nodes in by_color.items():
            h, s, v, _ = pg.mkColor(base).getHsvF()
            for i, node in enumerate(nodes):
                # spread over ±0.12 of hue and a little lightness around the node's own colour
                t = i / (len(nodes) - 1) - 0.5 if len(nodes) > 1 else 0.0
                shade[node] = QColor.fromHsvF((h + 0.24 * t) % 1.0, s, min(1.0, v * (1.0 + 0.3 * t)))
        self.colors = {t: shade[n] for t, n in params.items()}
        self.node_shades = shade

    def refresh(self, history: History) -> None:
        for tensor, node in self.nodes.items():
            name = f"grad/{tensor}"
            if history.get(name) is None:
                continue
            new = name not in self.curves
            self.show_series(history, name, tensor, self.colors.get(tensor, "#888"),
                             width=3.2 if node == self.selected else 1.4, style=self._style(tensor))
            if new:
                c = self.curves[name]
                c.curve.setClickable(True, width=8)
                c.sigClicked.connect(lambda *_, n=node: self.node_clicked.emit(n))

    @staticmethod
    def _style(tensor: str):
        return Qt.DashLine if tensor.endswith(".b") else Qt.SolidLine      # biases dashed

    def highlight(self, node: str | None) -> None:
        self.selected = node
        for name, c in self.curves.items():
            tensor = name.removeprefix("grad/")
            n = self.nodes.get(tensor)
            c.setPen(pg.mkPen(self.colors.get(tensor, "#888"), width=3.2 if n == node else 1.4, style=self._style(tensor)))
            c.setZValue(10 if n == node else 0)


class HistogramPlot(QWidget):
    """Histograms of the watched node's weights and of their gradients."""

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        self.caption = QLabel("Select a node with weights to see their histogram")
        layout.addWidget(self.caption)
        self.weights = pg.PlotWidget()
        self.grads = pg.PlotWidget()
        self.weights.setLabel("bottom", "weight value")
        self.grads.setLabel("bottom", "gradient value")
        for w in (self.weights, self.grads):
            w.setLabel("left", "count")
            layout.addWidget(w)
        self._w = self.weights.plot([], [], stepMode="center", fillLevel=0, brush="#3b82f680", pen="#3b82f6")
        self._g = self.grads.plot([], [], stepMode="center", fillLevel=0, brush="#ef444480", pen="#ef4444")
        self.node = None

    def show_tensors(self, data: dict) -> None:
        self.node = data["node"]
        w = np.concatenate([np.ravel(v) for v in data["weights"].values()]) if data["weights"] else np.zeros(0)
        g = np.concatenate([np.ravel(v) for v in data["grads"].values()]) if data["grads"] else np.zeros(0)
        self.caption.setText(f"{self.node}: {w.size:,} weights" if w.size else f"{self.node} has no weights")
        for item, values in ((self._w, w), (self._g, g)):
            values = values[np.isfinite(values)]
            if values.size:
                counts, edges = np.histogram(values, bins=40)
                item.setData(edges, counts)
            else:
                item.setData([0, 1], [0])


class BoundaryPlot(QWidget):
    """For 2-D datasets: P(class 1) over the plane as a heatmap, with the training points,
    as TensorFlow Playground draws it."""

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        self.caption = QLabel("Decision boundary (2-D datasets)")
        layout.addWidget(self.caption)
        self.plot = pg.PlotWidget()
        self.plot.setAspectLocked(True)
        layout.addWidget(self.plot)
        self.image = pg.ImageItem()
        self.image.setLookupTable(_diverging_lut())
        self.image.setLevels((0.0, 1.0))
        self.plot.addItem(self.image)
        self.points = pg.ScatterPlotItem(size=6, pen=pg.mkPen("#1f2937", width=0.8))
        self.plot.addItem(self.points)
        self._points_id = None

    def show_boundary(self, data: dict) -> None:
        x0, x1, y0, y1 = data["extent"]
        grid = np.asarray(data["grid"])
        self.image.setImage(grid.T, levels=(0.0, 1.0), autoLevels=False)
        from PySide6.QtCore import QRectF
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        pts, labels = data["points"], data["labels"]
        if self._points_id is not id(pts):
            self._points_id = id(pts)
            brushes = [pg.mkBrush("#f97316" if l >= 0.5 else "#2563eb") for l in labels]
            self.points.setData(pts[:, 0], pts[:, 1], brush=brushes)
        self.caption.setText("Decision boundary: colour = P(class 1); points = training data")


def _diverging_lut() -> np.ndarray:
    """Blue (class 0) through white to orange (class 1), like TensorFlow Playground."""
    t = np.linspace(0, 1, 256)[:, None]
    blue, white, orange = np.array([37, 99, 235]), np.array([245, 245, 245]), np.array([249, 115, 22])
    lut = np.where(t < 0.5, blue + (white - blue) * (t / 0.5), white + (orange - white) * ((t - 0.5) / 0.5))
    return lut.astype(np.uint8)
