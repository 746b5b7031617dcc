"""What a storage-buffer load costs on this adapter, by the kind of address: the evidence
behind M1's miss in bench/README.md ("Why M1 misses").

Each kernel runs 256 workgroups of 64 invocations; every invocation does ITER dependent
multiply-adds, each with one load, so time / (invocations * loads) is the cost of one load
for one lane (the 8 lanes of a SIMD batch in llvmpipe share an instruction, not a load).

- in a loop: the address uniform across the workgroup (from workgroup_id and the loop
  counter), lane-varying, a vec4 at a uniform address, and no load at all;
- unrolled (no loop): uniform (workgroup_id plus a constant), lane-varying, and constant.

    python bench/lavapipe_loads.py
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import wgpu

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from gpu.device import adapter_name, get_device  # noqa: E402

GROUPS, ITER, UNROLL = 256, 2048, 256
HEADER = """@group(0) @binding(0) var<storage, read> a: array<{t}>;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(global_invocation_id) gid: vec3<u32>) {{
  var acc = {t}(f32(lid)) + a[0] * 0.0;   // binds a in every kernel
  let base = wid.x * 256u;
"""


def looped(load: str, t: str = "f32") -> str:
    return (HEADER.format(t=t) + f"  for (var i = 0u; i < {ITER}u; i = i + 1u) {{ acc = acc * 0.999 + {load}; }}\n"
            + ("  o[gid.x] = acc.x + acc.y + acc.z + acc.w;\n}" if t != "f32" else "  o[gid.x] = acc;\n}"))


def unrolled(address: str) -> str:
    body = "\n".join(f"  acc = acc * 0.999 + a[{address.format(i=i)}];" for i in range(UNROLL))
    return HEADER.format(t="f32") + body + "\n  o[gid.x] = acc;\n}"


KERNELS = {
    "loop: uniform address": (looped("a[base + (i & 255u)]"), ITER),
    "loop: lane-varying address": (looped("a[base + ((i + lid) & 255u)]"), ITER),
    "loop: vec4 at a uniform address": (looped("a[wid.x * 64u + (i & 63u)]", "vec4<f32>"), ITER),
    "loop: no load (arithmetic only)": (looped("f32(i)"), ITER),
    "unrolled: uniform (workgroup_id + constant)": (unrolled("base + {i}u"), UNROLL),
    "unrolled: lane-varying": (unrolled("base + (({i}u + lid) & 255u)"), UNROLL),
    "unrolled: constant address": (unrolled("{i}u"), UNROLL),
}


def main() -> int:
    dev = get_device()
    data = dev.create_buffer_with_data(data=np.random.rand(1 << 20).astype(np.float32),
                                       usage=wgpu.BufferUsage.STORAGE)
    out = dev.create_buffer(size=4 * GROUPS * 64, usage=wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_SRC)
    print(f"adapter: {adapter_name()}\n")
    print(f"{'kernel':45s} {'median':>9s} {'per lane-load':>14s}")
    for name, (source, loads) in KERNELS.items():
        pipe = dev.create_compute_pipeline(layout="auto", compute={
            "module": dev.create_shader_module(code=source), "entry_point": "main"})
        group = dev.create_bind_group(layout=pipe.get_bind_group_layout(0), entries=[
            {"binding": 0, "resource": {"buffer": data}}, {"binding": 1, "resource": {"buffer": out}}])

        def run():
            encoder = dev.create_command_encoder()
            cpass = encoder.begin_compute_pass()
            cpass.set_pipeline(pipe)
            cpass.set_bind_group(0, group)
            cpass.dispatch_workgroups(GROUPS)
            cpass.end()
            dev.queue.submit([encoder.finish()])
            dev.queue.read_buffer(out, 0, 16)

        run()                                  # the JIT compiles on the first dispatch
        times = []
        for _ in range(7):
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
        t = statistics.median(times)
        print(f"{name:45s} {t * 1000:7.2f} ms {t / (GROUPS * 64 * loads) * 1e9:11.2f} ns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
