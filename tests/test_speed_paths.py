"""The engine features the fast paths stand on: views into flat buffers, generated sources,
the `//! include` and `//! vec4` directives, and several steps recorded in one compute pass."""
from __future__ import annotations

import numpy as np
import pytest

from gpu import shaders
from gpu.errors import KernelError, ShaderError
from gpu.program import Binding, Dispatch, Program, Tensor


def _scale_source(extra=""):
    return f"""{extra}
//! entry scale
@compute @workgroup_size(64)
fn scale(@builtin(global_invocation_id) gid: vec3<u32>) {{
    if (gid.x < U.n) {{ y[gid.x] = 2.0 * x[gid.x]; }}
}}
"""


def test_include_renames_and_bakes_uniforms():
    text = shaders.expand_includes("//! include layers/leaky_relu.wgsl as a1 slope=0.5\nfn g() {}")
    assert "fn a1_f(x: f32)" in text and "fn a1_df(" in text
    assert "U.slope" not in text and "select(0.5 * x, x" in text
    assert "//! entry" not in text               # only the shared prefix comes along
    plain = shaders.expand_includes("//! include optim/adam.wgsl")
    assert "fn adam_value(" in plain and "fn bias_correction(" in plain


def test_vec4_directive_changes_the_header():
    shaders.register_source("gen/test-vec4.wgsl", "//! vec4 x\n" + _scale_source())
    d = Dispatch("gen/test-vec4.wgsl", "scale", (Binding("x", "tx"), Binding("y", "ty", True)), (1, 1, 1),
                 (("n", "u32", 4),))
    assert shaders.vec4_bindings(d) == {"x"}
    header = shaders.binding_header(d, {"tx": "f32", "ty": "f32"}, shaders.vec4_bindings(d))
    assert "x: array<vec4<f32>>" in header and "y: array<f32>" in header
    with pytest.raises(ShaderError):
        shaders.binding_header(d, {"tx": "u32", "ty": "f32"}, {"x"})
    with pytest.raises(ShaderError):
        shaders.register_source("gen/test-vec4.wgsl", "other text")


def _views_program():
    p = Program()
    p.add(Tensor("flat", 128))
    p.add(Tensor("out", 64))
    p.add(Tensor("a", 10, init=np.arange(10, dtype=np.float32)))
    p.add(Tensor("b", 3, init=np.array([7, 8, 9], dtype=np.float32)))
    p.add(Tensor("c", 5))
    p.meta["views"] = {"a": ("flat", 0), "b": ("flat", 64), "c": ("out", 0)}
    p.meta["sources"] = {"gen/test-scale.wgsl": _scale_source()}
    p.emit("main", Dispatch("gen/test-scale.wgsl", "scale", (Binding("x", "a"), Binding("y", "c", True)),
                            (1, 1, 1), (("n", "u32", 5),)))
    p.zeroed.append("b")
    return p


def test_views_share_one_buffer(build):
    e = build(_views_program())
    assert e.buffers["a"] is e.buffers["flat"] is e.buffers["b"] and e.buffers["c"] is e.buffers["out"]
    assert np.array_equal(e.read("a"), np.arange(10))
    assert np.array_equal(e.read("b"), [7, 8, 9])
    e.run(["main"], zero=False)
    assert np.array_equal(e.read("c"), 2 * np.arange(5))
    flat = e.read("flat")
    assert np.array_equal(flat[:10], np.arange(10)) and np.array_equal(flat[64:67], [7, 8, 9])
    assert np.array_equal(e.read("out")[:5], 2 * np.arange(5))
    e.write("b", np.array([1, 2], np.float32), offset=1)
    assert np.array_equal(e.read("b"), [7, 1, 2])
    e.run(["main"])                                   # clears only b's range
    assert np.array_equal(e.read("b"), [0, 0, 0]) and np.array_equal(e.read("a"), np.arange(10))
    e.destroy()


def test_bad_views_and_mixed_access_are_refused(build):
    p = _views_program()
    p.meta["views"]["b"] = ("flat", 65)              # not aligned
    with pytest.raises(KernelError, match="aligned"):
        build(p)
    p = _views_program()
    p.meta["views"]["c"] = ("out", 60)               # past the end
    with pytest.raises(KernelError, match="past the end"):
        build(p)
    p = _views_program()
    p.phases["main"] = [Dispatch("gen/test-scale.wgsl", "scale", (Binding("x", "a"), Binding("y", "b", True)),
                                 (1, 1, 1), (("n", "u32", 5),))]
    with pytest.raises(KernelError, match="read-only and read_write"):
        build(p)


