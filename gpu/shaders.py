"""WGSL sources: finding wgsl/, splitting files into entry sections, generating the binding
header from a Dispatch, and caching shader modules and compute pipelines per device.

A compile unit is: generated header + wgsl/common.wgsl + the file's shared prefix + the
section of one entry (see gpu/program.py). Two directives share text between files:
`//! include FILE [as ALIAS] [k=v ...]` pastes FILE's shared prefix (functions), and
`//! entries from FILE` gives this file FILE's entry sections, to be compiled against this
file's prefix (the elementwise activations define f and df and take their entries from
ops/unary.wgsl). The header comes from Python, so a shader and its
Dispatch can't disagree about bindings.

`//! if FLAG` ... [`//! else` ...] `//! end` keeps one side by whether the device has FLAG
(gpu/capabilities.py): the same Dispatch compiles to the kernel its device runs best, and the
pipeline cache (per device) keys on the flags too.
"""
from __future__ import annotations

import functools
import re
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import wgpu

from . import capabilities, sources
from .errors import ShaderError
from .program import Dispatch

_ENTRY_MARK = re.compile(r"^//!\s*entry\s+(\w+)\s*$", re.MULTILINE)
_INCLUDE = re.compile(r"^//!\s*include\s+(\S+)((?:\s+as\s+\w+)?)((?:\s+\w+=\S+)*)\s*$", re.MULTILINE)
_ENTRIES_FROM = re.compile(r"^//!\s*entries\s+from\s+(\S+)\s*$", re.MULTILINE)
_VEC4 = re.compile(r"^//!\s*vec4\s+([\w ]+?)\s*$", re.MULTILINE)
_TOP_NAMES = re.compile(r"^\s*(?:fn|const)\s+(\w+)", re.MULTILINE)
_CONDITIONAL = re.compile(r"^[ \t]*//!\s*if\s+(\w+)[ \t]*\n(.*?)(?:^[ \t]*//!\s*else[ \t]*\n(.*?))?"
                          r"^[ \t]*//!\s*end[ \t]*$\n?", re.MULTILINE | re.DOTALL)


_WGSL_TYPES = {"f32", "u32", "i32"}


