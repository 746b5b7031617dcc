// tanh: y = f(x). Its entries, forward and backward, come from ops/unary.wgsl.
// tanh() of large |x| can give NaN on some drivers (exp overflow); clamp first.
fn tanh_stable(x: f32) -> f32 { return tanh(clamp(x, -15.0, 15.0)); }
fn f(x: f32) -> f32 { return tanh_stable(x); }
fn df(x: f32, y: f32) -> f32 { return 1.0 - y * y; }

//! entries from ops/unary.wgsl
