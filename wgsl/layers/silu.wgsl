// silu: y = f(x). Its entries, forward and backward, come from ops/unary.wgsl.
// σ(x) = 1 / (1 + e⁻ˣ) is safe at both ends in f32: e⁻ˣ → inf gives 0, → 0 gives 1.
fn sigma(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
fn f(x: f32) -> f32 { return x * sigma(x); }
fn df(x: f32, y: f32) -> f32 { let s = sigma(x); return s * (1.0 + x * (1.0 - s)); }

//! entries from ops/unary.wgsl
