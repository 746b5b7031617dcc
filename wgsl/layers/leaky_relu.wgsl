// leaky_relu: y = f(x). Backward adds dy * f'(x) into dx (gradients are zeroed before each step).

fn f(x: f32) -> f32 { return select(U.slope * x, x, x > 0.0); }
fn df(x: f32, y: f32) -> f32 { return select(U.slope, 1.0, x > 0.0); }

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
