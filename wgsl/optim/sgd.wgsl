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

//! entry sgd
// bindings: param (rw), grad, hyper; uniforms: n
@compute @workgroup_size(64)
fn sgd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= U.n) {
        return;
    }
    let g = grad[i] + hyper[H_WEIGHT_DECAY] * param[i];
    param[i] = param[i] - hyper[H_LR] * g;
}

//! entry momentum
// bindings: param (rw), grad, m (rw, the momentum buffer), hyper, counters; uniforms: n, nesterov
@compute @workgroup_size(64)
fn momentum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= U.n) {
        return;
    }
    let mu = hyper[H_MOMENTUM];
    var g = grad[i] + hyper[H_WEIGHT_DECAY] * param[i];
    var buf = g;                       // torch starts the buffer at the first gradient
    if (counters[0] != 0u) {
        buf = mu * m[i] + (1.0 - hyper[H_DAMPENING]) * g;
    }
    m[i] = buf;
    if (U.nesterov != 0u) {
        g = g + mu * buf;
    } else {
        g = buf;
    }
    param[i] = param[i] - hyper[H_LR] * g;
}
