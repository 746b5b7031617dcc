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

//! entry adam
// bindings: param (rw), grad, m (rw), v (rw), hyper, counters; uniforms: n, decoupled (1 = AdamW)
@compute @workgroup_size(64)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= U.n) {
        return;
    }
    let lr = hyper[H_LR];
    let beta1 = hyper[H_BETA1];
    let beta2 = hyper[H_BETA2];
    let c1 = hyper[H_ONE_MINUS_BETA1];
    let c2 = hyper[H_ONE_MINUS_BETA2];
    let wd = hyper[H_WEIGHT_DECAY];
    let t = counters[0] + 1u;
    var p = param[i];
    var g = grad[i];
    if (U.decoupled != 0u) {
        p = p * (1.0 - lr * wd);
    } else {
        g = g + wd * p;
    }
    let mi = beta1 * m[i] + c1 * g;
    let vi = beta2 * v[i] + c2 * g * g;
    m[i] = mi;
    v[i] = vi;
    let denom = sqrt(vi) / sqrt(bias_correction(beta2, c2, t)) + hyper[H_EPS];
    param[i] = p - lr / bias_correction(beta1, c1, t) * mi / denom;
}
