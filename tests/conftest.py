"""Shared fixtures. GPU tests take `gpu_device` (or `build`) and skip without an adapter,
unless WIREGRAD_EXPECT_ADAPTER=1 (CI with lavapipe), where a missing adapter fails them."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# CI machines are small and shared: a slow moment is not a failure. Property tests keep their
# example counts; they just don't time their inputs.
settings.register_profile("wiregrad", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("wiregrad")

try:    # the optional torch comparisons: with a CUDA build, torch's optimizers import triton,
    import torch._dynamo  # noqa: F401   whose LLVM segfaults once lavapipe's is loaded;
except ImportError:       # imported before any wgpu device, it loads first (bench/run.py too)
    pass

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:          # run from a checkout without installing
    sys.path.insert(0, str(ROOT))


def _no_gpu(reason: str):
    if os.environ.get("WIREGRAD_EXPECT_ADAPTER") == "1":
        pytest.fail(f"WIREGRAD_EXPECT_ADAPTER=1 but no adapter: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def gpu_device():
    """The process's one wgpu device."""
    try:
        from gpu.device import get_device
        from gpu.errors import NoAdapterError
    except ImportError as e:             # wgpu itself missing
        _no_gpu(f"wgpu is not importable: {e}")
    try:
        return get_device()
    except NoAdapterError as e:
        _no_gpu(str(e))


@pytest.fixture
def build(gpu_device):
    """build(program) -> gpu.engine.Engine on the shared device."""
    from gpu.engine import Engine
    return lambda program: Engine(program, gpu_device)
