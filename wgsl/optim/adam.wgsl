// Adam and AdamW as torch.optim.Adam / AdamW define them (amsgrad=False, maximize=False):
//   Adam:  g = grad + weight_decay * p                 (L2 decay)
//   AdamW: p = p * (1 - lr * weight_decay)             (decoupled decay), g = grad
//   m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g^2
//   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps),  t = counters[0] + 1
// Slot numbers must match app/model/optim.py HYPER_SLOTS (tests/test_optim.py checks).
const H_LR: u32 = 0u;
const H_BETA1: u32 = 3u;
const H_BETA2: u32 = 4u;
const H_EPS: u32 = 5u;
const H_WEIGHT_DECAY: u32 = 6u;
const H_ONE_MINUS_BETA1: u32 = 7u;
const H_ONE_MINUS_BETA2: u32 = 8u;

// 1 - beta^t for integer t, by binary exponentiation on the pair (x, 1 - x), using
// 1 - x*y = (1 - x) + x*(1 - y) and 1 - x^2 = (1 - x)(1 + x): sums of positive terms, no
// cancellation. While x is near 1 it is recomputed from its complement, which is the
// accurate one there; squaring x itself would double its relative error at every step.
// Within ~5 ulps for any t (pow(beta, t), i.e. exp2(t * log2(beta)), is off by ~1e-4
// relative in 1 - 0.999^t on lavapipe). `one_minus_beta` is rounded once from float64.
fn bias_correction(beta: f32, one_minus_beta: f32, t: u32) -> f32 {
    var base = beta;              // beta^(2^k)
    var base_c = one_minus_beta;  // 1 - beta^(2^k)
    var p = 1.0;                  // beta^(the bits of t consumed so far)
    var c = 0.0;                  // 1 - p
    for (var k = t; k != 0u; k = k >> 1u) {
        if (base_c <= 0.5) {
            base = 1.0 - base_c;
        }
        if ((k & 1u) != 0u) {
            c = c + p * base_c;
            p = p * base;
        }
        base_c = base_c * (1.0 + base);
        base = base * base;
    }
    return c;
}

// The hyperparameters, read once per invocation rather than per element (see optim/sgd.wgsl:
// seven storage loads per element were most of the update's cost).
struct AdamHyper { lr: f32, weight_decay: f32, beta1: f32, beta2: f32, eps: f32, one_minus_beta1: f32,
                   one_minus_beta2: f32 }

fn adam_hyper() -> AdamHyper {
    return AdamHyper(hyper[H_LR], hyper[H_WEIGHT_DECAY], hyper[H_BETA1], hyper[H_BETA2], hyper[H_EPS],
                     hyper[H_ONE_MINUS_BETA1], hyper[H_ONE_MINUS_BETA2]);
}

// The update of one element, shared with generated kernels (//! include optim/adam.wgsl):
// returns (new parameter, new m, new v). c1, c2 are bias_correction(beta1|2, ..., t), which a
// caller computes once for many elements.
fn adam_value(h: AdamHyper, param: f32, grad: f32, m: f32, v: f32, c1: f32, c2: f32, decoupled: bool) -> vec3<f32> {
    var p = param;
    var g = grad;
    if (decoupled) {
        p = p * (1.0 - h.lr * h.weight_decay);
    } else {
        g = g + h.weight_decay * p;
    }
    let mi = h.beta1 * m + h.one_minus_beta1 * g;
    let vi = h.beta2 * v + h.one_minus_beta2 * g * g;
    let denom = sqrt(vi) / sqrt(c2) + h.eps;
    return vec3<f32>(p - h.lr / c1 * mi / denom, mi, vi);
}

fn adam_c1(t: u32) -> f32 { return bias_correction(hyper[H_BETA1], hyper[H_ONE_MINUS_BETA1], t); }
fn adam_c2(t: u32) -> f32 { return bias_correction(hyper[H_BETA2], hyper[H_ONE_MINUS_BETA2], t); }

//! entry adam
// bindings: param (rw), grad, m (rw), v (rw), hyper, counters; uniforms: n, decoupled (1 = AdamW)
@compute @workgroup_size(64)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= U.n) {
        return;
    }
    let t = counters[0] + 1u;
    let r = adam_value(adam_hyper(), param[i], grad[i], m[i], v[i], adam_c1(t), adam_c2(t), U.decoupled != 0u);
    m[i] = r.y;
    v[i] = r.z;
    param[i] = r.x;
}
