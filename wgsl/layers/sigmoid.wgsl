// sigmoid: y = f(x). Its entries, forward and backward, come from ops/unary.wgsl.

fn f(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
fn df(x: f32, y: f32) -> f32 { return y * (1.0 - y); }

//! entries from ops/unary.wgsl
