// Concat: y is (outer, total, inner) around the joined axis; an input is (outer, width, inner)
// at entries [offset, offset + width) of the middle axis. Uniforms: outer, width, total,
// offset, inner (inner = 1 for the last axis).

fn dest(i: u32) -> u32 {
    let r = i % U.inner;
    let j = (i / U.inner) % U.width;
    let o = i / (U.inner * U.width);
    return (o * U.total + U.offset + j) * U.inner + r;
}

//! entry place
@compute @workgroup_size(64)
fn place(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= U.outer * U.width * U.inner) { return; }
    y[dest(i)] = x[i];
}

//! entry take
@compute @workgroup_size(64)
fn take(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= U.outer * U.width * U.inner) { return; }
    dx[i] = dx[i] + dy[dest(i)];
}
