"""Optimizers: settings, the WGSL update kernels against reference_step, and reference_step
against torch.optim when torch is installed."""
from __future__ import annotations

import re

import numpy as np
import pytest

from app.model.optim import (HYPER_SLOTS, OPTIMIZERS, default_settings, emit_optimizer,
                             hyper_vector, reference_step, validate_settings)
from gpu import shaders
from gpu.program import Program, Tensor

CASES = [(name, wd) for name in OPTIMIZERS for wd in (0.0, 0.1)]
STEPS = 5


def _settings(name, wd):
    extra = {"dampening": 0.3} if name == "momentum" else {}
    return {**default_settings(name), "weight_decay": wd, "lr": 0.05, **extra}


def _grads(sizes, seed):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(n) for n in sizes] for _ in range(STEPS)]


# ------------------------------------------------------------------ settings

def test_validate_settings_messages():
    assert validate_settings(default_settings("adam")) == []
    assert validate_settings({"name": "adam", "lr": -1}) == [
        "training.optimizer.lr: expected a number > 0, got -1"]
    assert validate_settings({"name": "rmsprop"}) == [
        "training.optimizer.name: expected one of sgd, momentum, nesterov, adam, adamw, "
        'got "rmsprop"']
    errors = validate_settings({"name": "momentum", "momentum": 1.5, "lr": "fast", "beta1": 7})
    assert errors == ["training.optimizer.momentum: expected a number in (0, 1), got 1.5",
                      'training.optimizer.lr: expected a number > 0, got "fast"']  # beta1 ignored
    assert validate_settings({"name": "sgd", "lr": float("nan")})[0].endswith("got NaN")
    assert validate_settings({"name": "sgd", "lr": True})[0].endswith("got true")
    assert "unknown setting" in validate_settings({"name": "sgd", "speed": 1})[0]


def test_hyper_vector_fills_defaults():
    h = hyper_vector({"name": "adamw", "lr": 0.5})
    assert h.dtype == np.float32 and h.shape == (len(HYPER_SLOTS),)
    got = dict(zip(HYPER_SLOTS, h.tolist()))
    assert got["lr"] == 0.5 and got["weight_decay"] == pytest.approx(0.01)
    assert got["beta2"] == pytest.approx(0.999) and got["momentum"] == 0
    assert h[HYPER_SLOTS.index("one_minus_beta2")] == np.float32(0.001)   # not 1 - f32(0.999)


@pytest.mark.parametrize("shader", ["optim/sgd.wgsl", "optim/adam.wgsl"])
def test_wgsl_hyper_slots_match_python(shader):
    text = (shaders.wgsl_dir() / shader).read_text()
    consts = re.findall(r"const H_(\w+): u32 = (\d+)u;", text)
    assert consts
    for name, slot in consts:
        assert HYPER_SLOTS.index(name.lower()) == int(slot), name


def test_emit_optimizer_adds_state_and_one_advance():
    p = Program()
    for t in ("w", "d:w", "b", "d:b"):
        p.add(Tensor(t, 3 if "b" in t else 10))
    emit_optimizer(p, [("w", "d:w", 10, "dense1"), ("b", "d:b", 3, "dense1")],
                   default_settings("adam"))
    assert {"hyper", "counters", "w.m", "w.v", "b.m", "b.v"} <= set(p.tensors)
    assert p.tensors["counters"].dtype == "u32"
    update = p.phases["update"]
    assert [d.entry for d in update] == ["adam", "adam", "advance"]
    assert update[0].node == "dense1"
    assert p.meta["optimizer"]["state"] == ["w.m", "w.v", "b.m", "b.v"]


# ------------------------------------------------------------------ GPU against reference

