"""Runs a Program on the GPU: one buffer per tensor, every pipeline and bind group built once.

Per step the host only records dispatches (set_pipeline / set_bind_group / dispatch) into one
command encoder and submits once; nothing is allocated or read back.

Everything that can be checked is checked when the Engine is built (bindings, aliasing,
workgroup limits, compilation): wgpu-native raises validation errors from encoding as
exceptions, but one found at queue.submit aborts the whole process.

Views: `program.meta["views"]` may map a tensor to (base tensor, element offset): it then has
no buffer of its own but is the range of its base's buffer (a flat parameter buffer, say, that
one optimizer dispatch updates whole). Offsets are multiples of 64 elements (256 bytes, the
largest storage offset alignment WebGPU allows); a view's init is uploaded into its range.

Tiers: `program.meta["tiers"]` may map a phase to a twin phase of the same length whose
dispatch i does what dispatch i of the phase does with a kernel that compiles faster (lavapipe
compiles a pipeline when it is first dispatched: ~0.1 s for a small kernel, up to ~1 s for a
big unrolled one). run() then uses the twin's kernel wherever the phase's own has not yet run,
and swaps in one more of the phase's own per call (from the Engine's second call on, once the
twins have run): the first step waits only for the quick kernels, later calls each pay for
at most one compile. Pipelines are cached
per device, so a Reset (a new Engine for the same graph) starts with every kernel warm.

Recovering from a lost device: catch KernelError from Engine.run (its `cause` is the wgpu
error), call gpu.device.reset_device(), build a new Engine from the same Program and write
the host's last good copy of the weights and optimizer state back with Engine.write.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import wgpu

from . import shaders
from .device import get_device
from .errors import KernelError, ShaderError
from .program import DTYPES, Dispatch, Program, Tensor

_STORAGE = wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_SRC | wgpu.BufferUsage.COPY_DST
# wgpu raises these from the call that failed; GPUPipelineError is not a GPUError subclass.
_WGPU_ERRORS = (wgpu.GPUError, wgpu.GPUPipelineError)


def _label(d: Dispatch) -> str:
    """Label for wgpu objects; wgpu quotes it in its messages, which lets run() name the node."""
    return f"{d.node or '?'}|{d.shader}:{d.entry}"


def _check_bindings(d: Dispatch, program: Program, base=lambda name: name) -> None:
    seen: dict[str, bool] = {}
    access: dict[str, set] = {}          # buffer (a view's base) -> {read, write} bindings
    for b in d.bindings:
        if b.tensor not in program.tensors:
            raise ShaderError(f"binding {b.name!r} names unknown tensor {b.tensor!r}")
        if b.tensor in seen and (b.write or seen[b.tensor]):
            raise ShaderError(f"tensor {b.tensor!r} is bound twice with write access "
                              f"(WebGPU forbids read_write aliasing another binding)")
        seen[b.tensor] = seen.get(b.tensor, False) or b.write
        kinds = access.setdefault(base(b.tensor), set())
        kinds.add(b.write)
        if len(kinds) == 2:
            raise ShaderError(f"buffer {base(b.tensor)!r} is bound both read-only and read_write "
                              f"(through view {b.tensor!r}); WebGPU forbids that in one dispatch")


class Engine:
    def __init__(self, program: Program, device=None):
        self.program = program
        self._destroyed = False
        self.device = device if device is not None else get_device()
        self._dtypes = {name: t.dtype for name, t in program.tensors.items()}
        for name, text in program.meta.get("sources", {}).items():   # generated kernels
            shaders.register_source(name, text)
        self._views = self._check_views(program.meta.get("views", {}))
        self.buffers = {name: self._allocate(t) for name, t in program.tensors.items()
                        if name not in self._views}
        # tensor -> (byte offset, bytes) of its range in self.buffers[tensor]
        self._ranges = {name: (0, buf.size) for name, buf in self.buffers.items()}
        for name, (base, offset) in self._views.items():
            buf = self.buffers[name] = self.buffers[base]
            start = offset * 4
            self._ranges[name] = (start, min(-(-program.tensors[name].size * 4 // 16) * 16, buf.size - start))
            if program.tensors[name].init is not None:
                self.write(name, program.tensors[name].init)
        missing = [n for n in program.zeroed if n not in self.buffers]
        if missing:
            raise KernelError(f"program.zeroed names unknown tensors: {', '.join(missing)}")
        self._zeroed = [(self.buffers[n], *self._ranges[n]) for n in program.zeroed]
        self._uniforms = []          # keeps uniform buffers alive with their bind groups
        # phase -> [(pipeline, bind_group, groups, dispatch)], all built up front
        self._phases = {phase: [self._prepare(d) for d in ds]
                        for phase, ds in program.phases.items()}
        self._plans: dict[tuple[str, ...], list] = {}
        self._calls = 0
        self._free_staging: list = []     # mappable buffers for Readbacks, reused
        self._tiers = {ph: tw for ph, tw in program.meta.get("tiers", {}).items()
                       if len(self._phases.get(ph, ())) == len(self._phases.get(tw, ()))}

    # ------------------------------------------------------------------ building

    def _check_views(self, views: dict) -> dict:
        align = self.device.limits.get("min-storage-buffer-offset-alignment", 256) // 4
        tensors = self.program.tensors
        for name, (base, offset) in views.items():
            problem = None
            if name not in tensors or base not in tensors:
                problem = "names an unknown tensor"
            elif base in views:
                problem = "has a view for its base"
            elif offset < 0 or offset % max(align, 1) or offset + tensors[name].size > tensors[base].size:
                problem = f"has offset {offset}, not aligned to {align} elements or past the end"
            elif tensors[name].dtype != tensors[base].dtype:
                problem = "differs in dtype from its base"
            if problem:
                raise KernelError(f"view {name!r} of {base!r} {problem}")
        return {name: (base, int(offset)) for name, (base, offset) in views.items()}

    def _base(self, name: str) -> str:
        return self._views[name][0] if name in self._views else name

    def _allocate(self, t: Tensor):
        # padded to 16 bytes, so any f32 tensor can be bound as array<vec4<f32>> (see shaders)
        nbytes = -(-t.size * 4 // 16) * 16
        limit = self.device.limits.get("max-storage-buffer-binding-size", nbytes)
        if nbytes > limit:
            raise KernelError(f"tensor {t.name!r}{_of(t.node)} needs {nbytes} bytes; the adapter "
                              f"binds at most {limit} bytes per buffer", node=t.node)
        try:
            if t.init is None:       # WebGPU zero-fills new buffers
                return self.device.create_buffer(label=t.name, size=nbytes, usage=_STORAGE)
            data = np.ascontiguousarray(t.init, dtype=DTYPES[t.dtype]).ravel()
            if data.nbytes != nbytes:
                data = np.concatenate([data, np.zeros((nbytes - data.nbytes) // 4, data.dtype)])
            return self.device.create_buffer_with_data(label=t.name, data=data, usage=_STORAGE)
        except _WGPU_ERRORS as e:
            raise KernelError.wrap(f"allocating tensor {t.name!r}", e, node=t.node) from e

    def _prepare(self, d: Dispatch):
        try:
            _check_bindings(d, self.program, self._base)
            _check_groups(d, self.device.limits.get("max-compute-workgroups-per-dimension", 65535))
            k = shaders.kernel(self.device, d, self._dtypes)
            resources = [(self.buffers[b.tensor], *self._ranges[b.tensor]) for b in d.bindings]
            if d.uniforms:
                ubuf = self.device.create_buffer_with_data(
                    label=_label(d), data=shaders.uniform_bytes(d.uniforms),
                    usage=wgpu.BufferUsage.UNIFORM)
                self._uniforms.append(ubuf)
                resources.append((ubuf, 0, ubuf.size))
            group = self.device.create_bind_group(
                label=_label(d), layout=k.layout,
                entries=[{"binding": i, "resource": {"buffer": buf, "offset": off, "size": size}}
                         for i, (buf, off, size) in enumerate(resources)])
        except (ShaderError, *_WGPU_ERRORS) as e:
            raise KernelError.wrap("building kernel", e, node=d.node, shader=d.shader,
                                   entry=d.entry) from e
        return k.pipeline, group, tuple(d.groups), d

    # ------------------------------------------------------------------ host access

    def _check_alive(self) -> None:
        # wgpu-native aborts the process (not an exception) when a submit uses a destroyed buffer
        if self._destroyed:
            raise RuntimeError("this Engine was destroyed; build a new one")

    def _tensor(self, name: str) -> Tensor:
        self._check_alive()
        try:
            return self.program.tensors[name]
        except KeyError:
            raise KeyError(f"no tensor {name!r} in this program") from None

    def write(self, name: str, array, offset: int | None = None) -> None:
        """Upload `array` (cast to the tensor's dtype). With offset None it must fill the whole
        tensor; with an element offset it may fill part of it."""
        t = self._tensor(name)
        data = np.ascontiguousarray(array, dtype=DTYPES[t.dtype]).ravel()
        start = offset or 0
        if (offset is None and data.size != t.size) or start < 0 or start + data.size > t.size:
            where = "" if offset is None else f" at offset {offset}"
            raise ValueError(f"write {name!r}: {data.size} elements{where} don't fit a tensor "
                             f"of {t.size}")
        if data.size:
            self.device.queue.write_buffer(self.buffers[name], self._ranges[name][0] + start * 4, data)

    def read(self, name: str) -> np.ndarray:
        """Blocking readback of a whole tensor (for stats and evaluation, not per step)."""
        t = self._tensor(name)
        offset, nbytes = self._ranges[name]
        raw = self.device.queue.read_buffer(self.buffers[name], offset, nbytes)
        return np.frombuffer(raw, dtype=DTYPES[t.dtype], count=t.size).copy()

    def copy_from(self, other: "Engine", names: Sequence[str]) -> None:
        """Copy tensors of the same name and size from another Engine on the same device, on
        the GPU (queued: it sees everything submitted to `other` before it). Evaluation and
        the decision boundary take the training weights this way, without a trip through
        the host."""
        self._check_alive()
        other._check_alive()
        encoder = self.device.create_command_encoder()
        for name in names:
            (src, n_src), (dst, n_dst) = other._ranges[name], self._ranges[name]
            if other.program.tensors[name].size != self._tensor(name).size:
                raise ValueError(f"copy {name!r}: {other.program.tensors[name].size} elements into "
                                 f"{self.program.tensors[name].size}")
            encoder.copy_buffer_to_buffer(other.buffers[name], src, self.buffers[name], dst, min(n_src, n_dst))
        self.device.queue.submit([encoder.finish()])

    # ------------------------------------------------------------------ running

    def _plan(self, phases: Sequence[str]) -> list:
        key = tuple(phases)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = [s for p in key for s in self._phases.get(p, ())]
        return plan

    def _tiered(self, phases: Sequence[str]) -> list:
        """The plan, with a tiered phase's not-yet-compiled kernels replaced by their twins'
        (see the module doc); upgrades one kernel per call once the twins are warm."""
        if not self._tiers or not any(p in self._tiers for p in phases):
            return self._plan(phases)
        warm = shaders.warm_set(self.device)
        plan = []
        for p in phases:
            own = self._phases.get(p, ())
            twin = self._phases.get(self._tiers.get(p), ())
            if not twin:
                plan += own
                continue
            # upgrade once the quick ones have run, and never in an Engine's first call: a first
            # step (Train pressed, or Reset) waits for no compile it can avoid
            upgrade = self._calls > 0 and all(id(t[0]) in warm for t in twin)
            for mine, quick in zip(own, twin):
                if id(mine[0]) in warm:
                    plan.append(mine)
                elif upgrade:
                    plan.append(mine)
                    upgrade = False
                else:
                    plan.append(quick)
        return plan

    def warm(self, phases: Sequence[str]) -> bool:
        """True when every kernel the phases run (their own, not a tier's twin) has run."""
        warm = shaders.warm_set(self.device)
        return all(id(s[0]) in warm for s in self._plan(phases))

    def run(self, phases: Sequence[str], repeat: int = 1, zero: bool = True, tail: Sequence[str] = (),
            read: Sequence[str] = ()) -> "Readback | None":
        """Record `repeat` times: clear program.zeroed (if zero), then the named phases'
        dispatches in order; the last time also the `tail` phases (a chunk's statistics, at its
        last step). One encoder, one submit. Unknown phases are empty. Without buffers to clear,
        all repeats share one compute pass (a pass costs ~50 us on lavapipe, a dispatch ~20 us;
        WebGPU orders the dispatches of a pass).

        read: tensors copied out at the end of the same submission; the Readback returned
        waits for them only when asked (result()). So the caller can queue the next run before
        collecting this one's figures, and the GPU never idles while the host handles them
        (on lavapipe a submit waits for the previous one to finish, so one queued run keeps it
        busy)."""
        if isinstance(phases, str):
            phases = (phases,)
        self._check_alive()
        plan = self._tiered(phases)
        last = plan + self._tiered(tail) if tail else plan
        self._calls += 1
        readback = None
        try:
            encoder = self.device.create_command_encoder()
            if zero and self._zeroed:
                for i in range(repeat):
                    for buf, offset, nbytes in self._zeroed:
                        encoder.clear_buffer(buf, offset, nbytes)
                    steps = last if i == repeat - 1 else plan
                    if steps:
                        self._encode_pass(encoder, steps)
            elif plan or last:
                self._encode_pass(encoder, plan * (repeat - 1) + last if repeat > 1 else last)
            if read:
                readback = self._copy_out(encoder, read)
            self.device.queue.submit([encoder.finish()])
        except _WGPU_ERRORS as e:
            raise self._run_error(e, last, tuple(phases) + tuple(tail)) from e
        shaders.warm_set(self.device).update(id(s[0]) for s in last)
        if readback:
            readback.request()
        return readback

    def _copy_out(self, encoder, names: Sequence[str]) -> "Readback":
        ranges = [(name, *self._ranges[name]) for name in names]
        staging = self._staging(sum(nbytes for _, _, nbytes in ranges))
        layout, at = [], 0
        for name, offset, nbytes in ranges:
            encoder.copy_buffer_to_buffer(self.buffers[name], offset, staging, at, nbytes)
            layout.append((name, at, self._tensor(name)))
            at += nbytes
        return Readback(self, staging, layout)

    def _staging(self, size: int):
        """A mappable buffer of at least `size` bytes, from those returned by finished Readbacks."""
        for i, buf in enumerate(self._free_staging):
            if buf.size >= size:
                return self._free_staging.pop(i)
        return self.device.create_buffer(label="readback", size=max(size, 16),
                                         usage=wgpu.BufferUsage.COPY_DST | wgpu.BufferUsage.MAP_READ)

    @staticmethod
    def _encode_pass(encoder, plan) -> None:
        cpass = encoder.begin_compute_pass()
        last = None
        for pipeline, group, (x, y, z), _ in plan:
            if pipeline is not last:     # consecutive dispatches often share a kernel
                cpass.set_pipeline(pipeline)
                last = pipeline
            cpass.set_bind_group(0, group)
            cpass.dispatch_workgroups(x, y, z)
        cpass.end()

    def _run_error(self, e: BaseException, plan, phases) -> KernelError:
        """Name the Dispatch behind a failed run: by the label wgpu quotes, else by encoding
        each dispatch alone (never submitted) until one fails the same way."""
        culprit = next((d for *_, d in plan if _label(d) in str(e)), None)
        if culprit is None:
            culprit = next((step[3] for step in plan if not self._encodes(step)), None)
        if culprit is None:
            return KernelError.wrap(f"running phases {', '.join(phases)}", e)
        return KernelError.wrap("running kernel", e, node=culprit.node, shader=culprit.shader,
                                entry=culprit.entry)

    def _encodes(self, step) -> bool:
        try:
            encoder = self.device.create_command_encoder()
            self._encode_pass(encoder, [step])
            encoder.finish()
            return True
        except _WGPU_ERRORS:
            return False

    def destroy(self) -> None:
        """Free the GPU buffers now instead of waiting for garbage collection."""
        self._destroyed = True
        for buf in {id(b): b for b in [*self.buffers.values(), *self._uniforms, *self._free_staging]}.values():
            buf.destroy()
        self.buffers, self._uniforms, self._phases, self._plans, self._free_staging = {}, [], {}, {}, []


def _of(node: str | None) -> str:
    return f" (node {node!r})" if node else ""


def _check_groups(d: Dispatch, limit: int) -> None:
    if len(d.groups) != 3 or any(g < 0 or g > limit for g in d.groups):
        raise ShaderError(f"workgroup counts {d.groups} must be 3 numbers in 0..{limit} "
                          f"(use gpu.program.groups_1d)")


def warm_up(device=None) -> float:
    """Build and run one tiny Program and return the seconds it took. The first Engine of a
    process pays 0.5-1.5 s that later ones don't (cffi parses each of wgpu's C struct types on
    first use; lavapipe starts its threads): an app that calls this when it starts (in the
    thread that will train) takes that off the first press of Train."""
    import time
    from .program import Binding, Dispatch, Program, Tensor
    t0 = time.perf_counter()
    p = Program()
    p.add(Tensor("warm_up", 4))
    p.emit("main", Dispatch("ops/fill.wgsl", "fill", (Binding("y", "warm_up", write=True),), (1, 1, 1),
                            (("n", "u32", 4), ("value", "f32", 1.0))))
    p.zeroed.append("warm_up")
    engine = Engine(p, device)
    try:
        engine.run(["main"])
        engine.write("warm_up", np.zeros(4, np.float32))
        engine.read("warm_up")
    finally:
        engine.destroy()
    return time.perf_counter() - t0



class Readback:
    """Tensors a run copied out, on their way to the host: result() waits for them (once).

    The map is requested right after the submit, so wgpu's poll thread collects it as soon as
    that submission is done, even while a later one runs."""

    def __init__(self, engine: Engine, staging, layout: list):
        self._engine, self._staging, self._layout = engine, staging, layout
        self._promise = None
        self._arrays: dict[str, np.ndarray] | None = None

    def request(self) -> None:
        try:      # READ_NOSYNC: wgpu-py's own read_buffer mode, without the empty submit that
                  # "READ" adds on a first map (a submit waits for the run in flight on lavapipe)
            self._promise = self._staging.map_async("READ_NOSYNC")
        except (ValueError, KeyError, TypeError):
            self._promise = self._staging.map_async(wgpu.MapMode.READ)

    def result(self) -> dict[str, np.ndarray]:
        """{tensor: its values} as they were at the end of the run."""
        if self._arrays is None:
            # wgpu-py's poll thread may be in a blocking poll that waits for the run queued
            # after this one; a non-blocking poll here collects this one as soon as it is done
            poll = getattr(self._engine.device, "_poll", None)
            if poll is not None:
                poll(False)
            self._promise.sync_wait()
            raw = self._staging.read_mapped(copy=False)
            self._arrays = {}
            for name, at, t in self._layout:
                count = t.size
                self._arrays[name] = np.frombuffer(raw, dtype=DTYPES[t.dtype], count=count,
                                                   offset=at).copy()
            self._staging.unmap()
            if not self._engine._destroyed:
                self._engine._free_staging.append(self._staging)
        return self._arrays
