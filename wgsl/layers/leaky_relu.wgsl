// leaky_relu: y = f(x). Its entries, forward and backward, come from ops/unary.wgsl.

fn f(x: f32) -> f32 { return select(U.slope * x, x, x > 0.0); }
fn df(x: f32, y: f32) -> f32 { return select(U.slope, 1.0, x > 0.0); }

//! entries from ops/unary.wgsl
