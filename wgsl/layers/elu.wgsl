// elu: y = f(x). Its entries, forward and backward, come from ops/unary.wgsl.
// expm1 keeps the relative precision of eˣ − 1 near 0 (exp(x) − 1 alone loses it).
fn expm1(v: f32) -> f32 {
    if (abs(v) < 1e-3) { return v * (1.0 + v * (0.5 + v * 0.16666667)); }
    return exp(v) - 1.0;
}
fn f(x: f32) -> f32 { return select(U.alpha * expm1(min(x, 0.0)), x, x > 0.0); }
fn df(x: f32, y: f32) -> f32 { return select(y + U.alpha, 1.0, x > 0.0); }

//! entries from ops/unary.wgsl
