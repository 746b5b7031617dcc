// GlobalAvgPool: x is (rows = N·C, positions), y is (rows). Uniforms: rows, positions.

//! entry forward
@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = linear_id(gid, nwg);
    if (r >= U.rows) { return; }
    var s = 0.0;
    for (var k = 0u; k < U.positions; k++) { s += x[r * U.positions + k]; }
    y[r] = s / f32(U.positions);
}

//! entry backward
@compute @workgroup_size(64)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= U.rows * U.positions) { return; }
    dx[i] = dx[i] + dy[i / U.positions] / f32(U.positions);
}
