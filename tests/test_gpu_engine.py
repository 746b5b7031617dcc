"""gpu.shaders, gpu.device, gpu.engine and the generic kernels in wgsl/ops/."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gpu import shaders
from gpu.device import INSTALL_HINT, choose_adapter
from gpu.errors import KernelError, NoAdapterError, ShaderError
from gpu.program import MAX_GROUPS, WORKGROUP, Binding, Dispatch, Program, Tensor, groups_1d

ROOT = Path(__file__).resolve().parent.parent
rng = np.random.default_rng(0)


def dispatch(shader, entry, groups, reads=(), writes=(), node="n1", **uniforms):
    """reads/writes: {wgsl name: tensor}, or names used for both; int uniforms are u32."""
    def named(names):
        return names.items() if isinstance(names, dict) else [(n, n) for n in names]
    bindings = (tuple(Binding(b, t) for b, t in named(reads))
                + tuple(Binding(b, t, True) for b, t in named(writes)))
    u = tuple((k, "f32" if isinstance(v, float) else "u32", v) for k, v in uniforms.items())
    return Dispatch(shader, entry, bindings, tuple(groups), u, node=node)


def program(tensors, phase="main", dispatches=()):
    p = Program()
    for name, value in tensors.items():
        value = np.asarray(value)
        dtype = {"f": "f32", "u": "u32", "i": "i32"}[value.dtype.kind]
        p.add(Tensor(name, value.size, dtype, init=value.ravel()))
    for d in dispatches:
        p.emit(phase, d)
    return p


# ------------------------------------------------------------------ no GPU needed

def test_binding_header():
    d = Dispatch("ops/x.wgsl", "e", (Binding("a", "ta"), Binding("b", "tb", True)), (1, 1, 1),
                 (("n", "u32", 3), ("s", "f32", 0.5)))
    header = shaders.binding_header(d, {"ta": "f32", "tb": "u32"})
    assert header == (
        "@group(0) @binding(0) var<storage, read> a: array<f32>;\n"
        "@group(0) @binding(1) var<storage, read_write> b: array<u32>;\n"
        "struct Uniforms { n: u32, s: f32 }\n"
        "@group(0) @binding(2) var<uniform> U: Uniforms;\n")
    no_uniforms = Dispatch("ops/x.wgsl", "e", (Binding("c", "tc"),), (1, 1, 1))
    assert "Uniforms" not in shaders.binding_header(no_uniforms, {"tc": "i32"})


def test_uniform_bytes_are_padded_to_16():
    data = shaders.uniform_bytes((("n", "u32", 7), ("v", "f32", -1.5), ("k", "i32", -2)))
    assert len(data) == 16
    assert np.frombuffer(data[:4], np.uint32)[0] == 7
    assert np.frombuffer(data[4:8], np.float32)[0] == -1.5
    assert np.frombuffer(data[8:12], np.int32)[0] == -2
    with pytest.raises(ShaderError, match="uniform n: cannot store -1 as u32"):
        shaders.uniform_bytes((("n", "u32", -1),))


def test_sections_split(tmp_path):
    f = tmp_path / "k.wgsl"
    f.write_text("const SHARED = 1u;\n//! entry one\nfn one() {}\n//! entry two\nfn two() {}\n")
    assert shaders.entries(f) == ["one", "two"]
    prefix, body = shaders.section(f, "two")
    assert prefix == "const SHARED = 1u;\n"
    assert "fn two" in body and "fn one" not in body
    with pytest.raises(ShaderError) as e:
        shaders.section(f, "three")
    assert "three" in str(e.value) and "k.wgsl" in str(e.value) and "one, two" in str(e.value)


@pytest.mark.parametrize("shader,names", [
    ("ops/axpy.wgsl", ["add_into"]), ("ops/fill.wgsl", ["fill"]),
    ("ops/reduce.wgsl", ["sumsq", "sum", "sumsq2"]), ("ops/gather.wgsl", ["gather_rows"]),
    ("ops/counters.wgsl", ["advance"]),
    ("optim/sgd.wgsl", ["sgd", "momentum"]), ("optim/adam.wgsl", ["adam"])])
def test_kernel_files_declare_their_entries(shader, names):
    assert shaders.entries(shader) == names


def test_groups_1d_spills_into_y():
    assert groups_1d(1) == (1, 1, 1)
    assert groups_1d(WORKGROUP * MAX_GROUPS) == (MAX_GROUPS, 1, 1)
    gx, gy, _ = groups_1d(WORKGROUP * MAX_GROUPS + 1)
    assert (gx, gy) == (MAX_GROUPS, 2)
    assert gx * gy * WORKGROUP >= WORKGROUP * MAX_GROUPS + 1


class FakeAdapter:
    def __init__(self, device, kind, backend):
        self.info = {"device": device, "description": "", "adapter_type": kind,
                     "backend_type": backend}


def test_adapter_preference_and_override():
    gl_cpu = FakeAdapter("llvmpipe", "CPU", "OpenGL")
    vk_cpu = FakeAdapter("llvmpipe", "CPU", "Vulkan")
    igpu = FakeAdapter("Intel Iris", "IntegratedGPU", "Vulkan")
    dgpu_gl = FakeAdapter("Radeon", "DiscreteGPU", "OpenGL")
    assert choose_adapter([gl_cpu, vk_cpu]) is vk_cpu
    assert choose_adapter([gl_cpu, vk_cpu, igpu]) is igpu
    assert choose_adapter([igpu, dgpu_gl]) is dgpu_gl
    assert choose_adapter([igpu, gl_cpu, vk_cpu], "LLVMPIPE") is vk_cpu
    assert choose_adapter([igpu, gl_cpu, vk_cpu], "opengl") is gl_cpu
    with pytest.raises(NoAdapterError, match="Available adapters: .*Intel Iris"):
        choose_adapter([igpu], "nvidia")
    with pytest.raises(NoAdapterError) as e:
        choose_adapter([])
    assert INSTALL_HINT in str(e.value) and "mesa-vulkan-drivers" in str(e.value)


def test_expect_adapter_makes_a_missing_adapter_fail_not_skip():
    env = {**os.environ, "WIREGRAD_ADAPTER": "no-such-adapter", "WIREGRAD_EXPECT_ADAPTER": "1",
           "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}     # hypothesis & co. take seconds to load
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            f"{__file__}::test_fill"]
    run = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stdout
    assert "1 error" in run.stdout and "no-such-adapter" in run.stdout, run.stdout


# ------------------------------------------------------------------ kernels

def test_add_into_leaves_the_tail_alone(build):
    n = 1000
    x, y = rng.standard_normal(n + 7).astype(np.float32), np.full(n + 7, 1e30, np.float32)
    y[:n] = rng.standard_normal(n)
    e = build(program({"x": x, "y": y}, dispatches=[
        dispatch("ops/axpy.wgsl", "add_into", groups_1d(n), ["x"], ["y"], n=n)]))
    e.run(["main"])
    out = e.read("y")
    np.testing.assert_allclose(out[:n], y[:n] + x[:n], rtol=1e-6)
    assert np.all(out[n:] == 1e30)


def test_add_into_spills_past_65535_groups(build):
    n = WORKGROUP * MAX_GROUPS + 100          # needs a second row of workgroups
    assert groups_1d(n)[1] == 2
    x = np.arange(n, dtype=np.float32)
    e = build(program({"x": x, "y": np.ones(n, np.float32)}, dispatches=[
        dispatch("ops/axpy.wgsl", "add_into", groups_1d(n), ["x"], ["y"], n=n)]))
    e.run(["main"])
    np.testing.assert_array_equal(e.read("y"), x + 1)


def test_fill(build):
    n = 130
    e = build(program({"y": np.full(n + 3, np.nan, np.float32)}, dispatches=[
        dispatch("ops/fill.wgsl", "fill", groups_1d(n), writes=["y"], n=n, value=2.5)]))
    e.run(["main"])
    y = e.read("y")
    assert np.all(y[:n] == 2.5) and np.all(np.isnan(y[n:]))


@pytest.mark.parametrize("n", [1, 63, 64, 65, 1000, 100_003])
@pytest.mark.parametrize("entry,oracle", [("sumsq", lambda x: np.sum(x * x)), ("sum", np.sum)])
def test_reduce(build, n, entry, oracle):
    x = rng.standard_normal(n + 5).astype(np.float32)
    e = build(program({"x": x, "out": np.full(4, np.nan, np.float32)}, dispatches=[
        dispatch("ops/reduce.wgsl", entry, (1, 1, 1), ["x"], ["out"], n=n, slot=2, scale=0.5)]))
    e.run(["main"])
    out = e.read("out")
    want = 0.5 * oracle(x[:n].astype(np.float64))
    np.testing.assert_allclose(out[2], want, rtol=1e-4, atol=1e-4 * np.sqrt(n))
    assert np.all(np.isnan(out[[0, 1, 3]]))


@pytest.mark.parametrize("n", [1, 65, 100_003])
def test_reduce_two_tensors_at_once(build, n):
    x, y = rng.standard_normal(n + 5).astype(np.float32), rng.standard_normal(n + 5).astype(np.float32)
    e = build(program({"x": x, "y": y, "out": np.full(5, np.nan, np.float32)}, dispatches=[
        dispatch("ops/reduce.wgsl", "sumsq2", (1, 1, 1), ["x", "y"], ["out"], n=n, slot=3, slot2=1, scale=2.0)]))
    e.run(["main"])
    out = e.read("out")
    for got, v in ((out[3], x), (out[1], y)):
        np.testing.assert_allclose(got, 2.0 * np.sum(v[:n].astype(np.float64) ** 2), rtol=1e-4)
    assert np.all(np.isnan(out[[0, 2, 4]]))


def test_gather_rows_follows_the_cursor(build):
    rows, width, nrows = 3, 5, 10
    src = rng.standard_normal((nrows, width)).astype(np.float32)
    perm = rng.permutation(nrows).astype(np.uint32)
    e = build(program({"src": src, "perm": perm, "counters": np.array([7, 2], np.uint32),
                       "out": np.full(rows * width, np.nan, np.float32)}, dispatches=[
        dispatch("ops/gather.wgsl", "gather_rows", groups_1d(rows * width),
                 ["src", "perm", "counters"], ["out"], rows=rows, width=width)]))
    e.run(["main"])
    np.testing.assert_array_equal(e.read("out").reshape(rows, width), src[perm[6:9]])


def test_advance(build):
    e = build(program({"counters": np.array([4, 9], np.uint32)}, dispatches=[
        dispatch("ops/counters.wgsl", "advance", (1, 1, 1), writes=["counters"])]))
    e.run(["main"], repeat=2)
    c = e.read("counters")
    assert c.dtype == np.uint32 and list(c) == [6, 11]


# ------------------------------------------------------------------ engine

def test_run_repeats_and_clears_zeroed_each_repeat(build):
    n = 70
    x = np.arange(n, dtype=np.float32)
    add = ("ops/axpy.wgsl", "add_into", groups_1d(n))
    p = program({"x": x, "g": np.full(n, 5, np.float32), "acc": np.zeros(n, np.float32)},
                dispatches=[dispatch(*add, ["x"], {"y": "g"}, n=n)])
    p.emit("later", dispatch(*add, {"x": "g"}, {"y": "acc"}, n=n))
    p.zeroed.append("g")
    e = build(p)
    e.run(["main", "no-such-phase", "later"], repeat=3)
    np.testing.assert_array_equal(e.read("acc"), 3 * x)       # g cleared before each repeat
    np.testing.assert_array_equal(e.read("g"), x)
    e.write("acc", np.zeros(n))
    e.run(["main", "later"], repeat=3, zero=False)             # g keeps growing: 2x, 3x, 4x
    np.testing.assert_array_equal(e.read("acc"), 9 * x)


def test_tail_runs_once_and_a_readback_holds_its_runs_values(build):
    """run(tail=..., read=...): the tail phases run at the last repeat only, and the values
    read are those at the end of that run, even after a later run has changed them."""
    n = 70
    x = np.arange(n, dtype=np.float32)
    add = ("ops/axpy.wgsl", "add_into", groups_1d(n))
    p = program({"x": x, "acc": np.zeros(n, np.float32), "tally": np.zeros(n, np.float32),
                 "c": np.array([4, 9], np.uint32)}, dispatches=[dispatch(*add, ["x"], {"y": "acc"}, n=n)])
    p.emit("tail", dispatch(*add, {"x": "acc"}, {"y": "tally"}, n=n))
    p.emit("tail", dispatch("ops/counters.wgsl", "advance", (1, 1, 1), writes={"counters": "c"}))
    e = build(p)
    first = e.run(["main"], repeat=3, tail=["tail"], read=["tally", "c", "acc"])
    second = e.run(["main"], repeat=2, tail=["tail"], read=["tally"])   # queued before reading the first
    assert e.run(["main"]) is None                                       # no read: nothing to wait for
    got = first.result()
    np.testing.assert_array_equal(got["acc"], 3 * x)
    np.testing.assert_array_equal(got["tally"], 3 * x)       # the tail once, after the third repeat
    assert got["c"].dtype == np.uint32 and list(got["c"]) == [5, 10]
    np.testing.assert_array_equal(second.result()["tally"], 3 * x + 5 * x)
    assert first.result() is got                               # collected once
    np.testing.assert_array_equal(e.read("acc"), 6 * x)


def test_copy_from_another_engine_on_the_gpu(build):
    x = np.arange(70, dtype=np.float32)
    src = build(program({"w": x, "b": np.full(3, 7, np.float32)}))
    dst = build(program({"w": np.zeros(70, np.float32), "b": np.zeros(3, np.float32), "other": np.ones(5, np.float32)}))
    dst.copy_from(src, ["w", "b"])
    np.testing.assert_array_equal(dst.read("w"), x)
    assert list(dst.read("b")) == [7, 7, 7] and list(dst.read("other")) == [1] * 5
    small = build(program({"w": np.zeros(69, np.float32)}))
    with pytest.raises(ValueError, match="70 elements into 69"):
        small.copy_from(src, ["w"])


def test_write_and_read(build):
    e = build(program({"f": np.zeros(6, np.float32), "u": np.zeros(3, np.uint32),
                       "i": np.zeros(2, np.int32)}))
    e.write("f", np.arange(6.0))                               # float64 cast to f32
    e.write("u", [1, 2, 3])
    e.write("u", [9], offset=2)
    e.write("i", [-4, 5])
    assert e.read("f").dtype == np.float32 and list(e.read("f")) == list(range(6))
    assert list(e.read("u")) == [1, 2, 9] and e.read("u").dtype == np.uint32
    assert list(e.read("i")) == [-4, 5]
    with pytest.raises(ValueError, match="5 elements"):
        e.write("f", np.zeros(5))
    with pytest.raises(ValueError, match="offset 2"):
        e.write("u", [1, 2], offset=2)
    with pytest.raises(KeyError, match="nope"):
        e.read("nope")


def test_kernel_error_names_node_shader_and_entry(build, tmp_path):
    bad = tmp_path / "bad.wgsl"
    bad.write_text("//! entry broken\n@compute @workgroup_size(64)\n"
                   "fn broken() { y[0] = undefined_thing; }\n")
    p = program({"y": np.zeros(4, np.float32)}, dispatches=[
        dispatch(str(bad), "broken", (1, 1, 1), writes=["y"], node="dense7")])
    with pytest.raises(KernelError) as e:
        build(p)
    msg = str(e.value)
    assert "dense7" in msg and "bad.wgsl:broken" in msg and "undefined_thing" in msg
    assert e.value.node == "dense7" and e.value.cause is not None


def test_kernel_error_for_unknown_entry_and_aliasing(build):
    p = program({"y": np.zeros(4, np.float32)}, dispatches=[
        dispatch("ops/fill.wgsl", "fil", (1, 1, 1), writes=["y"], node="relu3", n=4, value=1.0)])
    with pytest.raises(KernelError, match=r"relu3.*no entry 'fil'.*fill"):
        build(p)
    aliased = Dispatch("ops/axpy.wgsl", "add_into", (Binding("x", "y"), Binding("y", "y", True)),
                       (1, 1, 1), (("n", "u32", 4),), node="add1")
    p = program({"y": np.zeros(4, np.float32)}, dispatches=[aliased])
    with pytest.raises(KernelError, match=r"add1.*bound twice"):
        build(p)


def test_kernel_error_at_run_names_the_node(build, monkeypatch):
    from gpu import engine as engine_module
    monkeypatch.setattr(engine_module, "_check_groups", lambda d, limit: None)
    ok = dispatch("ops/fill.wgsl", "fill", (1, 1, 1), writes=["y"], node="ok1", n=4, value=1.0)
    too_many = dispatch("ops/fill.wgsl", "fill", (MAX_GROUPS + 1, 1, 1), writes=["y"],
                        node="big2", n=4, value=1.0)
    e = build(program({"y": np.zeros(4, np.float32)}, dispatches=[ok, too_many]))
    with pytest.raises(KernelError, match=r"node 'big2' \(ops/fill.wgsl:fill\)") as err:
        e.run(["main"])
    assert err.value.node == "big2"


def test_workgroup_limit_is_checked_when_building(build):
    d = dispatch("ops/fill.wgsl", "fill", (MAX_GROUPS + 1, 1, 1), writes=["y"], node="big3",
                 n=4, value=1.0)
    with pytest.raises(KernelError, match=r"big3.*workgroup counts"):
        build(program({"y": np.zeros(4, np.float32)}, dispatches=[d]))


def test_destroyed_engine_refuses_to_run(build):
    e = build(program({"y": np.zeros(4, np.float32)}))
    e.destroy()
    with pytest.raises(RuntimeError, match="destroyed"):
        e.run(["main"])
    with pytest.raises(RuntimeError, match="destroyed"):
        e.read("y")


def test_reset_device_gives_a_working_new_device(gpu_device, monkeypatch):
    from gpu import device
    from gpu.device import get_device, reset_device
    from gpu.engine import Engine
    for name in ("_device", "_adapter"):      # other tests keep the shared device afterwards
        monkeypatch.setattr(device, name, getattr(device, name))
    reset_device()
    fresh = get_device()
    assert fresh is not gpu_device
    e = Engine(program({"y": np.zeros(4, np.float32)}, dispatches=[
        dispatch("ops/fill.wgsl", "fill", (1, 1, 1), writes=["y"], n=4, value=3.0)]))
    e.run(["main"])
    assert list(e.read("y")) == [3, 3, 3, 3]
