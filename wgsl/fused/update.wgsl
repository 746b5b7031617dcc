// The optimizer over every parameter at once: P, G, M, V are flat buffers (each parameter a
// view at the same offset in all four, see app/model/fused.py), four elements at a time, a
// grid-stride loop over them (a few workgroups: each costs ~1-3 us on lavapipe).
// Padding between views holds zeros and stays zero. The per-element math is the optimizer's
// own (wgsl/optim/*.wgsl, included). bindings: P (rw), G, [M (rw), V (rw)], hyper, counters;
// uniforms: n4 (vec4s), and nesterov or decoupled.

//! entry sgd
//! include optim/sgd.wgsl
//! vec4 P G
@compute @workgroup_size(64)
fn sgd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let h = sgd_hyper();
    for (var i = gid.x; i < U.n4; i += nwg.x * 64u) {
        let p = P[i];
        let g = G[i];
        P[i] = vec4<f32>(sgd_value(h, p.x, g.x), sgd_value(h, p.y, g.y), sgd_value(h, p.z, g.z), sgd_value(h, p.w, g.w));
    }
}

//! entry momentum
//! include optim/sgd.wgsl
//! vec4 P G M
@compute @workgroup_size(64)
fn momentum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let first = counters[0] == 0u;
    let nesterov = U.nesterov != 0u;
    let h = sgd_hyper();
    for (var i = gid.x; i < U.n4; i += nwg.x * 64u) {
        let p = P[i];
        let g = G[i];
        let m = M[i];
        let x = momentum_value(h, p.x, g.x, m.x, first, nesterov);
        let y = momentum_value(h, p.y, g.y, m.y, first, nesterov);
        let z = momentum_value(h, p.z, g.z, m.z, first, nesterov);
        let w = momentum_value(h, p.w, g.w, m.w, first, nesterov);
        M[i] = vec4<f32>(x.y, y.y, z.y, w.y);
        P[i] = vec4<f32>(x.x, y.x, z.x, w.x);
    }
}

//! entry adam
//! include optim/adam.wgsl
//! vec4 P G M V
@compute @workgroup_size(64)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = counters[0] + 1u;
    let c1 = adam_c1(t);
    let c2 = adam_c2(t);
    let decoupled = U.decoupled != 0u;
    let h = adam_hyper();
    for (var i = gid.x; i < U.n4; i += nwg.x * 64u) {
        let p = P[i];
        let g = G[i];
        let m = M[i];
        let v = V[i];
        let x = adam_value(h, p.x, g.x, m.x, v.x, c1, c2, decoupled);
        let y = adam_value(h, p.y, g.y, m.y, v.y, c1, c2, decoupled);
        let z = adam_value(h, p.z, g.z, m.z, v.z, c1, c2, decoupled);
        let w = adam_value(h, p.w, g.w, m.w, v.w, c1, c2, decoupled);
        M[i] = vec4<f32>(x.y, y.y, z.y, w.y);
        V[i] = vec4<f32>(x.z, y.z, z.z, w.z);
        P[i] = vec4<f32>(x.x, y.x, z.x, w.x);
    }
}
