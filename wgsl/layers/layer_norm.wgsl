// LayerNorm: x is (R rows, D normalised values); γ, β have D values. One workgroup of 64 per
// row for the forward and dx; one workgroup per feature for dγ, dβ. stat = [μ (R), rstd (R)].

//! include ops/group_sum.wgsl

//! entry forward
@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let r = wid.x + wid.y * nwg.x;
    if (r >= U.R) { return; }
    let o = r * U.D;
    var acc = 0.0;
    for (var j = lid; j < U.D; j += 64u) { acc += x[o + j]; }
    let mean = group_sum(lid, acc) / f32(U.D);
    acc = 0.0;
    for (var j = lid; j < U.D; j += 64u) { let d = x[o + j] - mean; acc += d * d; }
    let rstd = 1.0 / sqrt(group_sum(lid, acc) / f32(U.D) + U.eps);
    for (var j = lid; j < U.D; j += 64u) { y[o + j] = (x[o + j] - mean) * rstd * gamma[j] + beta[j]; }
    if (lid == 0u) {
        stat[r] = mean;
        stat[U.R + r] = rstd;
    }
}

//! entry backward_x
@compute @workgroup_size(64)
fn backward_x(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let r = wid.x + wid.y * nwg.x;
    if (r >= U.R) { return; }
    let o = r * U.D;
    let mean = stat[r];
    let rstd = stat[U.R + r];
    var a = 0.0;
    var b = 0.0;
    for (var j = lid; j < U.D; j += 64u) {
        let g = dy[o + j] * gamma[j];
        a += g;
        b += g * (x[o + j] - mean) * rstd;
    }
    let s1 = group_sum(lid, a) / f32(U.D);
    let s2 = group_sum(lid, b) / f32(U.D);
    for (var j = lid; j < U.D; j += 64u) {
        let xhat = (x[o + j] - mean) * rstd;
        dx[o + j] = dx[o + j] + rstd * (dy[o + j] * gamma[j] - s1 - xhat * s2);
    }
}

//! entry backward_w
// One workgroup per feature j: dβ[j] += Σ_r dy, dγ[j] += Σ_r dy · x̂, in 64 strided shares of the rows.
// (lavapipe's loop limiter ends an invocation's loops after 65535 iterations in all, so one
// invocation may not sum the batch: one workgroup per output, 64 strided shares, a tree.)
@compute @workgroup_size(64)
fn backward_w(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let j = wid.x + wid.y * nwg.x;
    var a = 0.0;
    var b = 0.0;
    if (j < U.D) {
        for (var r = lid; r < U.R; r += 64u) {
            let i = r * U.D + j;
            a += dy[i];
            b += dy[i] * (x[i] - stat[r]) * stat[U.R + r];
        }
    }
    let sa = group_sum(lid, a);
    let sb = group_sum(lid, b);
    if (lid == 0u && j < U.D) {
        dbeta[j] = dbeta[j] + sa;
        dgamma[j] = dgamma[j] + sb;
    }
}
