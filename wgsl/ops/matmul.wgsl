// C (+)= op(A)[M,K] · op(B)[K,N] (+ bias[N]), row-major.
// Transposes are index tricks, so dX = dY·Wᵀ (tb=1) and dW = Xᵀ·dY (ta=1) need no copies.
// ta=1: A is stored (K, M). tb=1: B is stored (N, K). acc=1 adds into C instead of writing.
// Each invocation computes one 4x4 block of C in registers.
// The sum runs over k in [k0, k1): lavapipe ends an invocation's loops after 65535 iterations
// in all, so app/model/lower.py splits a longer K into dispatches of at most K_CHUNK steps,
// the later ones with acc=1 (and without the bias).

fn a_at(r: u32, k: u32) -> f32 {
    if (U.ta == 1u) { return a[k * U.M + r]; }
    return a[r * U.K + k];
}

fn b_at(k: u32, c: u32) -> f32 {
    if (U.tb == 1u) { return b[c * U.K + k]; }
    return b[k * U.N + c];
}

// The 4x4 block starting at (r0, c0); rows/cols past the edge are computed on clamped
// indices and never stored.
fn block(r0: u32, c0: u32) -> array<vec4<f32>, 4> {
    var acc: array<vec4<f32>, 4>;
    let rmax = U.M - 1u;
    let cmax = U.N - 1u;
    let r = vec4<u32>(min(r0, rmax), min(r0 + 1u, rmax), min(r0 + 2u, rmax), min(r0 + 3u, rmax));
    let c = vec4<u32>(min(c0, cmax), min(c0 + 1u, cmax), min(c0 + 2u, cmax), min(c0 + 3u, cmax));
    for (var k = U.k0; k < U.k1; k++) {
        let bv = vec4<f32>(b_at(k, c.x), b_at(k, c.y), b_at(k, c.z), b_at(k, c.w));
        acc[0] += a_at(r.x, k) * bv;
        acc[1] += a_at(r.y, k) * bv;
        acc[2] += a_at(r.z, k) * bv;
        acc[3] += a_at(r.w, k) * bv;
    }
    return acc;
}

fn store(row: u32, col: u32, v: f32) {
    if (row < U.M && col < U.N) {
        let i = row * U.N + col;
        if (U.acc == 1u) { c[i] = c[i] + v; } else { c[i] = v; }
    }
}

fn block_origin(gid: vec3<u32>, nwg: vec3<u32>) -> vec2<u32> {
    let i = linear_id(gid, nwg);
    let bc = (U.N + 3u) / 4u;
    return vec2<u32>((i / bc) * 4u, (i % bc) * 4u);
}

//! entry matmul
@compute @workgroup_size(64)
fn matmul(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = block_origin(gid, nwg);
    if (o.x >= U.M) { return; }
    let acc = block(o.x, o.y);
    for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { store(o.x + i, o.y + j, acc[i][j]); }
    }
}

//! entry matmul_bias
@compute @workgroup_size(64)
fn matmul_bias(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = block_origin(gid, nwg);
    if (o.x >= U.M) { return; }
    let acc = block(o.x, o.y);
    for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
            let col = min(o.y + j, U.N - 1u);
            store(o.x + i, o.y + j, acc[i][j] + bias[col]);
        }
    }
}
