"""A number field for values that span decades, such as a learning rate: it takes what people
type (1e-4, 0.0003, 3E-3), shows values the short way (0.003, 1e+06), and the arrows halve or
double. QDoubleSpinBox dropped the "e" and "-" of 1e-4 as they were typed and kept 14."""
from __future__ import annotations

import math

from PySide6.QtCore import Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QDoubleSpinBox



def _number(text: str) -> float:
    """A float from what people type: 1e-4, 3E-3, and a decimal comma (1,5) as a point."""
    return float(text.strip().replace(",", "."))


class ScientificSpinBox(QDoubleSpinBox):
    refused = Signal(str)        # text left in the field that is no number in range; the old value stays

    def __init__(self, minimum: float, maximum: float, parent=None):
        super().__init__(parent)
        self.setDecimals(300)    # the value as typed, not rounded to a few decimals
        self.setRange(minimum, maximum)
        self.setKeyboardTracking(False)

    def validate(self, text: str, pos: int):
        # nothing typed is thrown away (a dropped key changed what was meant: "1,5" became 15):
        # what isn't a number in range stays in the field, and leaving it is refused in words
        try:
            value = _number(text)
        except ValueError:
            return QValidator.Intermediate, text, pos
        if not math.isfinite(value):
            return QValidator.Intermediate, text, pos
        state = QValidator.Acceptable if self.minimum() <= value <= self.maximum() else QValidator.Intermediate
        return state, text, pos

    def fixup(self, text: str) -> str:
        # called when editing ends on text that isn't acceptable: the field goes back to its value
        self.refused.emit(text.strip())
        return text

    def valueFromText(self, text: str) -> float:
        return _number(text)

    def textFromValue(self, value: float) -> str:
        return f"{value:.6g}"

    def stepBy(self, steps: int) -> None:
        self.interpretText()          # from what is typed, if it is a number, not the last value
        self.setValue(min(self.maximum(), max(self.minimum(), self.value() * 2.0 ** steps)))
        self.editingFinished.emit()
