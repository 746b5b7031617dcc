// Scale: y = x ⊙ w, w broadcast over the batch (f features per sample).

//! include ops/group_sum.wgsl

//! entry forward
@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i < U.n) { y[i] = x[i] * w[i % U.f]; }
}

//! entry backward_x
@compute @workgroup_size(64)
fn backward_x(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i < U.n) { dx[i] = dx[i] + dy[i] * w[i % U.f]; }
}

//! entry backward_w
// One workgroup per weight: the weight was shared by every sample, so its gradient sums over them.
// (lavapipe's loop limiter ends an invocation's loops after 65535 iterations in all, so one
// invocation may not sum the batch: one workgroup per output, 64 strided shares, a tree.)
@compute @workgroup_size(64)
fn backward_w(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let j = wid.x + wid.y * nwg.x;
    var s = 0.0;
    if (j < U.f) {
        for (var r = lid; r < U.rows; r += WG) { s += dy[r * U.f + j] * x[r * U.f + j]; }
    }
    let total = group_sum(lid, s);
    if (lid == 0u && j < U.f) { dw[j] = dw[j] + total; }
}
