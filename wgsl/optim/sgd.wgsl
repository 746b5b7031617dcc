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

// The update of one element, shared with generated kernels (//! include optim/sgd.wgsl):
// they bind "hyper" under the same name. sgd_value returns the new parameter;
// momentum_value returns (new parameter, new momentum buffer).
fn sgd_value(p: f32, grad: f32) -> f32 {
    let g = grad + hyper[H_WEIGHT_DECAY] * p;
    return p - hyper[H_LR] * g;
}

fn momentum_value(p: f32, grad: f32, m: f32, first: bool, nesterov: bool) -> vec2<f32> {
    let mu = hyper[H_MOMENTUM];
    var g = grad + hyper[H_WEIGHT_DECAY] * p;
    var buf = g;                       // torch starts the buffer at the first gradient
    if (!first) {
        buf = mu * m + (1.0 - hyper[H_DAMPENING]) * g;
    }
    if (nesterov) {
        g = g + mu * buf;
    } else {
        g = buf;
    }
    return vec2<f32>(p - hyper[H_LR] * g, buf);
}

//! entry sgd
// bindings: param (rw), grad, hyper; uniforms: n
@compute @workgroup_size(64)
fn sgd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= U.n) {
        return;
    }
    param[i] = sgd_value(param[i], grad[i]);
}

//! entry momentum
// bindings: param (rw), grad, m (rw, the momentum buffer), hyper, counters; uniforms: n, nesterov
@compute @workgroup_size(64)
fn momentum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= U.n) {
        return;
    }
    let r = momentum_value(param[i], grad[i], m[i], counters[0] == 0u, U.nesterov != 0u);
    m[i] = r.y;
    param[i] = r.x;
}
