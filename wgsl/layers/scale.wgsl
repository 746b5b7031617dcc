// Scale: y = x ⊙ w, w broadcast over the batch (f features per sample).

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
// One invocation per weight: the weight was shared by every sample, so its gradient sums over them.
@compute @workgroup_size(64)
fn backward_w(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = linear_id(gid, nwg);
    if (j >= U.f) { return; }
    var s = 0.0;
    for (var r = 0u; r < U.rows; r++) { s += dy[r * U.f + j] * x[r * U.f + j]; }
    dw[j] = dw[j] + s;
}
