// Conv2D, channels first. x (N, C, H, W), w (O, C/G, K, K), b (O), y (N, O, Ho, Wo).
// Tap (ky, kx) of output (oy, ox) reads input (oy*S - PT + ky*D, ox*S - PL + kx*D); outside
// the image it reads 0. Uniforms: N C H W O Ho Wo K S D PT PL G (+ has_bias for forward).
// Every kernel gathers (one invocation per element it writes): no atomics, no races.

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
// One invocation per weight: the weight was shared by every sample and position, so its
// gradient sums dy · (the input it saw) over all of them.
@compute @workgroup_size(64)
fn backward_w(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let cg = U.C / U.G;
    let j = linear_id(gid, nwg);
    if (j >= U.O * cg * U.K * U.K) { return; }
    let kx = j % U.K;
    let ky = (j / U.K) % U.K;
    let ci = (j / (U.K * U.K)) % cg;
    let o = j / (U.K * U.K * cg);
    let c = (o / (U.O / U.G)) * cg + ci;
    let dy0 = i32(ky * U.D) - i32(U.PT);
    let dx0 = i32(kx * U.D) - i32(U.PL);
    var acc = 0.0;
    for (var n = 0u; n < U.N; n++) {
        let yb = (n * U.O + o) * U.Ho;
        let xb = (n * U.C + c) * U.H;
        for (var oy = 0u; oy < U.Ho; oy++) {
            let iy = i32(oy * U.S) + dy0;
            if (iy < 0 || iy >= i32(U.H)) { continue; }
            let yr = (yb + oy) * U.Wo;
            let xr = (xb + u32(iy)) * U.W;
            for (var ox = 0u; ox < U.Wo; ox++) {
                let ix = i32(ox * U.S) + dx0;
                if (ix < 0 || ix >= i32(U.W)) { continue; }
                acc += dy[yr + ox] * x[xr + u32(ix)];
            }
        }
    }
    dw[j] = dw[j] + acc;
}

//! entry backward_b
// One invocation per output channel: db[o] += Σ_{n, oy, ox} dy.
@compute @workgroup_size(64)
fn backward_b(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = linear_id(gid, nwg);
    if (o >= U.O) { return; }
    let plane = U.Ho * U.Wo;
    var acc = 0.0;
    for (var n = 0u; n < U.N; n++) {
        let b0 = (n * U.O + o) * plane;
        for (var k = 0u; k < plane; k++) { acc += dy[b0 + k]; }
    }
    db[o] = db[o] + acc;
}