@functools.lru_cache(maxsize=1)
def wgsl_dir() -> Path:
    """<repo>/wgsl in a checkout; gpu/wgsl (the package gpu.wgsl) in an installed copy."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "wgsl", here / "wgsl"):
        if (candidate / "common.wgsl").is_file():
            return candidate
    raise ShaderError(f"cannot find the wgsl/ folder (looked in {here.parent / 'wgsl'} "
                      f"and {here / 'wgsl'})")


def register_source(name: str, text: str) -> None:
    """Make generated WGSL `text` available as shader `name` (a Dispatch.shader), see
    gpu/sources.py. The same name with other text is an error."""
    try:
        sources.register(name, text)
    except sources.SourceConflict as e:
        raise ShaderError(str(e)) from None


def _resolve(shader: str | Path) -> Path:
    path = Path(shader)
    return path if path.is_absolute() else wgsl_dir() / path


@functools.lru_cache(maxsize=None)
def _split(path: Path) -> tuple[str, dict[str, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ShaderError(f"cannot read shader {path}: {e.strerror or e}") from e
    text = _ENTRIES_FROM.sub(lambda m: "".join(split(m.group(1))[1].values()), text)
    return _split_text(text, path)


def _split_text(text: str, path) -> tuple[str, dict[str, str]]:
    marks = list(_ENTRY_MARK.finditer(text))
    prefix = text[:marks[0].start()] if marks else text
    sections: dict[str, str] = {}
    for m, nxt in zip(marks, marks[1:] + [None]):
        name = m.group(1)
        if name in sections:
            raise ShaderError(f"{path}: entry {name!r} is declared twice")
        sections[name] = text[m.start():nxt.start() if nxt else len(text)]
    return prefix, sections


def split(shader: str | Path) -> tuple[str, dict[str, str]]:
    """(shared prefix, {entry: section text}) of a .wgsl file, path relative to wgsl/, or of
    a generated source registered under that name."""
    text = sources.get(str(shader))
    if text is not None:
        return _split_generated(str(shader), text)
    return _split(_resolve(shader))


@functools.lru_cache(maxsize=256)
def _split_generated(name: str, text: str) -> tuple[str, dict[str, str]]:
    return _split_text(text, name)


def entries(shader: str | Path) -> list[str]:
    """Entry names a .wgsl file declares with `//! entry NAME`, in file order."""
    return list(split(shader)[1])


def section(shader: str | Path, entry: str) -> tuple[str, str]:
    """(shared prefix, section) for one entry; ShaderError naming what exists if unknown."""
    prefix, sections = split(shader)
    if entry not in sections:
        have = ", ".join(sections) or "none (no '//! entry NAME' lines)"
        raise ShaderError(f"{shader}: no entry {entry!r}; entries in this file: {have}")
    return prefix, sections[entry]


@functools.lru_cache(maxsize=1)
def common_source() -> str:
    return (wgsl_dir() / "common.wgsl").read_text(encoding="utf-8")


def clear_source_cache() -> None:
    """Re-read .wgsl files on next use (for editing shaders while the app runs)."""
    _split.cache_clear()
    common_source.cache_clear()


# ---------------------------------------------------------------------------- header

def binding_header(dispatch: Dispatch, dtypes: Mapping[str, str], vec4=()) -> str:
    """The `@group(0) @binding(i)` declarations for a Dispatch. `dtypes` maps tensor name to
    "f32"/"u32"/"i32"; bindings named in `vec4` (f32 only) become array<vec4<f32>>. The
    uniform block, when present, takes the last binding number."""
    lines = []
    for i, b in enumerate(dispatch.bindings):
        access = "read_write" if b.write else "read"
        elem = dtypes[b.tensor]
        if b.name in vec4:
            if elem != "f32":
                raise ShaderError(f"binding {b.name!r}: vec4 needs an f32 tensor, {b.tensor!r} is {elem}")
            elem = "vec4<f32>"
        lines.append(f"@group(0) @binding({i}) var<storage, {access}> {b.name}: array<{elem}>;")
    if dispatch.uniforms:
        for name, typ, _ in dispatch.uniforms:
            if typ not in _WGSL_TYPES:
                raise ShaderError(f"uniform {name}: type must be f32, u32 or i32, got {typ!r}")
        members = ", ".join(f"{name}: {typ}" for name, typ, _ in dispatch.uniforms)
        lines.append(f"struct Uniforms {{ {members} }}")
        lines.append(f"@group(0) @binding({len(dispatch.bindings)}) var<uniform> U: Uniforms;")
    return "\n".join(lines) + "\n"


def vec4_bindings(dispatch: Dispatch) -> frozenset:
    """Binding names the `//! vec4` directives of this Dispatch's compile unit declare."""
    prefix, body = section(dispatch.shader, dispatch.entry)
    return frozenset(n for m in _VEC4.finditer(prefix + "\n" + body) for n in m.group(1).split())


def _included(m: re.Match) -> str:
    path, alias, subs = m.group(1), m.group(2).split()[-1] if m.group(2).strip() else "", m.group(3).split()
    text = split(path)[0]
    if alias:
        for name in sorted(set(_TOP_NAMES.findall(text)), key=len, reverse=True):
            text = re.sub(rf"\b{name}\b", f"{alias}_{name}", text)
    for sub in subs:
        key, value = sub.split("=", 1)
        text = re.sub(rf"\bU\.{key}\b", value, text)
    return f"// ---- included: {path}{' as ' + alias if alias else ''}\n{text}\n// ---- end of {path}"


def expand_includes(text: str) -> str:
    """Replace `//! include` lines by the prefixes they name (see the module doc)."""
    return _INCLUDE.sub(_included, text)


def resolve_conditionals(text: str, flags=frozenset()) -> str:
    """Keep the side of each `//! if FLAG` section that `flags` selects (not nested)."""
    def keep(m: re.Match) -> str:
        return m.group(2) if m.group(1) in flags else (m.group(3) or "")
    out = _CONDITIONAL.sub(keep, text)
    stray = re.search(r"^[ \t]*//!\s*(if|else|end)\b.*$", out, re.MULTILINE)
    if stray:
        raise ShaderError(f"unmatched '{stray.group(0).strip()}' (an '//! if FLAG' section needs "
                          "its '//! end'; sections don't nest)")
    return out


