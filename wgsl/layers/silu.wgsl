// silu: y = f(x). Backward adds dy * f'(x) into dx (gradients are zeroed before each step).
// σ(x) = 1 / (1 + e⁻ˣ) is safe at both ends in f32: e⁻ˣ → inf gives 0, → 0 gives 1.
fn sigma(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
fn f(x: f32) -> f32 { return x * sigma(x); }
fn df(x: f32, y: f32) -> f32 { let s = sigma(x); return s * (1.0 + x * (1.0 - s)); }

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
