"""Live training plots (pyqtgraph). Each plot keeps one persistent curve per series and is
refreshed by `refresh()` from a QTimer at the panel's frame rate, never per step; the data
comes from a bounded History. Values <= 0 are masked before a log axis.

Painting cost matters more than it looks: PySide6 holds the GIL while Qt paints, so every
millisecond the GUI spends stroking a curve is a millisecond the training worker can't run
Python (and can't collect a finished GPU readback). Qt's raster engine strokes a pen wider
than one pixel as a polygon, which for a noisy 2,000-point curve cost 50-1,250 ms per paint
here against 7-20 ms with a one-pixel pen. So the live curves are one pixel wide; emphasis
comes from colour and from dimming the others, and per-batch figures are drawn smoothed
(a centred moving average, geometric on a log axis) over a faint raw curve."""
from __future__ import annotations

import math
import re

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from .history import History

pg.setConfigOptions(antialias=True)
NARROW_PX = 300            # a plot narrower than this hides its legend and shortens its caption
SMOOTH_POINTS = 40         # a smoothed curve averages over about 1/40 of its points
SMOOTH_DRAWN = 800         # and is drawn through at most this many of them


def _positive(x, y):
    keep = np.isfinite(y) & (y > 0)
    return x[keep], y[keep]


def smooth(y: np.ndarray, log: bool = False, fraction: int = SMOOTH_POINTS) -> np.ndarray:
    """A centred moving average over about len(y)/fraction points (none below 2*fraction
    points); the window shrinks at both ends, so the newest value still moves the curve.
    Geometric (in log space) for a log axis, where y must be > 0."""
    n = len(y)
    half = n // (2 * fraction)
    if half < 1:
        return y
    v = np.log(y) if log else np.asarray(y, dtype=np.float64)
    c = np.concatenate([[0.0], np.cumsum(v)])
    i = np.arange(n)
    lo, hi = np.maximum(i - half, 0), np.minimum(i + half + 1, n)
    out = (c[hi] - c[lo]) / (hi - lo)
    return np.exp(out) if log else out


def _faint(color, alpha: int = 70) -> QColor:
    c = QColor(pg.mkColor(color))
    c.setAlpha(alpha)
    return c


class UnpiledAxis(pg.AxisItem):
    """An axis whose log-scale labels don't pile up: under about two decades pyqtgraph labels
    every minor tick (2..9 x 10^n), and on a short plot "0.9 0.8 0.7 0.6" overlap. A minor tick
    is kept only a line of text away from the ticks kept before it, major ticks first."""

    def tickValues(self, minVal, maxVal, size):
        levels = super().tickValues(minVal, maxVal, size)
        if not self.logMode or maxVal <= minVal or size <= 0:
            return levels
        font = self.style.get("tickFont") or self.font()
        room = 1.15 * QFontMetrics(font).height() * (maxVal - minVal) / size     # a line of text, in log units
        kept: list[float] = []

        def rank(v):                # decades first, then 2 and 5 times one, then the rest
            mantissa = round(10 ** (v - np.floor(v)), 6)
            return 0 if mantissa == 1 else 1 if mantissa in (2, 5) else 2
        out = []
        for spacing, values in levels:
            mine = []
            for v in sorted(values, key=rank):
                if all(abs(v - k) >= room for k in kept):
                    mine.append(v)
                    kept.append(v)
            out.append((spacing, sorted(mine)))
        return out


class StepAxis(pg.AxisItem):
    """An x axis that, counting steps, ticks whole steps only (not 1.2, 1.4 on a short run);
    counting epochs, fractions are real."""
    whole = True

    def tickValues(self, minVal, maxVal, size):
        levels = super().tickValues(minVal, maxVal, size)
        if not self.whole:
            return levels
        levels = [(spacing, [v for v in values if abs(v - round(v)) < 1e-9]) for spacing, values in levels]
        if not any(values for _, values in levels):      # a view of a step or two: its whole steps
            lo, hi = sorted((minVal, maxVal))
            levels = [(1.0, [float(v) for v in range(math.ceil(lo), math.floor(hi) + 1)])]
        return levels

    def tickStrings(self, values, scale, spacing):
        if self.whole:                 # "2", not "2.0" where the finer level set the format
            return [f"{round(v * scale):,}".replace(",", "") for v in values]
        return super().tickStrings(values, scale, spacing)


