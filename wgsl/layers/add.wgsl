// Add: y = a + b. More inputs are added in place by ops/axpy.wgsl; the backward is add_into too.

//! entry add2
@compute @workgroup_size(64)
fn add2(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i < U.n) { y[i] = a[i] + b[i]; }
}
