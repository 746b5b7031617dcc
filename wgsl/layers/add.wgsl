// Add: y = a + b. More inputs are added in place by ops/axpy.wgsl; the backward is add_into too.

//! include ops/group_sum.wgsl

//! entry add2
@compute @workgroup_size(64)
fn add2(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i < U.n) { y[i] = a[i] + b[i]; }
}

// Broadcast: an operand of `mid` values repeats over a's (outer, mid, inner) view; element i
// of a takes the operand's (i / inner) % mid. Uniforms: n, mid, inner.

//! entry add_b
@compute @workgroup_size(64)
fn add_b(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i < U.n) { y[i] = a[i] + b[(i / U.inner) % U.mid]; }
}

//! entry acc_b
@compute @workgroup_size(64)
fn acc_b(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i < U.n) { y[i] = y[i] + x[(i / U.inner) % U.mid]; }
}

//! entry grad_b
// One workgroup per operand element j: dx[j] += Σ dy over every position it was added to
// (outer·inner of them, in 64 strided shares).
// (lavapipe's loop limiter ends an invocation's loops after 65535 iterations in all, so one
// invocation may not sum the batch: one workgroup per output, 64 strided shares, a tree.)
@compute @workgroup_size(64)
fn grad_b(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
    let j = wid.x + wid.y * nwg.x;
    let outer = U.n / (U.mid * U.inner);
    var s = 0.0;
    if (j < U.mid) {
        for (var t = lid; t < outer * U.inner; t += WG) {
            s += dy[((t / U.inner) * U.mid + j) * U.inner + t % U.inner];
        }
    }
    let total = group_sum(lid, s);
    if (lid == 0u && j < U.mid) { dx[j] = dx[j] + total; }
}
