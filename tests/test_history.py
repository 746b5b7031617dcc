"""The live plots' metric history stays bounded over a long run and keeps the curve's shape.
Pure numpy: no Qt, no GPU."""
from __future__ import annotations

import numpy as np
import pytest

from app.ui.history import History, Series


def curve(step):
    """A loss-like curve: fast fall, slow tail, a bump in the middle of the run."""
    return 2.0 / (1.0 + step / 100.0) + 0.5 * np.exp(-((step - 500_000) / 20_000.0) ** 2)


def test_a_million_appends_stay_bounded_and_keep_the_shape():
    s = Series(capacity=4000)
    n = 1_000_000
    for i in range(n):
        s.append(float(i), float(curve(i)))
        if i % 99_991 == 0:
            assert len(s) <= 4000
    x, y = s.data()
    assert 2000 <= len(x) <= 4000
    assert s.x.nbytes + s.y.nbytes == 2 * 8 * 4000, "the store grew"
    # first and last points kept, x strictly increasing
    assert x[0] == 0.0 and y[0] == curve(0)
    assert x[-1] == n - 1 and s.last() == curve(n - 1)
    assert np.all(np.diff(x) > 0)
    # evenly spread over the whole run, not crowded at its end
    gaps = np.diff(x)
    assert gaps.max() <= 4 * n / 4000, f"a gap of {gaps.max()} steps"
    tenth = [np.count_nonzero((x >= k * n / 10) & (x < (k + 1) * n / 10)) for k in range(10)]
    assert max(tenth) - min(tenth) <= 2, tenth
    # every kept point is a real sample, and the bump in the middle is still visible
    assert np.allclose(y, curve(x))
    assert y[(x > 480_000) & (x < 520_000)].max() > 0.49


@pytest.mark.parametrize("capacity", [8, 9, 100])
def test_bound_holds_at_every_append_for_small_capacities(capacity):
    s = Series(capacity)
    for i in range(5000):
        s.append(i, -i)
        x, y = s.data()
        assert len(x) <= capacity
        assert x[0] == 0 and x[-1] == i and y[-1] == -i
        assert np.all(np.diff(x) > 0)


def test_version_bumps_on_every_change_and_clear_starts_over():
    s = Series(16)
    versions = []
    for i in range(40):
        s.append(i, i)
        versions.append(s.version)
    assert versions == sorted(set(versions))
    v = s.version
    s.clear()
    assert s.version > v and len(s) == 0 and s.last() is None
    s.append(7, 1.5)
    assert list(s.data()[0]) == [7.0] and s.stride == 1


def test_history_names_points_rows():
    h = History(capacity=50)
    for i in range(1000):
        h.add("loss/train", i, 1.0 / (i + 1))
        h.add("grad/dense1.w", i, 0.1)
    h.add("loss/test", 999, 0.3)
    assert h.names("loss/") == ["loss/train", "loss/test"]
    assert h.points() <= 2 * 50 + 1
    header, rows = h.to_rows()
    assert header == ["series", "x", "y"]
    assert len(rows) == h.points()
    assert ["loss/test", 999.0, 0.3] in rows
    assert max(r[1] for r in rows if r[0] == "loss/train") == 999.0