def test_repeats_share_one_pass_and_keep_their_order(build):
    """Without buffers to clear, repeat=k records k copies of the plan in one compute pass;
    the dispatches still see each other's writes in order."""
    p = Program()
    p.add(Tensor("y", 8, init=np.ones(8, np.float32)))
    p.add(Tensor("x", 8, init=np.ones(8, np.float32)))
    p.emit("main", Dispatch("ops/axpy.wgsl", "add_into", (Binding("x", "x"), Binding("y", "y", True)),
                            (1, 1, 1), (("n", "u32", 8),)))
    e = build(p)
    e.run(["main"], repeat=5)
    assert np.array_equal(e.read("y"), np.full(8, 6.0))
    e.destroy()


# ------------------------------------------------------------------ generated matmul

MATMUL_SHAPES = [(5, 7, 3), (8, 12, 16), (13, 10, 9), (64, 128, 64), (64, 10, 64), (10, 64, 10), (33, 20, 12),
                 (160, 176, 152), (150, 170, 180),     # (64, 128, 64) and these reach matmul.BIG: bigger blocks
                 (4, 256, 256), (36, 200, 96)]         # subgroup variants with 4-row blocks; padded rows of blocks


@pytest.fixture(params=["subgroup8", "plain"])
def device_flags(request, gpu_device, monkeypatch):
    """Runs a test with the device's subgroup8 flag, and again with every flag off (the plain
    loads other devices compile). The pipeline cache keys on the flags, so neither sees the other's."""
    from gpu import capabilities
    if request.param == "plain":
        monkeypatch.setattr(capabilities, "shader_flags", lambda device: frozenset())
    elif "subgroup8" not in capabilities.shader_flags(gpu_device):
        pytest.skip("this adapter has no subgroup8 (gpu/capabilities.py)")
    return request.param


def test_lavapipe_has_subgroup8(gpu_device):
    """The probe finds what the speed of the generated matmuls rests on, where it should."""
    from gpu import capabilities
    from gpu.device import adapter_name
    if "llvmpipe" not in adapter_name() or "subgroup" not in gpu_device.features:
        pytest.skip(f"not lavapipe with subgroups: {adapter_name()}")
    assert "subgroup8" in capabilities.shader_flags(gpu_device)


def test_conditional_sections_pick_a_side_by_flag():
    from gpu.errors import ShaderError
    from gpu.shaders import resolve_conditionals
    text = "a\n//! if fast\nb\n//! else\nc\n//! end\nd\n//! if other\ne\n//! end\n"
    assert resolve_conditionals(text, frozenset({"fast"})) == "a\nb\nd\n"
    assert resolve_conditionals(text, frozenset({"other"})) == "a\nc\nd\ne\n"
    with pytest.raises(ShaderError, match="unmatched"):
        resolve_conditionals("//! if fast\nb\n")


@pytest.mark.parametrize("m,n,k", MATMUL_SHAPES)
def test_generated_matmul_matches_float64(build, device_flags, m, n, k):
    """Every transpose, vec4 choice (decided by the shape), and epilogue (acc, bias, colsum),
    against numpy in float64; edges where M, N, K are not multiples of the block or of 4.
    Run with the subgroup kernels and with the plain loads (device_flags)."""
    from itertools import product
    from app.model import matmul
    from gpu import shaders
    rng = np.random.default_rng(m * 100 + n + k)
    for ta, tb in product((False, True), repeat=2):
        for acc, bias, colsum in [(False, False, False), (True, False, False), (False, True, False),
                                  (False, False, True)]:
            if colsum and tb:
                continue
            a = rng.standard_normal((m, k)).astype(np.float32)
            b = rng.standard_normal((k, n)).astype(np.float32)
            c0 = rng.standard_normal((m, n)).astype(np.float32) if acc else np.zeros((m, n), np.float32)
            bb = rng.standard_normal(n).astype(np.float32)
            p = Program()
            p.add(Tensor("a", a.size, init=(a.T if ta else a).ravel().copy()))
            p.add(Tensor("b", b.size, init=(b.T if tb else b).ravel().copy()))
            p.add(Tensor("c", m * n, init=c0.ravel()))
            p.add(Tensor("bias", n, init=bb))
            p.add(Tensor("db", n))
            v = matmul.choose(m, n, k, ta, tb, acc=acc, bias=bias, colsum=colsum)
            d = matmul.dispatch(v, "a", "b", "c", m, n, k, bias="bias", db="db",
                                sources=p.meta.setdefault("sources", {}))
            p.emit("mm", d)
            e = build(p)
            unit = shaders.compile_unit(d, "", shaders._flags_for(e.device, d))
            assert ("subgroupBroadcast" in unit) == (v.sg and device_flags == "subgroup8"), v
            e.run(["mm"])
            want = c0 + a.astype(np.float64) @ b + (bb if bias else 0)
            got = e.read("c").reshape(m, n)
            assert np.abs(got - want).max() <= 1e-5 * max(1.0, np.abs(want).max()), (ta, tb, acc, bias, colsum, v)
            if colsum:
                assert np.allclose(e.read("db"), b.astype(np.float64).sum(0), rtol=1e-5, atol=1e-5)
            e.destroy()


