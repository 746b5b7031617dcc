//! entry advance
// Last dispatch of a step: counters[0] = optimizer steps taken, counters[1] = batch cursor.
// bindings: counters (read_write u32); no uniforms. Dispatch groups (1,1,1).
@compute @workgroup_size(64)
fn advance(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    if (linear_id(gid, nwg) == 0u) {
        counters[0] = counters[0] + 1u;
        counters[1] = counters[1] + 1u;
    }
}
