// Split: x is (outer, total, inner); a part is (outer, width, inner) at entries
// [offset, offset + width) of the middle axis. Uniforms: outer, width, total, offset, inner.

fn source(i: u32) -> u32 {
    let r = i % U.inner;
    let j = (i / U.inner) % U.width;
    let o = i / (U.inner * U.width);
    return (o * U.total + U.offset + j) * U.inner + r;
}

//! entry take
@compute @workgroup_size(64)
fn take(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i < U.outer * U.width * U.inner) { y[i] = x[source(i)]; }
}

//! entry give
@compute @workgroup_size(64)
fn give(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i < U.outer * U.width * U.inner) {
        let k = source(i);
        dx[k] = dx[k] + dy[i];
    }
}
