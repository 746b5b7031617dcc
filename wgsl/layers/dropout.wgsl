// Dropout. The keep mask is a pure function of (key, step = counters[0], index), so the
// backward recomputes the forward's mask (see app/model/layers/dropout.py for the rule).
// Uniforms: n, key, keep (the threshold on the top 24 bits of the hash), scale = 1/(1 − rate).

fn lowbias32(v: u32) -> u32 {
    var x = v;
    x ^= x >> 16u;
    x *= 0x7feb352du;
    x ^= x >> 15u;
    x *= 0x846ca68bu;
    x ^= x >> 16u;
    return x;
}

fn kept(i: u32, step: u32, key: u32, keep: u32) -> bool {
    return (lowbias32(i ^ lowbias32(step ^ key)) >> 8u) < keep;
}

//! entry forward
@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i < U.n) { y[i] = select(0.0, x[i] * U.scale, kept(i, counters[0], U.key, U.keep)); }
}

//! entry backward
@compute @workgroup_size(64)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i < U.n && kept(i, counters[0], U.key, U.keep)) { dx[i] = dx[i] + dy[i] * U.scale; }
}

//! entry copy
// evaluation: the identity
@compute @workgroup_size(64)
fn copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i < U.n) { y[i] = x[i]; }
}
