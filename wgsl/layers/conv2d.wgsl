// Conv2D, channels first. x (N, C, H, W), w (O, C/G, K, K), b (O), y (N, O, Ho, Wo).
// Tap (ky, kx) of output (oy, ox) reads input (oy*S - PT + ky*D, ox*S - PL + kx*D); outside
// the image it reads 0. Uniforms: N C H W O Ho Wo K S D PT PL G (+ has_bias for forward).
// Every kernel gathers (one invocation, or for the weight and bias gradients one workgroup,
// per element it writes): no atomics, no races.

//! include ops/group_sum.wgsl

//! entry forward
// One invocation per output element. Without a bias the host binds the weights as `b`.
@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= U.N * U.O * U.Ho * U.Wo) { return; }
    let ox = i % U.Wo;
    let oy = (i / U.Wo) % U.Ho;
    let o = (i / (U.Wo * U.Ho)) % U.O;
    let n = i / (U.Wo * U.Ho * U.O);
    let cg = U.C / U.G;
    let c0 = (o / (U.O / U.G)) * cg;
    let y0 = i32(oy * U.S) - i32(U.PT);
    let x0 = i32(ox * U.S) - i32(U.PL);
    var acc = 0.0;
    if (U.has_bias == 1u) { acc = b[o]; }
    for (var ci = 0u; ci < cg; ci++) {
        let xb = (n * U.C + c0 + ci) * U.H;
        let wb = (o * cg + ci) * U.K;
        for (var ky = 0u; ky < U.K; ky++) {
            let iy = y0 + i32(ky * U.D);
            if (iy < 0 || iy >= i32(U.H)) { continue; }
            let xr = (xb + u32(iy)) * U.W;
            let wr = (wb + ky) * U.K;
            for (var kx = 0u; kx < U.K; kx++) {
                let ix = x0 + i32(kx * U.D);
                if (ix < 0 || ix >= i32(U.W)) { continue; }
                acc += x[xr + u32(ix)] * w[wr + kx];
            }
        }
    }
    y[i] = acc;
}

//! entry backward_x
// One invocation per input element: dx += Σ dy[n, o, oy, ox] · w[o, c, ky, kx] over every
// output o of c's group and tap (ky, kx) with oy·S − PT + ky·D = iy (and likewise in x).
@compute @workgroup_size(64)
fn backward_x(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= U.N * U.C * U.H * U.W) { return; }
    let ix = i32(i % U.W);
    let iy = i32((i / U.W) % U.H);
    let c = (i / (U.W * U.H)) % U.C;
    let n = i / (U.W * U.H * U.C);
    let cg = U.C / U.G;
    let og = U.O / U.G;
    let grp = c / cg;
    let ci = c % cg;
    let S = i32(U.S);
    var acc = 0.0;
    for (var oo = 0u; oo < og; oo++) {
        let o = grp * og + oo;
        let yb = (n * U.O + o) * U.Ho;
        let wb = (o * cg + ci) * U.K;
        for (var ky = 0u; ky < U.K; ky++) {
            let ty = iy + i32(U.PT) - i32(ky * U.D);
            if (ty < 0 || ty % S != 0) { continue; }
            let oy = u32(ty / S);
            if (oy >= U.Ho) { continue; }
            for (var kx = 0u; kx < U.K; kx++) {
                let tx = ix + i32(U.PL) - i32(kx * U.D);
                if (tx < 0 || tx % S != 0) { continue; }
                let ox = u32(tx / S);
                if (ox >= U.Wo) { continue; }
                acc += dy[(yb + oy) * U.Wo + ox] * w[(wb + ky) * U.K + kx];
            }
        }
    }
    dx[i] = dx[i] + acc;
}

//! entry backward_w
// One workgroup per weight: the weight was shared by every sample and position, so its
// gradient sums dy · (the input it saw) over all N·Ho·Wo of them. The 64 invocations take
// every 64th position, a tree in workgroup memory adds their sums (one invocation summing
// them all stopped after 65535 on lavapipe, whose loop limiter ends an invocation's loops
// after 65535 iterations in all). Weights past 65535 groups spill into y.
@compute @workgroup_size(64)
fn backward_w(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let cg = U.C / U.G;
    let j = wid.x + wid.y * nwg.x;
    var acc = 0.0;
    if (j < U.O * cg * U.K * U.K) {
        let kx = j % U.K;
        let ky = (j / U.K) % U.K;
        let ci = (j / (U.K * U.K)) % cg;
        let o = j / (U.K * U.K * cg);
        let c = (o / (U.O / U.G)) * cg + ci;
        let dy0 = i32(ky * U.D) - i32(U.PT);
        let dx0 = i32(kx * U.D) - i32(U.PL);
        let P = U.Ho * U.Wo;
        for (var r = lid; r < U.N * P; r += WG) {
            let n = r / P;
            let oy = (r / U.Wo) % U.Ho;
            let ox = r % U.Wo;
            let iy = i32(oy * U.S) + dy0;
            let ix = i32(ox * U.S) + dx0;
            if (iy < 0 || iy >= i32(U.H) || ix < 0 || ix >= i32(U.W)) { continue; }
            acc += dy[((n * U.O + o) * U.Ho + oy) * U.Wo + ox] * x[((n * U.C + c) * U.H + u32(iy)) * U.W + u32(ix)];
        }
    }
    let total = group_sum(lid, acc);
    if (lid == 0u && j < U.O * cg * U.K * U.K) { dw[j] = dw[j] + total; }
}

