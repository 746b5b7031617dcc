// MaxPool2D over P = N·C planes of H × W; y and arg are (P, Ho, Wo).
// Uniforms: P H W Ho Wo K S PT PL. arg holds the flat index into x of each window's maximum:
// the FIRST maximum in scan order (strict >), so ties go to the earliest element.

const NONE: u32 = 0xffffffffu;

//! entry forward
@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= U.P * U.Ho * U.Wo) { return; }
    let ox = i % U.Wo;
    let oy = (i / U.Wo) % U.Ho;
    let pl = i / (U.Wo * U.Ho);
    let y0 = i32(oy * U.S) - i32(U.PT);
    let x0 = i32(ox * U.S) - i32(U.PL);
    var best = 0.0;
    var at = NONE;
    for (var ky = 0u; ky < U.K; ky++) {
        let iy = y0 + i32(ky);
        if (iy < 0 || iy >= i32(U.H)) { continue; }
        for (var kx = 0u; kx < U.K; kx++) {
            let ix = x0 + i32(kx);
            if (ix < 0 || ix >= i32(U.W)) { continue; }
            let j = (pl * U.H + u32(iy)) * U.W + u32(ix);
            let v = x[j];
            if (at == NONE || v > best) { best = v; at = j; }
        }
    }
    y[i] = best;
    arg[i] = at;
}

//! entry backward
// One invocation per input element: the windows that contain it are oy in
// [ceil((iy + PT − K + 1) / S), floor((iy + PT) / S)] (and likewise for ox).
@compute @workgroup_size(64)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= U.P * U.H * U.W) { return; }
    let ix = i % U.W;
    let iy = (i / U.W) % U.H;
    let pl = i / (U.W * U.H);
    let ty = i32(iy + U.PT);
    let tx = i32(ix + U.PL);
    let S = i32(U.S);
    let K = i32(U.K);
    let oy0 = max(0, (ty - K + S) / S);      // ceil((ty − K + 1) / S) for ty − K + 1 > −S
    let ox0 = max(0, (tx - K + S) / S);
    let oy1 = min(i32(U.Ho) - 1, ty / S);
    let ox1 = min(i32(U.Wo) - 1, tx / S);
    var acc = 0.0;
    for (var oy = oy0; oy <= oy1; oy++) {
        for (var ox = ox0; ox <= ox1; ox++) {
            let o = (pl * U.Ho + u32(oy)) * U.Wo + u32(ox);
            if (arg[o] == i) { acc += dy[o]; }
        }
    }
    dx[i] = dx[i] + acc;
}