@pytest.mark.parametrize("name,wd", CASES)
def test_gpu_update_matches_reference(build, name, wd):
    sizes = (100, 3)                         # > one workgroup, and a tiny tensor
    rng = np.random.default_rng(1)
    params = [rng.standard_normal(n) for n in sizes]
    p = Program()
    for i, (w, n) in enumerate(zip(params, sizes)):
        p.add(Tensor(f"w{i}", n, init=w.astype(np.float32)))
        p.add(Tensor(f"d:w{i}", n))
    settings = _settings(name, wd)
    emit_optimizer(p, [(f"w{i}", f"d:w{i}", n, f"node{i}") for i, n in enumerate(sizes)], settings)
    engine = build(p)
    states = [{} for _ in sizes]
    for t, grads in enumerate(_grads(sizes, seed=2), start=1):
        if t == 3:                            # hyperparameters change without a rebuild
            settings = {**settings, "lr": 0.01}
            engine.write("hyper", hyper_vector(settings))
        for i, g in enumerate(grads):
            engine.write(f"d:w{i}", g)
            params[i] = reference_step(name, settings, params[i], g.astype(np.float32),
                                       states[i], t)
        engine.run(["update"])
        for i in range(len(sizes)):
            np.testing.assert_allclose(engine.read(f"w{i}"), params[i], rtol=2e-5, atol=2e-6,
                                       err_msg=f"{name} step {t} w{i}")
    assert list(engine.read("counters")) == [STEPS, STEPS]


@pytest.mark.parametrize("t", [2, 10, 1000, 1_000_000])
def test_adam_bias_correction_late_steps(build, t):
    """Adam's 1 - beta^t must stay accurate in f32 at any step number."""
    w, g = np.linspace(-1, 1, 8), np.linspace(0.5, -2, 8)
    p = Program()
    p.add(Tensor("w", 8, init=w.astype(np.float32)))
    p.add(Tensor("g", 8, init=g.astype(np.float32)))
    settings = {"name": "adam", "lr": 0.1}
    emit_optimizer(p, [("w", "g", 8, "n")], settings)
    engine = build(p)
    engine.write("counters", [t - 1, 0])
    engine.run(["update"])
    want = reference_step("adam", settings, w, g.astype(np.float32), {}, t)
    np.testing.assert_allclose(engine.read("w"), want, rtol=1e-5, atol=1e-6)


def test_lr_change_takes_effect(build):
    p = Program()
    p.add(Tensor("w", 4, init=np.ones(4, np.float32)))
    p.add(Tensor("g", 4, init=np.ones(4, np.float32)))
    emit_optimizer(p, [("w", "g", 4, "n")], {"name": "sgd", "lr": 0.1})
    engine = build(p)
    engine.run(["update"])
    engine.write("hyper", hyper_vector({"name": "sgd", "lr": 0.5}))
    engine.run(["update"])
    np.testing.assert_allclose(engine.read("w"), 1 - 0.1 - 0.5, rtol=1e-6)


# ------------------------------------------------------------------ reference against torch

def _torch_optimizer(torch, name, s, params):
    if name in ("sgd", "momentum", "nesterov"):
        return torch.optim.SGD(params, lr=s["lr"], momentum=s.get("momentum", 0.0),
                               dampening=s.get("dampening", 0.0), weight_decay=s["weight_decay"],
                               nesterov=name == "nesterov")
    cls = torch.optim.AdamW if name == "adamw" else torch.optim.Adam
    return cls(params, lr=s["lr"], betas=(s["beta1"], s["beta2"]), eps=s["eps"],
               weight_decay=s["weight_decay"])


@pytest.mark.parametrize("name,wd", CASES)
def test_reference_matches_torch(name, wd):
    torch = pytest.importorskip("torch")
    settings = _settings(name, wd)
    w = np.random.default_rng(3).standard_normal(20)
    tw = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    opt = _torch_optimizer(torch, name, settings, [tw])
    state = {}
    for t, (g,) in enumerate(_grads((20,), seed=4), start=1):
        w = reference_step(name, settings, w, g, state, t)
        tw.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        np.testing.assert_allclose(w, tw.detach().numpy(), rtol=1e-12, atol=1e-14)
