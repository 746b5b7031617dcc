// gelu: y = f(x). Its entries, forward and backward, come from ops/unary.wgsl.
// WGSL has no erf: Abramowitz-Stegun 7.1.26 has |error| < 1.5e-7, below float32 resolution.
fn erf(v: f32) -> f32 {
    let s = sign(v);
    let a = abs(v);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    return s * (1.0 - poly * exp(-a * a));
}
fn f(x: f32) -> f32 { return 0.5 * x * (1.0 + erf(x * 0.7071067811865476)); }
fn df(x: f32, y: f32) -> f32 { return 0.5 * (1.0 + erf(x * 0.7071067811865476)) + x * 0.3989422804014327 * exp(-0.5 * x * x); }

//! entries from ops/unary.wgsl
