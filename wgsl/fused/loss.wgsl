// A loss's forward and backward in one kernel, one invocation per row, for the fused lowering
// (app/model/fused.py): loss[r], and dpred WRITTEN (not added: nothing else writes it there).
// The arithmetic is that of wgsl/layers/<loss>.wgsl, in the same order.
// bindings: pred, tgt, dloss (the seed, 1/batch), loss (rw), dpred (rw); uniforms: rows, width

//! entry softmax_cross_entropy
@compute @workgroup_size(64)
fn softmax_cross_entropy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = linear_id(gid, nwg);
    if (r >= U.rows) { return; }
    let o = r * U.width;
    var m = pred[o];
    for (var j = 1u; j < U.width; j++) { m = max(m, pred[o + j]); }
    var s = 0.0;
    for (var j = 0u; j < U.width; j++) { s += exp(pred[o + j] - m); }
    let label = min(u32(tgt[r]), U.width - 1u);
    loss[r] = m + log(s) - pred[o + label];
    let g = dloss[r];
    for (var j = 0u; j < U.width; j++) {
        let p = exp(pred[o + j] - m) / s;
        dpred[o + j] = g * (p - select(0.0, 1.0, j == label));
    }
}

//! entry binary_cross_entropy
@compute @workgroup_size(64)
fn binary_cross_entropy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = linear_id(gid, nwg);
    if (r >= U.rows) { return; }
    var s = 0.0;
    for (var j = 0u; j < U.width; j++) {
        let z = pred[r * U.width + j];
        let t = tgt[r * U.width + j];
        s += max(z, 0.0) - z * t + log(1.0 + exp(-abs(z)));
    }
    loss[r] = s / f32(U.width);
    let g = dloss[r] / f32(U.width);
    for (var j = 0u; j < U.width; j++) {
        let i = r * U.width + j;
        dpred[i] = g * (1.0 / (1.0 + exp(-pred[i])) - tgt[i]);
    }
}

//! entry mse
@compute @workgroup_size(64)
fn mse(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = linear_id(gid, nwg);
    if (r >= U.rows) { return; }
    var s = 0.0;
    for (var j = 0u; j < U.width; j++) {
        let d = pred[r * U.width + j] - tgt[r * U.width + j];
        s += d * d;
    }
    loss[r] = s / f32(U.width);
    let g = dloss[r] * 2.0 / f32(U.width);
    for (var j = 0u; j < U.width; j++) {
        let i = r * U.width + j;
        dpred[i] = g * (pred[i] - tgt[i]);
    }
}
