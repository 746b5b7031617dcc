// BatchNorm: x is (N, C, S) (S positions per channel; 1 for (?, C)); element (n, c, s) is at
// (n·C + c)·S + s. Per channel the M = N·S values are reduced by one workgroup of 64.
// stat = [μ (C), 1/√(σ² + ε) (C)]; sums = [Σdy (C), Σdy·x̂ (C)]. See batch_norm.py.

var<workgroup> partial: array<f32, 64>;

// The workgroup's sum of v; every invocation of the group must call it, and all get the total.
fn group_sum(lid: u32, v: f32) -> f32 {
    partial[lid] = v;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s = s >> 1u) {
        if (lid < s) { partial[lid] = partial[lid] + partial[lid + s]; }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();           // everyone has read it before partial is written again
    return total;
}

// the flat index of the k-th of channel c's M values
fn at(c: u32, k: u32) -> u32 {
    return ((k / U.S) * U.C + c) * U.S + k % U.S;
}

//! entry stats
// Training: the batch's μ and σ² (two passes), and the running statistics' update.
@compute @workgroup_size(64)
fn stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
    let c = wid.x + wid.y * nwg.x;
    if (c >= U.C) { return; }
    let m = U.N * U.S;
    var acc = 0.0;
    for (var k = lid; k < m; k += 64u) { acc += x[at(c, k)]; }
    let mean = group_sum(lid, acc) / f32(m);
    acc = 0.0;
    for (var k = lid; k < m; k += 64u) { let d = x[at(c, k)] - mean; acc += d * d; }
    let var_ = group_sum(lid, acc) / f32(m);
    if (lid == 0u) {
        stat[c] = mean;
        stat[U.C + c] = 1.0 / sqrt(var_ + U.eps);
        let unbiased = var_ * f32(m) / f32(max(m, 2u) - 1u);
        rm[c] = (1.0 - U.momentum) * rm[c] + U.momentum * mean;
        rv[c] = (1.0 - U.momentum) * rv[c] + U.momentum * unbiased;
    }
}

//! entry eval_stats
// Evaluation: the running statistics, unchanged.
@compute @workgroup_size(64)
fn eval_stats(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let c = linear_id(gid, nwg);
    if (c >= U.C) { return; }
    stat[c] = rm[c];
    stat[U.C + c] = 1.0 / sqrt(rv[c] + U.eps);
}

//! entry normalize
@compute @workgroup_size(64)
fn normalize(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= U.N * U.C * U.S) { return; }
    let c = (i / U.S) % U.C;
    y[i] = (x[i] - stat[c]) * stat[U.C + c] * gamma[c] + beta[c];
}

//! entry grad_stats
// Per channel: Σdy and Σdy·x̂, which are dβ and dγ (added in) and feed grad_x.
@compute @workgroup_size(64)
fn grad_stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let c = wid.x + wid.y * nwg.x;
    if (c >= U.C) { return; }
    let m = U.N * U.S;
    let mean = stat[c];
    let rstd = stat[U.C + c];
    var a = 0.0;
    var b = 0.0;
    for (var k = lid; k < m; k += 64u) {
        let j = at(c, k);
        a += dy[j];
        b += dy[j] * (x[j] - mean) * rstd;
    }
    let s1 = group_sum(lid, a);
    let s2 = group_sum(lid, b);
    if (lid == 0u) {
        sums[c] = s1;
        sums[U.C + c] = s2;
        dbeta[c] = dbeta[c] + s1;
        dgamma[c] = dgamma[c] + s2;
    }
}

//! entry grad_x
// batch_stats = 1 (training): through μ and σ² too; 0 (evaluation): the statistics are constants.
@compute @workgroup_size(64)
fn grad_x(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= U.N * U.C * U.S) { return; }
    let c = (i / U.S) % U.C;
    let rstd = stat[U.C + c];
    var g = dy[i];
    if (U.batch_stats == 1u) {
        let m = f32(U.N * U.S);
        let xhat = (x[i] - stat[c]) * rstd;
        g = g - sums[c] / m - xhat * sums[U.C + c] / m;
    }
    dx[i] = dx[i] + gamma[c] * rstd * g;
}
