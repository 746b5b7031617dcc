// Concat on the last axis: input columns [0, width) sit at y columns [offset, offset + width).

//! entry place
@compute @workgroup_size(64)
fn place(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= U.rows * U.width) { return; }
    let r = i / U.width;
    y[r * U.total + U.offset + i % U.width] = x[i];
}

//! entry take
@compute @workgroup_size(64)
fn take(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= U.rows * U.width) { return; }
    let r = i / U.width;
    dx[i] = dx[i] + dy[r * U.total + U.offset + i % U.width];
}
