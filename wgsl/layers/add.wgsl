// Add: y = a + b. More inputs are added in place by ops/axpy.wgsl; the backward is add_into too.

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
// One invocation per operand element j: dx[j] += Σ dy over every position it was added to.
@compute @workgroup_size(64)
fn grad_b(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = linear_id(gid, nwg);
    if (j >= U.mid) { return; }
    let outer = U.n / (U.mid * U.inner);
    var s = 0.0;
    for (var o = 0u; o < outer; o++) {
        let b0 = (o * U.mid + j) * U.inner;
        for (var r = 0u; r < U.inner; r++) { s += dy[b0 + r]; }
    }
    dx[j] = dx[j] + s;
}
