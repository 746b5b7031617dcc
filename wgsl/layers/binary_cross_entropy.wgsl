// Binary cross-entropy on logits z against targets t in [0, 1], one invocation per row.

//! entry forward
@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = linear_id(gid, nwg);
    if (r >= U.rows) { return; }
    var s = 0.0;
    for (var j = 0u; j < U.width; j++) {
        let z = pred[r * U.width + j];
        let t = tgt[r * U.width + j];
        s += max(z, 0.0) - z * t + log(1.0 + exp(-abs(z)));
    }
    loss[r] = s / f32(U.width);
}

//! entry backward
@compute @workgroup_size(64)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = linear_id(gid, nwg);
    if (r >= U.rows) { return; }
    let g = dloss[r] / f32(U.width);
    for (var j = 0u; j < U.width; j++) {
        let i = r * U.width + j;
        let sig = 1.0 / (1.0 + exp(-pred[i]));
        dpred[i] = dpred[i] + g * (sig - tgt[i]);
    }
}
