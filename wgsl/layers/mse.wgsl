// MSE per sample: mean over the row of (pred − target)². One invocation per row.

//! entry forward
@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = linear_id(gid, nwg);
    if (r >= U.rows) { return; }
    var s = 0.0;
    for (var j = 0u; j < U.width; j++) {
        let d = pred[r * U.width + j] - tgt[r * U.width + j];
        s += d * d;
    }
    loss[r] = s / f32(U.width);
}

//! entry backward
@compute @workgroup_size(64)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = linear_id(gid, nwg);
    if (r >= U.rows) { return; }
    let g = dloss[r] * 2.0 / f32(U.width);
    for (var j = 0u; j < U.width; j++) {
        let i = r * U.width + j;
        dpred[i] = dpred[i] + g * (pred[i] - tgt[i]);
    }
}
