"""Image-folder importer: PNG files written with QImage, read back without a QApplication."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("PySide6.QtGui")
from PySide6.QtGui import QColor, QImage  # noqa: E402

from app.image_folder import load_image_folder, read_image  # noqa: E402
from app.model.datasets import DatasetError, load_dataset  # noqa: E402


def _png(path, color, size=(10, 6), fmt="PNG"):
    image = QImage(size[0], size[1], QImage.Format.Format_RGB32)
    image.fill(QColor(*color))
    path.parent.mkdir(parents=True, exist_ok=True)
    assert image.save(str(path), fmt)


def _folder(tmp_path):
    root = tmp_path / "shapes"
    for i in range(3):
        _png(root / "red" / f"r{i}.png", (255, 0, 0))
        _png(root / "blue" / f"b{i}.png", (0, 0, 255))
    _png(root / "blue" / "b9.jpg", (0, 0, 255), fmt="JPEG")
    (root / "blue" / "notes.txt").write_text("not an image")
    return root


def test_folder_gray_and_rgb(tmp_path):
    root = _folder(tmp_path)
    ds = load_dataset({"path": str(root), "size": [4, 5], "test_ratio": 0})
    assert ds.class_names == ["blue", "red"] and ds.num_classes == 2
    assert ds.feature_shape == (1, 4, 5) and ds.x_train.dtype == np.float32
    assert list(np.bincount(ds.y_train)) == [4, 3]
    red, blue = ds.x_train[ds.y_train == 1], ds.x_train[ds.y_train == 0]
    assert np.allclose(red, red[0, 0, 0, 0]) and np.allclose(blue, blue[0, 0, 0, 0], atol=0.02)
    assert 0 < blue[0, 0, 0, 0] < red[0, 0, 0, 0] < 1  # luminance: pure red is brighter than pure blue
    assert any("ignored 1 file" in n for n in ds.notes)
    rgb = load_dataset({"path": str(root), "size": [4, 5], "color": "rgb", "test_ratio": 0})
    assert rgb.feature_shape == (3, 4, 5)
    red = rgb.x_train[rgb.y_train == 1][0]
    np.testing.assert_allclose(red[:, 0, 0], [1, 0, 0])
    flat = load_dataset({"path": str(root), "size": [4, 5], "color": "rgb", "flatten": True, "test_ratio": 0})
    assert flat.feature_shape == (60,) and flat.feature_names[20] == "green_0_0"


def test_resize_is_smooth_and_row_padding_handled(tmp_path):
    image = QImage(3, 2, QImage.Format.Format_Grayscale8)  # 3-byte rows are padded to 4 in memory
    image.fill(0)
    image.setPixelColor(2, 1, QColor(255, 255, 255))
    image.save(str(tmp_path / "p.png"))
    same = read_image(tmp_path / "p.png", (2, 3))
    assert same.shape == (1, 2, 3) and same[0, 1, 2] == 255 and same.sum() == 255
    big = read_image(tmp_path / "p.png", (20, 30))
    assert big.shape == (1, 20, 30) and 0 < big.mean() < 255


def test_corrupt_png_named(tmp_path):
    root = _folder(tmp_path)
    bad = root / "red" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    with pytest.raises(DatasetError) as e:
        load_dataset({"path": str(root)})
    assert str(bad) in str(e.value) and "cannot read" in str(e.value)


def test_folder_problems(tmp_path):
    with pytest.raises(DatasetError, match="folder not found"):
        load_image_folder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no subfolders"):
        load_image_folder(tmp_path / "empty")
    (tmp_path / "empty" / "cats").mkdir()
    with pytest.raises(DatasetError, match="cats: class folder holds no PNG or JPEG"):
        load_image_folder(tmp_path / "empty")