def _margins(lo: float, hi: float, vlo: float, vhi: float):
    """A new (lo, hi) range with 15% margins if the data leaves the view or fills less than
    about a third of it, else None."""
    span = max(hi - lo, 1e-6 * max(abs(lo), abs(hi), 1e-12))
    if lo < vlo or hi > vhi or (vhi - vlo) > 3 * 1.3 * span:
        return lo - 0.15 * span, hi + 0.15 * span
    return None


def follow_range(vb, x0: float, x1: float, y0: float, y1: float, fixed_y=None, grow_x: bool = True) -> bool:
    """Keep [x0, x1] x [y0, y1] (view coordinates: log10 on a log axis) in view, changing the
    range only when the data leaves it or fills less than about a third of it: with grow_x
    (x is time) x starts at x0 and grows 30% at a time, otherwise x keeps margins as y does.
    Each change of range regenerates both axes' ticks and labels (~5 ms here), so a range
    that changed on every frame cost more than the curves. Returns whether it changed."""
    (vx0, vx1), (vy0, vy1) = vb.viewRange()
    if grow_x:
        x_span = max(x1 - x0, 1e-9)
        new_x = None
        if x0 < vx0 or x1 > vx1 or (vx1 - vx0) > 3 * x_span:
            new_x = (x0, x0 + 1.3 * x_span if x1 > x0 else x0 + 1.0)
    else:
        new_x = _margins(x0, x1, vx0, vx1)
    if fixed_y is not None:
        new_y = tuple(fixed_y) if (vy0, vy1) != tuple(fixed_y) else None
    else:
        new_y = _margins(y0, y1, vy0, vy1)
    if new_x or new_y:
        vb.setRange(xRange=new_x, yRange=new_y, padding=0, update=True, disableAutoRange=False)
        return True
    return False


def _themed(plot: pg.PlotWidget) -> None:
    """Background, axes and text from the application's palette (light or dark), so the plots
    look like part of the window rather than black holes in a light one."""
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication
    pal = QApplication.instance().palette() if QApplication.instance() else QPalette()
    fg = pal.color(QPalette.WindowText)
    plot.setBackground(pal.color(QPalette.Base))
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(fg))
        axis.setTextPen(pg.mkPen(fg))