def compile_unit(dispatch: Dispatch, header: str, flags=frozenset()) -> str:
    prefix, body = section(dispatch.shader, dispatch.entry)
    return resolve_conditionals("\n".join((
        f"// {dispatch.shader} :: {dispatch.entry}", header, common_source(),
        expand_includes(prefix), expand_includes(body))), flags)


_PACK = {"f32": "f", "u32": "I", "i32": "i"}


def _pack(name: str, typ: str, value) -> bytes:
    try:
        return struct.pack("<" + _PACK[typ], float(value) if typ == "f32" else int(value))
    except (KeyError, struct.error, TypeError, ValueError) as e:
        raise ShaderError(f"uniform {name}: cannot store {value!r} as {typ}") from e


def uniform_bytes(uniforms) -> bytes:
    """The Uniforms struct's bytes, 4 per member (all scalars), zero-padded to 16 bytes."""
    data = b"".join(_pack(*u) for u in uniforms)
    return data + bytes(-len(data) % 16)


# ---------------------------------------------------------------------------- pipelines

@dataclass(frozen=True)
class Kernel:
    pipeline: object              # GPUComputePipeline
    layout: object                # GPUBindGroupLayout


_caches: dict[int, tuple[object, dict]] = {}     # id(device) -> (device, {key: Kernel})
_warm: dict[int, set] = {}                      # id(device) -> ids of pipelines dispatched once
_cache_lock = threading.Lock()


def _cache_for(device) -> dict:
    with _cache_lock:
        entry = _caches.get(id(device))
        if entry is None or entry[0] is not device:
            entry = _caches[id(device)] = (device, {})
            _warm[id(device)] = set()
        return entry[1]


def forget_device(device) -> None:
    """Drop the pipelines cached for `device` (after it was lost or reset)."""
    with _cache_lock:
        _caches.pop(id(device), None)
        _warm.pop(id(device), None)
    capabilities.forget_device(device)


def warm_set(device) -> set:
    """ids of this device's cached pipelines that have been dispatched, so compiled (lavapipe
    compiles at the first dispatch); the Engine adds to it after each submit."""
    _cache_for(device)
    with _cache_lock:
        return _warm.setdefault(id(device), set())


def _layout_entries(dispatch: Dispatch) -> list[dict]:
    storage = [wgpu.BufferBindingType.storage if b.write else
               wgpu.BufferBindingType.read_only_storage for b in dispatch.bindings]
    types = storage + ([wgpu.BufferBindingType.uniform] if dispatch.uniforms else [])
    return [{"binding": i, "visibility": wgpu.ShaderStage.COMPUTE, "buffer": {"type": t}}
            for i, t in enumerate(types)]


def _flags_for(device, dispatch: Dispatch) -> frozenset:
    """The device's flags, probed only for a shader that asks for one."""
    prefix, body = section(dispatch.shader, dispatch.entry)
    if "//! if" not in prefix and "//! if" not in body:
        return frozenset()
    return capabilities.shader_flags(device)


def kernel(device, dispatch: Dispatch, dtypes: Mapping[str, str]) -> Kernel:
    """The compiled pipeline and its explicit bind group layout for a Dispatch, cached per
    device by (shader, entry, header). An explicit layout (not "auto") lets an entry leave a
    declared binding unused. Raises ShaderError or wgpu's errors; the Engine adds the node."""
    header = binding_header(dispatch, dtypes, vec4_bindings(dispatch))
    flags = _flags_for(device, dispatch)
    key = (dispatch.shader, dispatch.entry, header, flags)
    cache = _cache_for(device)
    found = cache.get(key)
    if found is None:
        label = f"{dispatch.shader}:{dispatch.entry}"
        module = device.create_shader_module(label=label, code=compile_unit(dispatch, header, flags))
        layout = device.create_bind_group_layout(label=label, entries=_layout_entries(dispatch))
        pipeline = device.create_compute_pipeline(
            label=label,
            layout=device.create_pipeline_layout(label=label, bind_group_layouts=[layout]),
            compute={"module": module, "entry_point": dispatch.entry})
        found = cache[key] = Kernel(pipeline, layout)
    return found
