// softplus: y = f(x). Backward adds dy * f'(x) into dx (gradients are zeroed before each step).
// log1p keeps the tail e^(βx) for very negative x, where log(1 + t) would round to 0.
fn log1p(t: f32) -> f32 {
    if (t < 1e-4) { return t * (1.0 - t * (0.5 - t * 0.33333334)); }
    return log(1.0 + t);
}
fn f(x: f32) -> f32 { let bx = U.beta * x; return (max(bx, 0.0) + log1p(exp(-abs(bx)))) / U.beta; }
fn df(x: f32, y: f32) -> f32 { return 1.0 / (1.0 + exp(-U.beta * x)); }

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
