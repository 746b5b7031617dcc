//! entry gather2
// The batch of an Input and of its Target in one dispatch (ops/gather.wgsl does one tensor):
// row i of the batch is dataset row perm[counters[1] * rows + i].
// bindings: src_x, src_t, perm (u32), counters (u32), out_x (rw), out_t (rw);
// uniforms: rows, wx, wt. Threads: rows * (wx + wt).
@compute @workgroup_size(64)
fn gather2(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let k = linear_id(gid, nwg);
    let nx = U.rows * U.wx;
    if (k < nx) {
        let i = k / U.wx;
        out_x[k] = src_x[perm[counters[1] * U.rows + i] * U.wx + k % U.wx];
    } else if (k < nx + U.rows * U.wt) {
        let kt = k - nx;
        let i = kt / U.wt;
        out_t[kt] = src_t[perm[counters[1] * U.rows + i] * U.wt + kt % U.wt];
    }
}

//! entry gather2_rows4
//! vec4 src_x out_x
// The same with one invocation per batch row and the Input's row moved as vec4s (wx4 = wx / 4):
// a row costs one perm load and wx/4 + wt loads and stores. Threads: rows.
@compute @workgroup_size(64)
fn gather2_rows4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= U.rows) { return; }
    let row = perm[counters[1] * U.rows + i];
    for (var q = 0u; q < U.wx4; q++) {
        out_x[i * U.wx4 + q] = src_x[row * U.wx4 + q];
    }
    for (var q = 0u; q < U.wt; q++) {
        out_t[i * U.wt + q] = src_t[row * U.wt + q];
    }
}
