// Dense: the products run in ops/matmul.wgsl (forward with the bias in its epilogue).
// Here: db += Σ_rows dy, one invocation per output column.

//! entry bias_grad
@compute @workgroup_size(64)
fn bias_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = linear_id(gid, nwg);
    if (j >= U.cols) { return; }
    var s = 0.0;
    for (var r = 0u; r < U.rows; r++) { s += dy[r * U.cols + j]; }
    db[j] = db[j] + s;
}
