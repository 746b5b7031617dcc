// SGD as torch.optim.SGD defines it (maximize=False):
//   g = grad + weight_decay * p                       (L2 decay)
//   momentum: buf = g on the first step, else momentum * buf + (1 - dampening) * g
//             g = g + momentum * buf if nesterov else buf
//   p = p - lr * g
// Hyperparameters come from the "hyper" tensor so the host can change them between steps.
// Slot numbers must match app/model/optim.py HYPER_SLOTS (tests/test_optim.py checks).
const H_LR: u32 = 0u;
const H_MOMENTUM: u32 = 1u;
const H_DAMPENING: u32 = 2u;
const H_WEIGHT_DECAY: u32 = 6u;

// The hyperparameters, read once per invocation rather than per element: a storage load costs
// the same per lane whatever its address (bench/lavapipe_loads.py), and the compiler can't move
// these loads past a kernel's stores to the parameters (the buffers might alias).
struct SgdHyper { lr: f32, weight_decay: f32, momentum: f32, dampening: f32 }

fn sgd_hyper() -> SgdHyper {
    return SgdHyper(hyper[H_LR], hyper[H_WEIGHT_DECAY], hyper[H_MOMENTUM], hyper[H_DAMPENING]);
}

// The update of one element, shared with generated kernels (//! include optim/sgd.wgsl):
// they bind "hyper" under the same name. sgd_value returns the new parameter;
// momentum_value returns (new parameter, new momentum buffer).
fn sgd_value(h: SgdHyper, p: f32, grad: f32) -> f32 {
    let g = grad + h.weight_decay * p;
    return p - h.lr * g;
}

fn momentum_value(h: SgdHyper, p: f32, grad: f32, m: f32, first: bool, nesterov: bool) -> vec2<f32> {
    var g = grad + h.weight_decay * p;
    var buf = g;                       // torch starts the buffer at the first gradient
    if (!first) {
        buf = h.momentum * m + (1.0 - h.dampening) * g;
    }
    if (nesterov) {
        g = g + h.momentum * buf;
    } else {
        g = buf;
    }
    return vec2<f32>(p - h.lr * g, buf);
}

//! entry sgd
// bindings: param (rw), grad, hyper; uniforms: n
@compute @workgroup_size(64)
fn sgd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= U.n) {
        return;
    }
    param[i] = sgd_value(sgd_hyper(), param[i], grad[i]);
}

//! entry momentum
// bindings: param (rw), grad, m (rw, the momentum buffer), hyper, counters; uniforms: n, nesterov
@compute @workgroup_size(64)
fn momentum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= U.n) {
        return;
    }
    let r = momentum_value(sgd_hyper(), param[i], grad[i], m[i], counters[0] == 0u, U.nesterov != 0u);
    m[i] = r.y;
    param[i] = r.x;
}
