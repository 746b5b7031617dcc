// Softmax over the last axis, one invocation per row (rows × width).

//! entry forward
@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = linear_id(gid, nwg);
    if (r >= U.rows) { return; }
    let o = r * U.width;
    var m = x[o];
    for (var j = 1u; j < U.width; j++) { m = max(m, x[o + j]); }
    var s = 0.0;
    for (var j = 0u; j < U.width; j++) { s += exp(x[o + j] - m); }
    for (var j = 0u; j < U.width; j++) { y[o + j] = exp(x[o + j] - m) / s; }
}

//! entry backward
@compute @workgroup_size(64)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = linear_id(gid, nwg);
    if (r >= U.rows) { return; }
    let o = r * U.width;
    var dot = 0.0;
    for (var j = 0u; j < U.width; j++) { dot += dy[o + j] * y[o + j]; }
    for (var j = 0u; j < U.width; j++) { dx[o + j] = dx[o + j] + y[o + j] * (dy[o + j] - dot); }
}