class _Plot(QWidget):
    """A titled pyqtgraph plot with an optional log-scale toggle; x in steps or epochs."""

    def __init__(self, title: str, y_label: str, log_toggle: bool = False, log: bool = False, parent=None):
        super().__init__(parent)
        self.plot = pg.PlotWidget(axisItems={"left": UnpiledAxis("left"), "bottom": StepAxis("bottom")})
        _themed(self.plot)
        self.plot.setLabel("left", y_label)
        self.plot.setLabel("bottom", "step")
        # no grid: pyqtgraph draws it with the axes, whose area then spans the plot, so every
        # curve update repainted both axes and their labels (about half of each frame's cost)
        self.plot.getAxis("left").enableAutoSIPrefix(False)     # "loss (x0.001)" confuses more than it helps
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)   # nor "step (x1000)", relabelled as it grows
        self.item = self.plot.getPlotItem()
        self.item.setClipToView(True)
        self.item.setDownsampling(auto=True, mode="peak")
        # the view follows the data in jumps (see _follow), not on every frame: each change of
        # range regenerates both axes' ticks and labels (~5 ms a frame here)
        self.item.disableAutoRange()
        self.follow = True                 # off once the user pans or zooms; the A button restores it
        self.item.getViewBox().sigRangeChangedManually.connect(self._manual)
        self._bounds: dict[str, tuple] = {}
        self._dirty = False
        self.fixed_y: tuple[float, float] | None = None
        # the legend sits beside the plot, not over it: inside, it covered the newest points
        self.legend = pg.LegendItem(labelTextSize="8pt", labelTextColor=self.plot.getAxis("left").textPen().color(),
                                    frame=False)
        self.legend.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)   # its rows, not the plot's height
        self.item.legend = self.legend          # named curves join it (PlotItem.addItem)
        self.item.layout.addItem(self.legend, 2, 3, Qt.AlignTop)
        self.title, self.short_title = title, re.split(r"[:,]", title)[0]
        self._narrow = False
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

    def resizeEvent(self, event) -> None:
        """Narrow (a small window, docks side by side), the legend and the long caption give
        their room to the plot: the curves are coloured like their nodes, and the caption's
        tooltip keeps the whole text."""
        super().resizeEvent(event)
        narrow = self.width() < NARROW_PX
        if narrow == self._narrow:
            return
        self._narrow = narrow
        self.caption.setText(self.short_title if narrow else self.title)
        self.caption.setToolTip(self.title + ("\n(Widen the plot to see its legend.)" if narrow else ""))
        if narrow:
            self.item.layout.removeItem(self.legend)
            self.legend.hide()
        else:
            self.item.layout.addItem(self.legend, 2, 3, Qt.AlignTop)
            self.legend.show()

    def _set_log(self, on: bool) -> None:
        self.log = on
        self.item.setLogMode(y=on)
        self._versions.clear()
        self._bounds.clear()
        self._dirty = True

    def _manual(self, *_):
        self.follow = False

    def refresh(self, history: History) -> None:
        """One frame: new data to the curves that have some, then the view range if needed."""
        self._draw(history)
        self._follow()

    def _draw(self, history: History) -> None:
        """Each plot gives its curves their data here."""

    def _follow(self) -> None:
        """Keep the data in view (follow_range), unless the user has panned or zoomed."""
        vb = self.item.getViewBox()
        if any(vb.state["autoRange"]):          # the A button: following again, done by us
            self.item.disableAutoRange()
            self.follow, self._dirty = True, True
        if not (self.follow and self._dirty):
            return
        self._dirty = False
        boxes = [b for b in self._bounds.values() if b is not None]
        if not boxes:
            return
        x0, x1 = min(b[0] for b in boxes), max(b[1] for b in boxes)
        y0, y1 = min(b[2] for b in boxes), max(b[3] for b in boxes)
        if self.log:
            y0, y1 = np.log10(y0), np.log10(y1)
            if y1 - y0 < 0.1:                  # at least a tenth of a decade
                y0, y1 = (y0 + y1) / 2 - 0.05, (y0 + y1) / 2 + 0.05
        follow_range(vb, x0, x1, y0, y1, self.fixed_y)

    def set_x_epochs(self, on: bool, steps_per_epoch: int) -> None:
        self.x_epochs, self.steps_per_epoch = on, max(1, steps_per_epoch)
        self.plot.setLabel("bottom", "epoch" if on else "step")
        self.plot.getAxis("bottom").whole = not on
        self._versions.clear()

    def curve(self, name: str, label: str | None, color, width: float = 1.0, symbol=None,
              style=Qt.SolidLine) -> pg.PlotDataItem:
        """One persistent curve per name; label None keeps it out of the legend. Keep width 1
        for curves of many points (see the module's note on painting cost)."""
        c = self.curves.get(name)
        if c is None:
            c = self.plot.plot([], [], name=label, pen=pg.mkPen(color, width=width, style=style),
                               symbol=symbol, symbolSize=5, symbolBrush=color, symbolPen=None)
            self.curves[name] = c
        return c

    def show_series(self, history: History, name: str, label: str | None, color, smoothed: bool = False,
                    key: str | None = None, **kw) -> None:
        """Draw history's series `name` as curve `key` (default: the name), smoothed or raw."""
        s = history.get(name)
        if s is None:               # no data yet (or never: no validation split): no legend entry
            return
        key = key or name
        c = self.curve(key, label, color, **kw)
        if self._versions.get(key) == s.version:
            return
        self._versions[key] = s.version
        x, y = s.data()
        x = x / self.steps_per_epoch if self.x_epochs else x
        if self.log:
            x, y = _positive(x, y)
        else:
            keep = np.isfinite(y)
            x, y = x[keep], y[keep]
        if smoothed:
            y = smooth(y, self.log)
            if len(x) > SMOOTH_DRAWN:        # a smoothed curve loses nothing at fewer points,
                keep = np.unique(np.r_[np.linspace(0, len(x) - 1, SMOOTH_DRAWN).astype(int), len(x) - 1])
                x, y = x[keep], y[keep]      # and each costs painting time on every frame
        c.setData(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), skipFiniteCheck=True)
        self._bounds[key] = (float(x.min()), float(x.max()), float(y.min()), float(y.max())) if len(x) else None
        self._dirty = True

    def clear(self) -> None:
        for c in self.curves.values():
            self.plot.removeItem(c)
        self.legend.clear()
        self.curves.clear()
        self._versions.clear()
        self._bounds.clear()
        self.follow = True
        # a neutral range, not the last run's; a log axis gets five decades (over two or fewer
        # pyqtgraph labels every minor tick too, and on a short plot they overlap)
        self.item.getViewBox().setRange(xRange=(0, 1), yRange=self.fixed_y or ((-4, 0.9) if self.log else (0, 1)),
                                        padding=0)


