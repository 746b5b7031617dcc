// Dense: the products run in ops/matmul.wgsl (forward with the bias in its epilogue).
// Here: db += Σ_rows dy, one workgroup per output column: its 64 invocations sum a strided
// share of the rows, a tree in workgroup memory combines them. (One invocation per column
// summing every row stopped at 65535 rows on lavapipe, whose loop limiter ends an
// invocation's loops after 65535 iterations in all; and 64 partial sums lose less to
// float32 round-off than one running sum.) Columns past 65535 groups spill into y.

//! include ops/group_sum.wgsl

//! entry bias_grad
@compute @workgroup_size(64)
fn bias_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let j = wid.x + wid.y * nwg.x;
    var s = 0.0;
    if (j < U.cols) {
        for (var r = lid; r < U.rows; r += WG) { s += dy[r * U.cols + j]; }
    }
    let total = group_sum(lid, s);
    if (lid == 0u && j < U.cols) { db[j] = db[j] + total; }
}
