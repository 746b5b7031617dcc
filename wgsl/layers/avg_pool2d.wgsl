// AvgPool2D over P = N·C planes of H × W; y is (P, Ho, Wo). Uniforms: P H W Ho Wo K S PT PL.
// A window's mean is over its elements inside the image (padding isn't counted).

// the rows [r0, r1) of a window starting at t (same for columns), clipped to [0, n)
fn clip(t: i32, n: u32) -> vec2<i32> {
    return vec2<i32>(max(t, 0), min(t + i32(U.K), i32(n)));
}

fn count(oy: u32, ox: u32) -> f32 {
    let r = clip(i32(oy * U.S) - i32(U.PT), U.H);
    let c = clip(i32(ox * U.S) - i32(U.PL), U.W);
    return f32((r.y - r.x) * (c.y - c.x));
}

//! entry forward
@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= U.P * U.Ho * U.Wo) { return; }
    let ox = i % U.Wo;
    let oy = (i / U.Wo) % U.Ho;
    let pl = i / (U.Wo * U.Ho);
    let r = clip(i32(oy * U.S) - i32(U.PT), U.H);
    let c = clip(i32(ox * U.S) - i32(U.PL), U.W);
    var s = 0.0;
    for (var iy = r.x; iy < r.y; iy++) {
        for (var ix = c.x; ix < c.y; ix++) { s += x[(pl * U.H + u32(iy)) * U.W + u32(ix)]; }
    }
    y[i] = s / count(oy, ox);
}

//! entry backward
// One invocation per input element: dx += Σ dy / count over the windows that contain it.
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
    let oy0 = max(0, (ty - K + S) / S);
    let ox0 = max(0, (tx - K + S) / S);
    let oy1 = min(i32(U.Ho) - 1, ty / S);
    let ox1 = min(i32(U.Wo) - 1, tx / S);
    var acc = 0.0;
    for (var oy = oy0; oy <= oy1; oy++) {
        for (var ox = ox0; ox <= ox1; ox++) {
            acc += dy[(pl * U.Ho + u32(oy)) * U.Wo + u32(ox)] / count(u32(oy), u32(ox));
        }
    }
    dx[i] = dx[i] + acc;
}
