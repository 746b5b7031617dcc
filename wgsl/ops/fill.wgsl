//! entry fill
// bindings: y (read_write f32); uniforms: n, value
@compute @workgroup_size(64)
fn fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i < U.n) {
        y[i] = U.value;
    }
}
