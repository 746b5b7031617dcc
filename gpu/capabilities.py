"""What a device can do that kernels may use, as shader flags for `//! if FLAG` sections
(gpu/shaders.py).

- `subgroup8`: a workgroup of 8 invocations is one subgroup whose lanes are numbered by
  local_invocation_index, so `subgroupBroadcast(x, lane)` hands lane `lane`'s x to all eight.
  On lavapipe a subgroup is one SIMD row and a broadcast is a register shuffle, while every
  lane-varying storage load is a loop over the lanes: the generated matmuls load A once per
  subgroup and broadcast it (app/model/matmul.py), 4-5x the multiply-adds per second.
  Measured, not assumed, on each device by a probe kernel (the WGSL feature alone doesn't
  promise the lane order or a subgroup of at least 8).

`WIREGRAD_SUBGROUPS=0` turns subgroup8 off (to compare, or to step around a driver's bug).
"""
from __future__ import annotations

import os
import threading

import numpy as np
import wgpu

ENV_SUBGROUPS = "WIREGRAD_SUBGROUPS"
SUBGROUP_FEATURE = "subgroup"

_PROBE_GROUPS = 16
_PROBE = """
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(8)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) size: u32) {
    // the value lane 3 holds must reach every lane: 1000 * wid + 3
    let got = subgroupBroadcast(1000u * wid.x + lid, 3u);
    let i = (wid.x * 8u + lid) * 3u;
    out[i] = lane;
    out[i + 1u] = size;
    out[i + 2u] = got;
}
"""

_flags: dict[int, tuple[object, frozenset]] = {}     # id(device) -> (device, flags)
_lock = threading.Lock()


def _subgroup8(device) -> bool:
    if SUBGROUP_FEATURE not in device.features:
        return False
    n = _PROBE_GROUPS * 8 * 3
    buf = device.create_buffer(size=n * 4, usage=wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_SRC)
    pipe = device.create_compute_pipeline(layout="auto", compute={
        "module": device.create_shader_module(label="subgroup probe", code=_PROBE), "entry_point": "main"})
    group = device.create_bind_group(layout=pipe.get_bind_group_layout(0),
                                     entries=[{"binding": 0, "resource": {"buffer": buf}}])
    enc = device.create_command_encoder()
    p = enc.begin_compute_pass()
    p.set_pipeline(pipe)
    p.set_bind_group(0, group)
    p.dispatch_workgroups(_PROBE_GROUPS)
    p.end()
    device.queue.submit([enc.finish()])
    got = np.frombuffer(device.queue.read_buffer(buf), np.uint32).reshape(_PROBE_GROUPS, 8, 3)
    buf.destroy()
    lanes_ok = (got[:, :, 0] == np.arange(8)).all()
    size_ok = (got[:, :, 1] >= 8).all()
    bcast_ok = (got[:, :, 2] == (1000 * np.arange(_PROBE_GROUPS) + 3)[:, None]).all()
    return bool(lanes_ok and size_ok and bcast_ok)


def shader_flags(device) -> frozenset:
    """The flags of `device`, probed once per device."""
    with _lock:
        have = _flags.get(id(device))
        if have is not None and have[0] is device:
            return have[1]
    flags = set()
    if os.environ.get(ENV_SUBGROUPS, "1") != "0":
        try:
            if _subgroup8(device):
                flags.add("subgroup8")
        except (wgpu.GPUError, wgpu.GPUPipelineError, RuntimeError):
            pass           # a driver that can't run the probe doesn't get the kernels either
    result = frozenset(flags)
    with _lock:
        _flags[id(device)] = (device, result)
    return result


def forget_device(device) -> None:
    with _lock:
        _flags.pop(id(device), None)