//! entry backward_b
// One workgroup per output channel: db[o] += Σ_{n, oy, ox} dy, in 64 strided shares.
@compute @workgroup_size(64)
fn backward_b(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let o = wid.x + wid.y * nwg.x;
    let P = U.Ho * U.Wo;
    var acc = 0.0;
    if (o < U.O) {
        for (var r = lid; r < U.N * P; r += WG) { acc += dy[((r / P) * U.O + o) * P + r % P]; }
    }
    let total = group_sum(lid, acc);
    if (lid == 0u && o < U.O) { db[o] = db[o] + total; }
}

// ---- the implicit GEMM (one group): positions as rows r = (n·Ho + oy)·Wo + ox, taps as
// columns j = (c·K + ky)·K + kx; cols is (N·Ho·Wo, C·K·K), the row matrices (N·Ho·Wo, O).

//! entry im2col
// One invocation per (row, input channel): writes that channel's K·K taps of the row.
@compute @workgroup_size(64)
fn im2col(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    let P = U.Ho * U.Wo;
    if (i >= U.N * P * U.C) { return; }
    let c = i % U.C;
    let r = i / U.C;
    let n = r / P;
    let ox = r % U.Wo;
    let oy = (r / U.Wo) % U.Ho;
    let y0 = i32(oy * U.S) - i32(U.PT);
    let x0 = i32(ox * U.S) - i32(U.PL);
    let xb = (n * U.C + c) * U.H;
    var o = (r * U.C + c) * U.K * U.K;
    for (var ky = 0u; ky < U.K; ky++) {
        let iy = y0 + i32(ky * U.D);
        let rowok = iy >= 0 && iy < i32(U.H);
        let xr = (xb + u32(clamp(iy, 0, i32(U.H) - 1))) * U.W;
        for (var kx = 0u; kx < U.K; kx++) {
            let ix = x0 + i32(kx * U.D);
            let ok = rowok && ix >= 0 && ix < i32(U.W);
            cols[o] = select(0.0, x[xr + u32(clamp(ix, 0, i32(U.W) - 1))], ok);
            o++;
        }
    }
}

//! entry to_nchw
// y[n, o, p] = rows[(n·P + p)·O + o], one invocation per element of y.
@compute @workgroup_size(64)
fn to_nchw(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    let P = U.Ho * U.Wo;
    if (i >= U.N * U.O * P) { return; }
    let p = i % P;
    let o = (i / P) % U.O;
    let n = i / (P * U.O);
    y[i] = rows[(n * P + p) * U.O + o];
}

//! entry to_rows
// The inverse: rows[(n·P + p)·O + o] = dy[n, o, p].
@compute @workgroup_size(64)
fn to_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    let P = U.Ho * U.Wo;
    if (i >= U.N * U.O * P) { return; }
    let p = i % P;
    let o = (i / P) % U.O;
    let n = i / (P * U.O);
    rows[(n * P + p) * U.O + o] = dy[i];
}

//! entry bias_rows
// db[o] += Σ over rows of dy's row matrix: one workgroup per channel, 64 strided shares.
@compute @workgroup_size(64)
fn bias_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let o = wid.x + wid.y * nwg.x;
    let R = U.N * U.Ho * U.Wo;
    var acc = 0.0;
    if (o < U.O) {
        for (var r = lid; r < R; r += WG) { acc += rows[r * U.O + o]; }
    }
    let total = group_sum(lid, acc);
    if (lid == 0u && o < U.O) { db[o] = db[o] + total; }
}

//! entry col2im
// One invocation per input element: dx += Σ dcols over every (row, tap) that read it.
@compute @workgroup_size(64)
fn col2im(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= U.N * U.C * U.H * U.W) { return; }
    let ix = i32(i % U.W);
    let iy = i32((i / U.W) % U.H);
    let c = (i / (U.W * U.H)) % U.C;
    let n = i / (U.W * U.H * U.C);
    let S = i32(U.S);
    let kk = U.C * U.K * U.K;
    var acc = 0.0;
    for (var ky = 0u; ky < U.K; ky++) {
        let ty = iy + i32(U.PT) - i32(ky * U.D);
        if (ty < 0 || ty % S != 0) { continue; }
        let oy = u32(ty / S);
        if (oy >= U.Ho) { continue; }
        for (var kx = 0u; kx < U.K; kx++) {
            let tx = ix + i32(U.PL) - i32(kx * U.D);
            if (tx < 0 || tx % S != 0) { continue; }
            let ox = u32(tx / S);
            if (ox >= U.Wo) { continue; }
            acc += dcols[((n * U.Ho + oy) * U.Wo + ox) * kk + (c * U.K + ky) * U.K + kx];
        }
    }
    dx[i] = dx[i] + acc;
}
