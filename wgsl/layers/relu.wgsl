// relu: y = f(x). Its entries, forward and backward, come from ops/unary.wgsl.

fn f(x: f32) -> f32 { return max(x, 0.0); }
fn df(x: f32, y: f32) -> f32 { return select(0.0, 1.0, x > 0.0); }

//! entries from ops/unary.wgsl
