// Softmax cross-entropy on logits against integer labels (stored as f32), one invocation per row.

fn row_max(o: u32) -> f32 {
    var m = pred[o];
    for (var j = 1u; j < U.width; j++) { m = max(m, pred[o + j]); }
    return m;
}

fn row_sumexp(o: u32, m: f32) -> f32 {
    var s = 0.0;
    for (var j = 0u; j < U.width; j++) { s += exp(pred[o + j] - m); }
    return s;
}

//! entry forward
@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = linear_id(gid, nwg);
    if (r >= U.rows) { return; }
    let o = r * U.width;
    let m = row_max(o);
    let label = min(u32(tgt[r]), U.width - 1u);
    loss[r] = m + log(row_sumexp(o, m)) - pred[o + label];
}

//! entry backward
@compute @workgroup_size(64)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = linear_id(gid, nwg);
    if (r >= U.rows) { return; }
    let o = r * U.width;
    let m = row_max(o);
    let s = row_sumexp(o, m);
    let label = min(u32(tgt[r]), U.width - 1u);
    let g = dloss[r];
    for (var j = 0u; j < U.width; j++) {
        let p = exp(pred[o + j] - m) / s;
        let onehot = select(0.0, 1.0, j == label);
        dpred[o + j] = dpred[o + j] + g * (p - onehot);
    }
}
