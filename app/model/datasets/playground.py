"""2-D toy sets in the manner of TensorFlow Playground (our own numpy code).

All points lie roughly in [-6, 6]^2. Classification sets return labels 0/1 with the
classes exactly balanced (noise moves points, it never relabels them); regression sets
return targets of shape (n, 1) in about [-1, 1], computed from the noisy position.
Each generator takes (samples, noise in [0, 1], rng).
"""
from __future__ import annotations

import numpy as np

RADIUS = 6.0  # half-width of the square the regression sets sample from


def _halves(samples: int) -> tuple[int, int]:
    return samples - samples // 2, samples // 2


def _labels(n1: int, n0: int) -> np.ndarray:
    return np.concatenate([np.ones(n1, np.int64), np.zeros(n0, np.int64)])


def _ring(rng, n: int, r_lo: float, r_hi: float) -> np.ndarray:
    r = rng.uniform(r_lo, r_hi, n)
    a = rng.uniform(0.0, 2 * np.pi, n)
    return np.stack([r * np.sin(a), r * np.cos(a)], axis=1)


def circle(samples: int, noise: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Class 1 inside radius 2.5, class 0 in the ring 3.5..5."""
    n1, n0 = _halves(samples)
    x = np.concatenate([_ring(rng, n1, 0.0, 2.5), _ring(rng, n0, 3.5, 5.0)])
    x += rng.uniform(-5, 5, x.shape) * noise
    return x, _labels(n1, n0)


def xor(samples: int, noise: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Class 1 where x*y > 0 (quadrants I and III), class 0 in II and IV."""
    n1, n0 = _halves(samples)
    pad = 0.3  # keep points off the axes so the classes are separable at zero noise
    mag = rng.uniform(pad, 5 + pad, (samples, 2))
    sx = rng.choice([-1.0, 1.0], samples)
    # Same sign for class 1, opposite sign for class 0.
    sy = np.concatenate([sx[:n1], -sx[n1:]])
    x = mag * np.stack([sx, sy], axis=1)
    x += rng.uniform(-5, 5, x.shape) * noise
    return x, _labels(n1, n0)


def gauss(samples: int, noise: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian blobs at (2, 2) (class 1) and (-2, -2) (class 0); noise widens them."""
    n1, n0 = _halves(samples)
    std = np.sqrt(0.5 + 7.0 * noise)  # variance 0.5 at noise 0, as in Playground's scale
    x = np.concatenate([rng.normal(2.0, std, (n1, 2)), rng.normal(-2.0, std, (n0, 2))])
    return x, _labels(n1, n0)


def spiral(samples: int, noise: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved arms of 1.75 turns out to radius 5."""
    n1, n0 = _halves(samples)

    def arm(n: int, phase: float) -> np.ndarray:
        t = np.arange(n) / max(n, 1)
        r = 5.0 * t
        angle = 1.75 * 2 * np.pi * t + phase
        return np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)

    x = np.concatenate([arm(n1, 0.0), arm(n0, np.pi)])
    x += rng.uniform(-1, 1, x.shape) * noise
    return x, _labels(n1, n0)


def _regression(samples: int, noise: float, rng, target) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(-RADIUS, RADIUS, (samples, 2))
    jitter = rng.uniform(-RADIUS, RADIUS, (samples, 2)) * noise
    return x, target(x + jitter)[:, None]


def plane(samples: int, noise: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Target (x + y) / 10: a tilted plane."""
    return _regression(samples, noise, rng, lambda p: (p[:, 0] + p[:, 1]) / 10.0)


# Six bumps of alternating sign; the target is the strongest bump at the point.
_BUMPS = np.array([[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]])


def _multigauss_target(p: np.ndarray) -> np.ndarray:
    d = np.linalg.norm(p[:, None, :] - _BUMPS[None, :, :2], axis=2)
    v = _BUMPS[None, :, 2] * np.clip(1.0 - d / 2.0, 0.0, 1.0)  # linear fall-off to 0 at distance 2
    return v[np.arange(len(p)), np.argmax(np.abs(v), axis=1)]


def multigauss(samples: int, noise: float, rng) -> tuple[np.ndarray, np.ndarray]:
    return _regression(samples, noise, rng, _multigauss_target)


CLASSIFIERS = {"circle": circle, "xor": xor, "gauss": gauss, "spiral": spiral}
REGRESSORS = {"plane": plane, "multigauss": multigauss}

DESCRIPTIONS = {
    "circle": "2-D: a disc of one class inside a ring of the other",
    "xor": "2-D: classes by the sign of x*y (the four quadrants)",
    "gauss": "2-D: two Gaussian blobs",
    "spiral": "2-D: two interleaved spirals",
    "plane": "2-D regression: a tilted plane, target (x + y) / 10",
    "multigauss": "2-D regression: six bumps of alternating sign",
}
