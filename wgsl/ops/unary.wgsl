// The entries of every elementwise activation: y = f(x), and dx += dy * f'(x, y).
// A layer's file defines f and df in its prefix and says `//! entries from ops/unary.wgsl`.

//! entry forward
@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i < U.n) { y[i] = f(x[i]); }
}

//! entry backward
@compute @workgroup_size(64)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i < U.n) { dx[i] = dx[i] + dy[i] * df(x[i], y[i]); }
}
