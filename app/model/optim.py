"""Optimizers: their settings, validation, lowering into update Dispatches, and a float64
numpy reference that tests hold the WGSL kernels (wgsl/optim/) against.

Settings are the document's `training.optimizer` dict, e.g. {"name": "adam", "lr": 0.01};
missing keys take the optimizer's defaults. The definitions follow torch.optim exactly
(SGD with momentum/dampening/Nesterov, Adam, AdamW; no amsgrad, no maximize).

Hyperparameters live in the GPU tensor "hyper" (slots HYPER_SLOTS), so the host changes the
learning rate by writing `hyper_vector(settings)` there; no rebuild. "counters"[0] counts
optimizer steps taken (the step t of Adam's bias correction is counters[0] + 1).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from gpu.program import Binding, Dispatch, Program, Tensor, groups_1d

# Hyperparameters a user sets, and the layout of the "hyper" tensor: those, then values
# derived in float64 on the host (1 - beta rounded once, not 1 - f32(beta), which is off by
# ~1e-5 relative for beta2 = 0.999). wgsl/optim/*.wgsl repeat the slots as H_* constants.
SETTINGS = ("lr", "momentum", "dampening", "beta1", "beta2", "eps", "weight_decay")
HYPER_SLOTS = SETTINGS + ("one_minus_beta1", "one_minus_beta2")

DEFAULT_OPTIMIZER = "adam"


@dataclass(frozen=True)
class Optimizer:
    name: str
    label: str
    shader: str
    entry: str
    defaults: dict
    state: tuple[str, ...] = ()                 # per-parameter state tensors: f"{param}.{s}"
    uniforms: tuple = ()                        # fixed per build, e.g. nesterov on/off


OPTIMIZERS: dict[str, Optimizer] = {o.name: o for o in (
    Optimizer("sgd", "SGD", "optim/sgd.wgsl", "sgd",
              {"lr": 0.01, "weight_decay": 0.0}),
    Optimizer("momentum", "SGD with momentum", "optim/sgd.wgsl", "momentum",
              {"lr": 0.01, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0},
              state=("m",), uniforms=(("nesterov", "u32", 0),)),
    Optimizer("nesterov", "SGD with Nesterov momentum", "optim/sgd.wgsl", "momentum",
              {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.0},     # torch: dampening 0
              state=("m",), uniforms=(("nesterov", "u32", 1),)),
    Optimizer("adam", "Adam", "optim/adam.wgsl", "adam",
              {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0},
              state=("m", "v"), uniforms=(("decoupled", "u32", 0),)),
    Optimizer("adamw", "AdamW", "optim/adam.wgsl", "adam",
              {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01},
              state=("m", "v"), uniforms=(("decoupled", "u32", 1),)),
)}

# key -> (test, wording of the rule) for every hyperparameter
_RULES = {
    "lr": (lambda x: x > 0, "a number > 0"),
    "momentum": (lambda x: 0 < x < 1, "a number in (0, 1)"),
    "dampening": (lambda x: 0 <= x <= 1, "a number in [0, 1]"),
    "beta1": (lambda x: 0 <= x < 1, "a number in [0, 1)"),
    "beta2": (lambda x: 0 <= x < 1, "a number in [0, 1)"),
    "eps": (lambda x: x > 0, "a number > 0"),
    "weight_decay": (lambda x: x >= 0, "a number >= 0"),
}
assert set(_RULES) == set(SETTINGS)


def default_settings(name: str = DEFAULT_OPTIMIZER) -> dict:
    return {"name": name, **OPTIMIZERS[name].defaults}


def _show(value) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def validate_settings(settings: dict, where: str = "training.optimizer") -> list[str]:
    """Clear messages for every problem, e.g. 'training.optimizer.lr: expected a number > 0,
    got -1'. Keys that belong to another optimizer are ignored (so switching keeps them)."""
    if not isinstance(settings, dict):
        return [f"{where}: expected an object, got {_show(settings)}"]
    name = settings.get("name", DEFAULT_OPTIMIZER)
    if name not in OPTIMIZERS:
        return [f"{where}.name: expected one of {', '.join(OPTIMIZERS)}, got {_show(name)}"]
    errors = []
    for key, value in settings.items():
        if key == "name":
            continue
        if key not in _RULES:
            errors.append(f"{where}.{key}: unknown setting; known: name, {', '.join(SETTINGS)}")
            continue
        if key not in OPTIMIZERS[name].defaults:
            continue
        test, rule = _RULES[key]
        if not (_is_number(value) and test(value)):
            errors.append(f"{where}.{key}: expected {rule}, got {_show(value)}")
    return errors