class LossPlot(_Plot):
    def __init__(self, parent=None):
        super().__init__("Loss: each training batch (faint) and its trend; held-out data at epoch ends, as time allows",
                         "loss", log_toggle=True, log=True, parent=parent)
        self.caption.setWordWrap(True)

    def _draw(self, history: History) -> None:
        self.show_series(history, "loss/train", None, _faint("#3b82f6"), key="loss/train:raw")
        self.show_series(history, "loss/train", "train", "#2563eb", smoothed=True)
        self.show_series(history, "loss/val", "validation", "#d97706", width=2, symbol="o")
        self.show_series(history, "loss/test", "test", "#dc2626", width=2, symbol="o")


class AccuracyPlot(_Plot):
    def __init__(self, parent=None):
        super().__init__("Accuracy on held-out data, at epoch ends", "accuracy")
        self.fixed_y = (0.0, 1.02)
        self.plot.setYRange(*self.fixed_y, padding=0)

    def _draw(self, history: History) -> None:
        self.show_series(history, "accuracy/val", "validation", "#d97706", width=2, symbol="o")
        self.show_series(history, "accuracy/test", "test", "#dc2626", width=2, symbol="o")


class GradNormPlot(_Plot):
    """‖dC/dθ‖ per parameter tensor, coloured like its node (weights solid, biases dashed),
    smoothed. Clicking a curve selects the node; selecting a node brings its curves forward
    and dims the others."""
    node_clicked = Signal(str)

    def __init__(self, parent=None):
        super().__init__("Gradient size ‖dC/dθ‖ per weight tensor, smoothed (click a curve: its node)",
                         "‖dC/dθ‖", log_toggle=True, log=True, parent=parent)
        self.caption.setWordWrap(True)
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

    def _draw(self, history: History) -> None:
        for tensor, node in self.nodes.items():
            name = f"grad/{tensor}"
            if history.get(name) is None:
                continue
            new = name not in self.curves
            self.show_series(history, name, tensor, self._color(tensor), smoothed=True, style=self._style(tensor))
            if new:
                c = self.curves[name]
                c.curve.setClickable(True, width=8)
                c.sigClicked.connect(lambda *_, n=node: self.node_clicked.emit(n))
                self._emphasis(name, c)

    @staticmethod
    def _style(tensor: str):
        return Qt.DashLine if tensor.endswith(".b") else Qt.SolidLine      # biases dashed

    def _color(self, tensor: str):
        return self.colors.get(tensor, "#888888")

    def _emphasis(self, name: str, c) -> None:
        """The selected node's curves in full colour on top; with a selection, the others faint.
        (Width stays 1: a wider pen costs 10-50x the painting, see the module's note.)"""
        tensor = name.removeprefix("grad/")
        mine = self.nodes.get(tensor) == self.selected
        color = self._color(tensor) if self.selected is None or mine else _faint(self._color(tensor), 60)
        c.setPen(pg.mkPen(color, width=1, style=self._style(tensor)))
        c.setZValue(10 if mine and self.selected else 0)

    def highlight(self, node: str | None) -> None:
        self.selected = node
        for name, c in self.curves.items():
            self._emphasis(name, c)


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
        for w in (self.weights, self.grads):
            _themed(w)
            w.getAxis("bottom").enableAutoSIPrefix(False)
            w.getAxis("left").enableAutoSIPrefix(False)
        self.weights.setLabel("bottom", "weight value")
        self.grads.setLabel("bottom", "gradient value")
        for w in (self.weights, self.grads):
            w.setLabel("left", "count")
            layout.addWidget(w)
            w.getPlotItem().disableAutoRange()          # follow_range, in jumps
        self._w = self.weights.plot([], [], stepMode="center", fillLevel=0, brush="#3b82f680", pen="#3b82f6")
        self._g = self.grads.plot([], [], stepMode="center", fillLevel=0, brush="#ef444480", pen="#ef4444")
        self.node = None

    def show_nothing(self) -> None:
        self.node = None
        self.caption.setText("Select a node with weights to see their histogram")
        for item in (self._w, self._g):
            item.setData([0, 1], [0])

    def show_tensors(self, data: dict) -> None:
        self.node = data["node"]
        w = np.concatenate([np.ravel(v) for v in data["weights"].values()]) if data["weights"] else np.zeros(0)
        g = np.concatenate([np.ravel(v) for v in data["grads"].values()]) if data["grads"] else np.zeros(0)
        self.caption.setText(f"{self.node}: {w.size:,} weights" if w.size else f"{self.node} has no weights")
        for plot, item, values in ((self.weights, self._w, w), (self.grads, self._g, g)):
            values = values[np.isfinite(values)]
            if values.size:
                counts, edges = np.histogram(values, bins=40)
                item.setData(edges, counts)
                follow_range(plot.getPlotItem().getViewBox(), float(edges[0]), float(edges[-1]), 0.0,
                             float(counts.max()), grow_x=False)
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
        self.caption.setWordWrap(True)
        layout.addWidget(self.caption)
        self.plot = pg.PlotWidget()
        _themed(self.plot)
        self.plot.setAspectLocked(True)
        layout.addWidget(self.plot)
        self.image = pg.ImageItem()
        self.image.setLookupTable(_diverging_lut())
        self.image.setLevels((0.0, 1.0))
        self.plot.addItem(self.image)
        # points in the classes' full colours with a white rim, over a paler heatmap, so a
        # point on the wrong side of the boundary stands out and one on its side still shows
        self.points = pg.ScatterPlotItem(size=6, pen=pg.mkPen("#ffffff", width=1))
        self.plot.addItem(self.points)
        self._points_id = None

    def show_nothing(self) -> None:
        self.image.clear()
        self.points.clear()
        self._points_id = None
        self.caption.setText("Decision boundary (2-D datasets)")

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
        self.caption.setText("Decision boundary: background = the model's P(class 1), blue 0 to orange 1; "
                             "dots = training data in their true class")


def _diverging_lut() -> np.ndarray:
    """Blue (class 0) through white to orange (class 1), like TensorFlow Playground: paler
    than the points' colours, so the points stand out on their own class's side."""
    t = np.linspace(0, 1, 256)[:, None]
    blue, white, orange = np.array([147, 180, 245]), np.array([248, 248, 248]), np.array([250, 190, 140])
    lut = np.where(t < 0.5, blue + (white - blue) * (t / 0.5), white + (orange - white) * ((t - 0.5) / 0.5))
    return lut.astype(np.uint8)