def test_subgroup_variants_cover_both_layouts_of_a():
    """Which products take the subgroup kernels: A loadable as vec4 four K steps at a time."""
    from app.model import matmul
    assert matmul.choose(64, 128, 64).sg and matmul.choose(64, 128, 64, ta=True).sg
    assert matmul.choose(1024, 1024, 1024).R == 32
    assert matmul.choose(4, 256, 256).R == 4 and matmul.choose(4, 256, 256).sg
    assert not matmul.choose(150, 170, 182).sg                # K % 4 != 0: one K step at a time
    assert not matmul.choose(8, 12, 16).sg                    # small: the quick kernel


def test_lowering_uses_the_generated_matmul():
    from pathlib import Path
    from app.model.graphfile import load
    from app.model.lower import lower
    doc = load(Path(__file__).resolve().parent.parent / "assets" / "examples" / "residual_mlp.json")
    low = lower(doc, 4, gradients=True)
    shaders_used = {d.shader for ds in low.program.phases.values() for d in ds}
    assert any(s.startswith("gen/matmul-") for s in shaders_used)
    assert "ops/matmul.wgsl" not in shaders_used
    assert all(name in low.program.meta["sources"] for name in shaders_used if name.startswith("gen/"))


def test_tiers_run_the_quick_twin_first_then_upgrade_one_kernel_per_call(build):
    """A tiered phase runs its twin's kernels until its own have been compiled, one per call
    from the Engine's second call on; every call computes the same thing."""
    import uuid
    tag = uuid.uuid4().hex          # fresh kernels: nothing cached from other tests
    p = Program()
    p.add(Tensor("x", 8, init=np.arange(8, dtype=np.float32)))
    for i in range(3):
        p.add(Tensor(f"y{i}", 8))
    fast = [f"gen/test-fast-{tag}-{i}.wgsl" for i in range(3)]
    quick = f"gen/test-quick-{tag}.wgsl"
    p.meta["sources"] = {name: f"// {name}\n" + _scale_source() for name in fast + [quick]}

    def scale(shader, i):
        return Dispatch(shader, "scale", (Binding("x", "x"), Binding("y", f"y{i}", True)), (1, 1, 1),
                        (("n", "u32", 8),))
    for i in range(3):
        p.emit("step", scale(fast[i], i))
        p.emit("step_quick", scale(quick, i))
    p.meta["tiers"] = {"step": "step_quick"}
    e = build(p)
    used = []
    for _ in range(5):
        plan = e._tiered(["step"])
        used.append([s[3].shader for s in plan])
        e.run(["step"])
        for i in range(3):
            assert np.array_equal(e.read(f"y{i}"), 2 * np.arange(8))
    assert used[0] == [quick] * 3 and used[1] == [fast[0], quick, quick]
    assert used[2] == [fast[0], fast[1], quick] and used[3] == fast
    assert e.warm(["step"])
    e2 = build(p)                   # a Reset: the same kernels, warm from the start
    assert [s[3].shader for s in e2._tiered(["step"])] == fast


def test_warm_up_runs_a_tiny_program(gpu_device):
    from gpu.engine import warm_up
    assert warm_up(gpu_device) >= 0.0
