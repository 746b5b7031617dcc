// Flatten: the elements keep their order, so the forward is a copy (the backward is
// ops/axpy.wgsl add_into).

//! entry copy
@compute @workgroup_size(64)
fn copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i < U.n) { y[i] = x[i]; }
}
