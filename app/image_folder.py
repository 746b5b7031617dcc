"""Image-folder importer: one subfolder per class, PNG and JPEG read with Qt's QImage.

It lives outside app/model because it needs Qt; app.model.datasets imports it lazily.
QImage needs no QApplication, so this works headless and under QT_QPA_PLATFORM=offscreen.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QImageReader

from app.model.datasets.core import DatasetError, Imported, pixel_names

EXTENSIONS = {".png", ".jpg", ".jpeg"}
COLORS = {"gray": (QImage.Format.Format_Grayscale8, 1), "rgb": (QImage.Format.Format_RGB888, 3)}


def read_image(path: Path, size: tuple[int, int], color: str = "gray") -> np.ndarray:
    """uint8 (C, H, W): the image converted to `color` and smoothly resized to size = (H, W)."""
    fmt, channels = COLORS[color]
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)  # honour EXIF rotation, as photo viewers do
    image = reader.read()
    if image.isNull():
        raise DatasetError(f"{path}: cannot read the image: {reader.errorString()}")
    h, w = size
    image = image.convertToFormat(fmt).scaled(w, h, Qt.AspectRatioMode.IgnoreAspectRatio,
                                              Qt.TransformationMode.SmoothTransformation)
    # Rows are padded to 4 bytes, so cut each row to its pixels before reshaping.
    rows = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes()).reshape(h, image.bytesPerLine())
    return rows[:, : w * channels].reshape(h, w, channels).transpose(2, 0, 1).copy()


def load_image_folder(folder: Path, size: tuple[int, int] = (28, 28), color: str = "gray") -> Imported:
    """float32 (n, C, H, W) images in [0, 1]; class names are the sorted subfolder names."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: {'not a folder' if folder.exists() else 'folder not found'}; "
                           f"expected a folder with one subfolder of images per class")
    classes = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DatasetError(f"{folder}: no subfolders; put each class's images in a subfolder named after it")
    images, labels, ignored = [], [], 0
    for k, sub in enumerate(classes):
        files = sorted(p for p in sub.iterdir() if p.is_file() and not p.name.startswith("."))
        pictures = [p for p in files if p.suffix.lower() in EXTENSIONS]
        ignored += len(files) - len(pictures)
        if not pictures:
            raise DatasetError(f"{sub}: class folder holds no PNG or JPEG images")
        images += [read_image(p, size, color) for p in pictures]
        labels += [k] * len(pictures)
    x = np.stack(images).astype(np.float32) / 255.0
    notes = [f"ignored {ignored} file(s) that are not PNG or JPEG"] if ignored else []
    return Imported(x=x, y=np.array(labels, np.int64), task="classification", num_classes=len(classes),
                    feature_names=pixel_names(x.shape[1:]), class_names=[p.name for p in classes],
                    source=str(folder), notes=notes)
