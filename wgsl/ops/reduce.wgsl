// Whole-tensor reductions into one slot of a stats buffer: out[slot] = scale * sum(...).
// Dispatched as ONE workgroup (groups (1,1,1)): each of the 64 invocations sums a strided
// share, then a tree reduction in workgroup memory combines them. One group avoids a second
// pass and atomics (WGSL has no float atomics); stats tensors are small next to a step.

var<workgroup> partial: array<f32, 64>;

// Combines partial[] into partial[0]; every invocation of the group must call it.
fn tree_reduce(lid: u32) {
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
        if (lid < stride) {
            partial[lid] = partial[lid] + partial[lid + stride];
        }
        workgroupBarrier();
    }
}

//! entry sumsq
// bindings: x (read f32), out (read_write f32); uniforms: n, slot, scale
@compute @workgroup_size(64)
fn sumsq(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
    var acc = 0.0;
    for (var i = lid; i < U.n; i = i + WG) {
        acc = acc + x[i] * x[i];
    }
    partial[lid] = acc;
    tree_reduce(lid);
    if (lid == 0u) {
        out[U.slot] = U.scale * partial[0];
    }
}

//! entry sum
// bindings: x (read f32), out (read_write f32); uniforms: n, slot, scale
@compute @workgroup_size(64)
fn sum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
    var acc = 0.0;
    for (var i = lid; i < U.n; i = i + WG) {
        acc = acc + x[i];
    }
    partial[lid] = acc;
    tree_reduce(lid);
    if (lid == 0u) {
        out[U.slot] = U.scale * partial[0];
    }
}

//! entry sumsq2
// Two tensors of one size in one dispatch: out[slot] = scale * sum(x*x), out[slot2] = scale * sum(y*y)
// (a node output's gradient and the output itself, for the stats: the second says where a
// non-finite value began, from the figures of the step it happened in).
// bindings: x (read f32), y (read f32), out (read_write f32); uniforms: n, slot, slot2, scale
@compute @workgroup_size(64)
fn sumsq2(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
    var ax = 0.0;
    var ay = 0.0;
    for (var i = lid; i < U.n; i = i + WG) {
        ax = ax + x[i] * x[i];
        ay = ay + y[i] * y[i];
    }
    partial[lid] = ax;
    tree_reduce(lid);
    if (lid == 0u) {
        out[U.slot] = U.scale * partial[0];
    }
    workgroupBarrier();
    partial[lid] = ay;
    tree_reduce(lid);
    if (lid == 0u) {
        out[U.slot2] = U.scale * partial[0];
    }
}
