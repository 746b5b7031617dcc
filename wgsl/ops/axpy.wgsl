// Elementwise accumulation, used to add gradient contributions when one output feeds
// several consumers (fan-out sums, never averages).

//! entry add_into
// bindings: x (read f32), y (read_write f32); uniforms: n
@compute @workgroup_size(64)
fn add_into(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i < U.n) {
        y[i] = y[i] + x[i];
    }
}
