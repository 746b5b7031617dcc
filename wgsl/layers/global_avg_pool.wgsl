// GlobalAvgPool: x is (rows = N·C, positions), y is (rows). Uniforms: rows, positions.

//! include ops/group_sum.wgsl

//! entry forward
// One workgroup per row: 64 strided shares of its positions, a tree in workgroup memory
// (lavapipe's loop limiter ends an invocation's loops after 65535 iterations in all, so one
// invocation may not sum a row of more positions). Rows past 65535 groups spill into y.
@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let r = wid.x + wid.y * nwg.x;
    var s = 0.0;
    if (r < U.rows) {
        for (var k = lid; k < U.positions; k += WG) { s += x[r * U.positions + k]; }
    }
    let total = group_sum(lid, s);
    if (lid == 0u && r < U.rows) { y[r] = total / f32(U.positions); }
}

//! entry backward
@compute @workgroup_size(64)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= U.rows * U.positions) { return; }
    dx[i] = dx[i] + dy[i / U.positions] / f32(U.positions);
}
