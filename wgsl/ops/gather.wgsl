//! entry gather_rows
// Minibatch selection from a dataset uploaded once: row i of the batch is dataset row
// perm[cursor * rows + i], where cursor = counters[1] counts batches taken this epoch.
// bindings: src (read f32), perm (read u32), counters (read u32), out (read_write f32);
// uniforms: rows, width. Threads: rows * width.
@compute @workgroup_size(64)
fn gather_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let k = linear_id(gid, nwg);
    if (k >= U.rows * U.width) {
        return;
    }
    let i = k / U.width;
    let f = k % U.width;
    let row = perm[counters[1] * U.rows + i];
    out[k] = src[row * U.width + f];
}