def resolve(settings: dict, name: str | None = None) -> tuple[Optimizer, dict]:
    """The Optimizer and its complete hyperparameters (defaults filled in); ValueError with all
    problems if the settings are invalid."""
    settings = dict(settings or {})
    if name is not None:
        settings["name"] = name
    errors = validate_settings(settings)
    if errors:
        raise ValueError("; ".join(errors))
    opt = OPTIMIZERS[settings.get("name", DEFAULT_OPTIMIZER)]
    return opt, {k: float(settings.get(k, v)) for k, v in opt.defaults.items()}


def hyper_vector(settings: dict) -> np.ndarray:
    """The "hyper" tensor's contents (HYPER_SLOTS); slots an optimizer doesn't use are 0."""
    _, hp = resolve(settings)
    if "beta1" in hp:
        hp["one_minus_beta1"], hp["one_minus_beta2"] = 1 - hp["beta1"], 1 - hp["beta2"]
    return np.array([hp.get(k, 0.0) for k in HYPER_SLOTS], dtype=np.float32)


def _ensure(program: Program, tensor: Tensor) -> None:
    have = program.tensors.get(tensor.name)
    if have is None:
        program.add(tensor)
    elif (have.size, have.dtype) != (tensor.size, tensor.dtype):
        raise ValueError(f"tensor {tensor.name} exists with size {have.size} {have.dtype}, "
                         f"the optimizer needs {tensor.size} {tensor.dtype}")


def emit_optimizer(program: Program, params: list[tuple[str, str, int, str]],
                   settings: dict) -> None:
    """Append the update phase: one dispatch per (param_tensor, grad_tensor, size, node_id),
    then one ops/counters.wgsl:advance. Adds "hyper", "counters" and zeroed state tensors.
    (A single flat parameter buffer would allow one dispatch for all parameters.)"""
    opt, _ = resolve(settings)
    _ensure(program, Tensor("hyper", len(HYPER_SLOTS), "f32", init=hyper_vector(settings)))
    _ensure(program, Tensor("counters", 2, "u32"))
    state_names = []
    for param, grad, size, node in params:
        state = [program.add(Tensor(f"{param}.{s}", size, node=node)).name for s in opt.state]
        state_names += state
        bindings = (Binding("param", param, write=True), Binding("grad", grad),
                    *(Binding(s, t, write=True) for s, t in zip(opt.state, state)),
                    Binding("hyper", "hyper"), Binding("counters", "counters"))
        program.emit("update", Dispatch(opt.shader, opt.entry, bindings, groups_1d(size),
                                        (("n", "u32", size), *opt.uniforms), node=node))
    program.emit("update", Dispatch("ops/counters.wgsl", "advance",
                                    (Binding("counters", "counters", write=True),), (1, 1, 1)))
    program.meta["optimizer"] = {"name": opt.name, "state": state_names,
                                 "hyper_slots": list(HYPER_SLOTS)}


def reference_step(name: str, settings: dict, param, grad, state: dict, t: int) -> np.ndarray:
    """One torch.optim step in float64. `t` is the 1-based number of this step; `state`
    holds "m" (and "v") between calls and is updated in place. Returns the new parameter."""
    _, hp = resolve(settings, name)
    p = np.asarray(param, dtype=np.float64)
    g = np.asarray(grad, dtype=np.float64)
    wd = hp["weight_decay"]
    if name == "adamw":
        p = p * (1 - hp["lr"] * wd)
    else:
        g = g + wd * p
    if name in ("momentum", "nesterov"):
        mu = hp["momentum"]
        buf = g if t == 1 else mu * state["m"] + (1 - hp.get("dampening", 0.0)) * g
        state["m"] = buf
        g = g + mu * buf if name == "nesterov" else buf
    if name in ("adam", "adamw"):
        b1, b2 = hp["beta1"], hp["beta2"]
        m = b1 * state.get("m", 0.0) + (1 - b1) * g
        v = b2 * state.get("v", 0.0) + (1 - b2) * g * g
        state["m"], state["v"] = m, v
        denom = np.sqrt(v) / math.sqrt(1 - b2 ** t) + hp["eps"]
        return p - hp["lr"] / (1 - b1 ** t) * m / denom
    return p - hp["lr"] * g
