// Softmax along one axis: the tensor is (outer, width, inner); one invocation per line
// (o, r), whose j-th value is at (o·width + j)·inner + r. Uniforms: lines = outer·inner, width, inner.

fn start(l: u32) -> u32 {
    return (l / U.inner) * U.width * U.inner + l % U.inner;
}

//! entry forward
@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let l = linear_id(gid, nwg);
    if (l >= U.lines) { return; }
    let o = start(l);
    let st = U.inner;
    var m = x[o];
    for (var j = 1u; j < U.width; j++) { m = max(m, x[o + j * st]); }
    var s = 0.0;
    for (var j = 0u; j < U.width; j++) { s += exp(x[o + j * st] - m); }
    for (var j = 0u; j < U.width; j++) { y[o + j * st] = exp(x[o + j * st] - m) / s; }
}

//! entry backward
@compute @workgroup_size(64)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let l = linear_id(gid, nwg);
    if (l >= U.lines) { return; }
    let o = start(l);
    let st = U.inner;
    var dot = 0.0;
    for (var j = 0u; j < U.width; j++) { dot += dy[o + j * st] * y[o + j * st]; }
    for (var j = 0u; j < U.width; j++) {
        let k = o + j * st;
        dx[k] = dx[k] + y[k] * (dy[k] - dot);
    }
}
