// elu: y = f(x). Backward adds dy * f'(x) into dx (gradients are zeroed before each step).
// expm1 keeps the relative precision of eˣ − 1 near 0 (exp(x) − 1 alone loses it).
fn expm1(v: f32) -> f32 {
    if (abs(v) < 1e-3) { return v * (1.0 + v * (0.5 + v * 0.16666667)); }
    return exp(v) - 1.0;
}
fn f(x: f32) -> f32 { return select(U.alpha * expm1(min(x, 0.0)), x, x > 0.0); }
fn df(x: f32, y: f32) -> f32 { return select(y + U.alpha, 1.0, x > 0.0); }

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
