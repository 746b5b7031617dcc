// A workgroup-wide sum, for kernels that give each output one workgroup of 64 invocations
// (each sums a strided share; lavapipe ends an invocation's loops after 65,535 iterations
// in all, so no single invocation may loop over every row). Kernels take it with
// `//! include ops/group_sum.wgsl`.

var<workgroup> partial: array<f32, 64>;

// The workgroup's sum of v (a tree over the 64 partial sums); every invocation of the
// group must call it (workgroup-uniform control flow), and all get the total.
fn group_sum(lid: u32, v: f32) -> f32 {
    partial[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (lid < s) { partial[lid] = partial[lid] + partial[lid + s]; }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
}
