// softplus: y = f(x). Its entries, forward and backward, come from ops/unary.wgsl.
// log1p keeps the tail e^(βx) for very negative x, where log(1 + t) would round to 0.
fn log1p(t: f32) -> f32 {
    if (t < 1e-4) { return t * (1.0 - t * (0.5 - t * 0.33333334)); }
    return log(1.0 + t);
}
fn f(x: f32) -> f32 { let bx = U.beta * x; return (max(bx, 0.0) + log1p(exp(-abs(bx)))) / U.beta; }
fn df(x: f32, y: f32) -> f32 { return 1.0 / (1.0 + exp(-U.beta * x)); }

//! entries from ops/unary.wgsl
