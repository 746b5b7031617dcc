"""Generated matmul kernels: C (+)= op(A)[M,K] · op(B)[K,N], register-blocked, vec4 loads.

On lavapipe every load or store whose address differs between lanes is a small loop over the
SIMD lanes (~5 ns a lane, one float or four alike) while arithmetic runs 8 lanes at a time,
so a kernel's speed is its multiply-adds per load. Each invocation here computes an R x C
block of C (C a multiple of 4, accumulators vec4<f32> along N) and loads A and B as vec4
along whichever dimension is contiguous in memory when its length is a multiple of 4, four
steps of K at a time. Dimensions are uniforms, so one pipeline serves every shape of a
variant; the variant (transposes, block, which loads are vec4, epilogue) names the source.

Epilogues, for the fused lowering (app/model/fused.py):
- bias: + bias[col]                      (Dense forward)
- act:  also writes c2 = f(C)            (Dense forward + an activation: both outputs)
- dact: also writes c2 = C * df(x2, y2)  (dX of a Dense whose input is an activation's
        output y2 of x2: the gradient through that activation, with no kernel of its own)
- colsum: also writes db[col] = sum_k B[k, col] from the blocks of the first row
        (dW = X^T·dZ and the bias gradient db = sum over rows of dZ in one pass)
- acc: C += instead of C = (the plain lowering, where gradients accumulate into zeroed buffers)

The sums run in the order of wgsl/ops/matmul.wgsl (k ascending from 0, bias added last), so
results match it up to the compiler's fused multiply-adds.

Subgroups (sg): on a device with the `subgroup8` flag (gpu/capabilities.py) the eight
invocations of a workgroup own blocks in the same rows of C, so they need the same A values:
each loads one eighth of them (one vec4 each per round) and subgroupBroadcast hands them round,
a register shuffle on lavapipe instead of eight lanes' loads. The A loads per multiply-add drop
8x, and blocks of 32 rows pay off: 1024^3 went from ~11 to ~38-40 GFLOP/s (bench/README #9).
Elsewhere the same source compiles with plain loads (`//! if subgroup8` ... `//! else`).
Rows of blocks are padded to a multiple of 8 blocks so a workgroup never spans two rows; the
padding lanes compute on clamped columns and store nothing.

Long K (ksplit): lavapipe (llvmpipe's loop limiter) ends every loop of an invocation once the
invocation has run 65535 loop iterations in all, silently: a dW = X^T·dZ over a batch of 70000
rows summed only the first 65535. So a product with K > K_CHUNK runs as several dispatches, each
over K_CHUNK steps of K [U.K0, U.K1), the first writing C (or adding, with acc) and the rest
adding (U.first); the bias epilogue goes with the first, colsum adds up like C. `dispatches()`
gives them all; the act/dact epilogues need the whole sum and are never split.
"""
from __future__ import annotations

from dataclasses import dataclass
from hashlib import sha1

from gpu import sources as registry
from gpu.program import Binding, Dispatch, groups_1d

WORKGROUP = 64
K_CHUNK = 32768      # K steps per dispatch at most (see "Long K"): even one step per iteration
                     # stays far below lavapipe's 65535 loop iterations per invocation
BLOCKS = ((8, 8), (4, 8), (8, 4), (4, 4))     # (rows R, cols C) per invocation, largest first


@dataclass(frozen=True)
class Variant:
    ta: bool = False          # A stored (K, M)
    tb: bool = False          # B stored (N, K)
    R: int = 4
    C: int = 4
    va: bool = False          # A as vec4 (along K, or along M when ta)
    vb: bool = False          # B as vec4 (along N, or along K when tb)
    vc: bool = False          # C (and c2, x2, y2, bias, db) as vec4 along N
    ku: int = 1               # K steps per loop iteration (4 needs K % 4 == 0)
    acc: bool = False
    bias: bool = False
    act: str = ""             # "//! include ... as NAME ..." line of the activation, forward
    dact: str = ""            # the same, for the gradient through it
    colsum: bool = False
    wg: int = WORKGROUP       # invocations per workgroup (fewer, for small products: more groups)
    full_rows: bool = False   # M % R == 0: no row guards in the epilogue
    full_cols: bool = False   # N % C == 0: no column guards
    ksplit: bool = False      # K runs in chunks of K_CHUNK, one dispatch each (uniforms K0, K1, first)
    sg: bool = False          # A shared through the subgroup where the device allows (see "Subgroups")

    @property
    def alias(self) -> str:
        line = self.act or self.dact
        return line.split(" as ")[1].split()[0] if line else ""

    def name(self) -> str:
        key = repr(self)
        return f"gen/matmul-{sha1(key.encode()).hexdigest()[:16]}.wgsl"


def blocks(m: int, n: int, r: int, c: int, sg: bool = False) -> int:
    """Invocations a variant runs: blocks of C, each row of blocks padded to a multiple of 8
    for sg variants (a workgroup stays in one row)."""
    per_row = -(-n // c)
    return -(-m // r) * (-(-per_row // 8) * 8 if sg else per_row)


BIG = 1 << 19        # multiply-adds: past this, bigger blocks (slower to compile, but a product
                     # this size runs for milliseconds, and tiers keep compiles off the first step;
                     # from 2^22 down to 2^19, digits' 64x128x64 products: W2 +9%, bench/README #7)
SG_BLOCKS = ((32, 8), (16, 8), (32, 4), (16, 4), (8, 8), (8, 4), (4, 4))   # largest first
BIG_BLOCK = {(False, False): (8, 16), (True, False): (16, 16), (False, True): (16, 8), (True, True): (16, 16)}
SMALL = 1 << 17      # multiply-adds: below this a product runs in well under 100 us whatever the
                     # block, and the smallest kernel compiles in a third of the time


def choose(m: int, n: int, k: int, ta=False, tb=False, **epilogue) -> Variant:
    """The variant for a shape: vec4 wherever the contiguous dimension allows; the largest block
    (more multiply-adds per load) that wastes little on padding and leaves work for both cores;
    workgroups of 8 invocations (one SIMD row on lavapipe), so a small product still makes
    several (lavapipe runs a workgroup on one core). Up to 8x8 blocks for mid-size products
    (8x16 runs ~10% faster there but compiles twice as long); bigger ones past BIG; small
    products take 4x4 blocks, one K step at a time: they compile fastest."""
    if m * n * k <= SMALL:
        return quick(m, n, k, ta, tb, **epilogue)
    ku = 4 if k % 4 == 0 else 1
    va = (m % 4 == 0) if ta else (k % 4 == 0)
    vb = (k % 4 == 0) if tb else (n % 4 == 0)
    if va and ku == 4:
        return _choose_sg(m, n, k, ta, tb, vb, epilogue)
    cands = [(r, c) for r, c in BLOCKS if not (ta and va and r % 4)]
    if m * n * k >= BIG:         # measured at 1024^3 (GFLOP/s): 8x16 6.3 vs 8x8 4.0; A^T: 16x16 4.9
        cands = [BIG_BLOCK[ta, tb]] + cands   # vs 3.4; B^T: 16x8 5.8 vs 4.5

    def waste(rc):
        r, c = rc
        return (-(-m // r) * r) * (-(-n // c) * c) / (m * n)
    good = [rc for rc in cands if waste(rc) <= 1.25 and blocks(m, n, *rc) >= 16]
    r, c = good[0] if good else min(cands, key=lambda rc: (waste(rc), -rc[0] * rc[1]))
    return Variant(ta, tb, r, c, va, vb, n % 4 == 0, ku, wg=8, full_rows=m % r == 0,
                   full_cols=n % c == 0, ksplit=_split(k, epilogue), **_checked(tb, epilogue))


def _choose_sg(m, n, k, ta, tb, vb, epilogue) -> Variant:
    """A subgroup variant (A by vec4, four K steps an iteration): the largest block that wastes
    little on padding and still gives both cores two workgroups each."""
    def waste(rc):
        r, c = rc
        return blocks(m, n, r, c, sg=True) * r * c / (m * n)
    good = [rc for rc in SG_BLOCKS if waste(rc) <= 1.25 and blocks(m, n, *rc, sg=True) >= 32]
    r, c = good[0] if good else min(SG_BLOCKS, key=lambda rc: (waste(rc), -rc[0] * rc[1]))
    per_row = -(-n // c)
    return Variant(ta, tb, r, c, True, vb, n % 4 == 0, 4, wg=8, full_rows=m % r == 0,
                   full_cols=n % c == 0 and per_row % 8 == 0, ksplit=_split(k, epilogue), sg=True,
                   **_checked(tb, epilogue))


def quick(m: int, n: int, k: int, ta=False, tb=False, **epilogue) -> Variant:
    """The variant that compiles fastest (4x4 blocks, one K step per iteration): for small
    products, and as the twin a first training step runs while the fast ones wait to compile."""
    return Variant(ta, tb, 4, 4, (m % 4 == 0) if ta else False, (n % 4 == 0) if not tb else False,
                   n % 4 == 0, 1, wg=8, full_rows=m % 4 == 0, full_cols=n % 4 == 0,
                   ksplit=_split(k, epilogue), **_checked(tb, epilogue))


def _split(k: int, epilogue) -> bool:
    """Whether a product over k runs in K chunks (see "Long K" in the module doc)."""
    if k <= K_CHUNK:
        return False
    if epilogue.get("act") or epilogue.get("dact"):
        raise ValueError(f"a product over K={k} > {K_CHUNK} can't carry an activation epilogue: "
                         "it runs in K chunks")
    return True


def chunks(v: Variant, k: int) -> list[tuple[int, int]]:
    """The [k0, k1) ranges of K that v's dispatches cover: one, or K_CHUNK steps each."""
    if not v.ksplit:
        return [(0, k)]
    return [(k0, min(k0 + K_CHUNK, k)) for k0 in range(0, k, K_CHUNK)]


def _checked(tb, epilogue):
    if epilogue.get("colsum") and tb:
        raise ValueError("colsum sums B's columns; it needs B untransposed")
    return epilogue


def source(v: Variant) -> str:
    R, C, C4, KU = v.R, v.C, v.C // 4, v.ku
    L = [f"// Generated by app/model/matmul.py: {v!r}"]
    vec = [n for n, on in (("a", v.va), ("b", v.vb)) if on]
    if v.vc:
        vec += ["c"] + (["bias"] if v.bias else []) + (["c2"] if v.act or v.dact else []) \
            + (["x2", "y2"] if v.dact else []) + (["db"] if v.colsum else [])
    if vec:
        L.append("//! vec4 " + " ".join(vec))
    if v.act or v.dact:
        L.append(v.act or v.dact)
    lane = ", @builtin(subgroup_invocation_id) lane: u32" if v.sg else ""
    L += ["", "//! entry main", f"@compute @workgroup_size({v.wg})",
          f"fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>{lane}) {{",
          f"    let i = gid.x + gid.y * nwg.x * {v.wg}u;",
          f"    let nbc = ((U.N + {C - 1}u) / {C}u + 7u) / 8u * 8u;" if v.sg else
          f"    let nbc = (U.N + {C - 1}u) / {C}u;",
          f"    if (i >= ((U.M + {R - 1}u) / {R}u) * nbc) {{ return; }}",
          f"    let r0 = (i / nbc) * {R}u;",
          f"    let c0 = (i % nbc) * {C}u;"]
    for r in range(R):
        L.append(f"    let ra{r} = min(r0 + {r}u, U.M - 1u);")
    for c in range(C):
        L.append(f"    let cb{c} = min(c0 + {c}u, U.N - 1u);")
    for r in range(R):
        for j in range(C4):
            L.append(f"    var acc{r}_{j} = vec4<f32>(0.0);")
    if v.colsum:
        L += [f"    var cs{j} = vec4<f32>(0.0);" for j in range(C4)]
    if v.ksplit:
        L.append(f"    for (var k = U.K0; k < U.K1; k += {KU}u) {{")
    else:
        L.append(f"    for (var k = 0u; k < U.K; k += {KU}u) {{")
    # B values first: bv[u][j] (vec4 over 4 columns); then A's, and the multiply-adds
    bv = {}
    if not v.tb and v.vb:           # (K, N), vec4 along N
        for u in range(KU):
            for j in range(C4):
                L.append(f"        let b{u}_{j} = b[((k + {u}u) * U.N) / 4u + min(c0 / 4u + {j}u, U.N / 4u - 1u)];")
                bv[u, j] = f"b{u}_{j}"
    elif not v.tb:
        for u in range(KU):
            for j in range(C4):
                parts = ", ".join(f"b[(k + {u}u) * U.N + cb{4 * j + s}]" for s in range(4))
                L.append(f"        let b{u}_{j} = vec4<f32>({parts});")
                bv[u, j] = f"b{u}_{j}"
    elif v.vb:                      # stored (N, K), vec4 along K (KU == 4)
        for c in range(C):
            L.append(f"        let bt{c} = b[(cb{c} * U.K + k) / 4u];")
        for u in range(KU):
            for j in range(C4):
                bv[u, j] = "vec4<f32>(" + ", ".join(f"bt{4 * j + s}[{u}]" for s in range(4)) + ")"
    else:
        for u in range(KU):
            for j in range(C4):
                parts = ", ".join(f"b[cb{4 * j + s} * U.K + k + {u}u]" for s in range(4))
                L.append(f"        let b{u}_{j} = vec4<f32>({parts});")
                bv[u, j] = f"b{u}_{j}"
    if v.sg:
        L += ["//! if subgroup8"] + _shared_a(v, bv) + ["//! else"]
    # A values: av[r][u]
    av = {}
    if not v.ta and v.va:           # row-major, vec4 along K (KU == 4)
        for r in range(R):
            L.append(f"        let a{r} = a[(ra{r} * U.K + k) / 4u];")
            for u in range(KU):
                av[r, u] = f"a{r}[{u}]"
    elif not v.ta:
        for r in range(R):
            for u in range(KU):
                L.append(f"        let a{r}_{u} = a[ra{r} * U.K + k + {u}u];")
                av[r, u] = f"a{r}_{u}"
    elif v.va:                      # stored (K, M), vec4 along M
        for u in range(KU):
            for q in range(R // 4):
                L.append(f"        let a{u}_{q} = a[((k + {u}u) * U.M) / 4u + min(r0 / 4u + {q}u, U.M / 4u - 1u)];")
                for s in range(4):
                    av[4 * q + s, u] = f"a{u}_{q}[{s}]"
    else:
        for u in range(KU):
            for r in range(R):
                L.append(f"        let a{u}_{r} = a[(k + {u}u) * U.M + ra{r}];")
                av[r, u] = f"a{u}_{r}"
    for u in range(KU):
        for r in range(R):
            for j in range(C4):
                L.append(f"        acc{r}_{j} += {av[r, u]} * {bv[u, j]};")
    if v.sg:
        L.append("//! end")
    if v.colsum:
        L += [f"        cs{j} += {bv[u, j]};" for u in range(KU) for j in range(C4)]
    L.append("    }")
    # epilogue
    f, df = f"{v.alias}_f", f"{v.alias}_df"
    # ksplit: the bias goes with the first chunk; C and db are written by it (added to, with
    # acc) and added to by the others
    def first_only(x):
        return f"select(vec4<f32>(0.0), {x}, U.first == 1u)" if v.ksplit else x

    def store(dst, val):
        if v.acc:
            return f"{dst} = {dst} + {val};"
        if v.ksplit:
            return f"{dst} = select({dst} + {val}, {val}, U.first == 1u);"
        return f"{dst} = {val};"
    for j in range(C4):
        if v.vc:
            L.append(f"    let cg{j} = min(c0 / 4u + {j}u, U.N / 4u - 1u);")
            if v.bias:
                L.append(f"    let bias{j} = {first_only('bias[cg' + str(j) + ']')};")
        elif v.bias:
            L.append(f"    let bias{j} = " + first_only("vec4<f32>(" + ", ".join(f"bias[cb{4 * j + s}]" for s in range(4)) + ")") + ";")
    # The stores run in a loop over the block's rows, the row's accumulators picked by select():
    # every store is a loop over the SIMD lanes in lavapipe's code, and unrolled they made the
    # compile (which the first training step waits for) three times as long as the product.
    # (Indexing an array of accumulators instead keeps them in memory: 4x slower, 10x the compile.)
    rows = "{R}u" if v.full_rows else "min({R}u, U.M - r0)"
    L.append(f"    for (var r = 0u; r < {rows.format(R=R)}; r++) {{")
    for j in range(C4):
        pick = f"acc{R - 1}_{j}"
        for r in range(R - 2, -1, -1):
            pick = f"select({pick}, acc{r}_{j}, r == {r}u)"
        L.append(f"        let v{j} = {pick}" + (f" + bias{j};" if v.bias else ";"))
        if v.vc:
            if not v.full_cols:
                L.append(f"        if (c0 + {4 * j}u < U.N) {{")
            L.append(f"        let o{j} = (r0 + r) * (U.N / 4u) + c0 / 4u + {j}u;")
            o, val = f"o{j}", f"v{j}"
            L.append(f"        {store(f'c[{o}]', val)}")
            if v.act:
                L.append(f"        c2[{o}] = vec4<f32>({f}({val}.x), {f}({val}.y), {f}({val}.z), {f}({val}.w));")
            if v.dact:
                L += [f"        let x{j} = x2[{o}];", f"        let y{j} = y2[{o}];",
                      f"        c2[{o}] = {val} * vec4<f32>({df}(x{j}.x, y{j}.x), {df}(x{j}.y, y{j}.y), "
                      f"{df}(x{j}.z, y{j}.z), {df}(x{j}.w, y{j}.w));"]
            if not v.full_cols:
                L.append("        }")
        else:
            for q in range(4):
                L.append(f"        if (c0 + {4 * j + q}u < U.N) {{")
                L.append(f"            let o = (r0 + r) * U.N + c0 + {4 * j + q}u;")
                L.append(f"            {store('c[o]', f'v{j}[{q}]')}")
                if v.act:
                    L.append(f"            c2[o] = {f}(v{j}[{q}]);")
                if v.dact:
                    L.append(f"            c2[o] = v{j}[{q}] * {df}(x2[o], y2[o]);")
                L.append("        }")
    L.append("    }")
    if v.colsum:
        L.append("    if (r0 == 0u) {")
        for j in range(C4):
            if v.vc:
                d = f"db[c0 / 4u + {j}u]"
                put = f"{d} = select({d} + cs{j}, cs{j}, U.first == 1u);" if v.ksplit else f"{d} = cs{j};"
                L.append(f"        if (c0 + {4 * j}u < U.N) {{ {put} }}")
            else:
                for s in range(4):
                    d, val = f"db[c0 + {4 * j + s}u]", f"cs{j}[{s}]"
                    put = f"{d} = select({d} + {val}, {val}, U.first == 1u);" if v.ksplit else f"{d} = {val};"
                    L.append(f"        if (c0 + {4 * j + s}u < U.N) {{ {put} }}")
        L.append("    }")
    L += ["}", ""]
    return "\n".join(L)


def _shared_a(v: Variant, bv: dict) -> list[str]:
    """One iteration (four K steps) with A loaded by the subgroup together: item t (a row's
    vec4 along K, or with ta a vec4 along M at one K step) is loaded by lane t % 8 in round
    t // 8, and each broadcast is used by its rows' multiply-adds at once (all broadcasts first
    kept 32 vec4s live: spills, half the speed at 1024^3)."""
    R, C4, items = v.R, v.C // 4, v.R    # R rows x 4 K steps = R vec4s either way
    L = []
    for j in range(-(-items // 8)):
        t = f"min(lane + {8 * j}u, {items - 1}u)"
        if not v.ta:
            L.append(f"        let ld{j} = a[(min(r0 + {t}, U.M - 1u) * U.K + k) / 4u];")
        else:                            # item t = u * (R / 4) + q: K step u, vec4 q along M
            L.append(f"        let t{j} = {t};")
            L.append(f"        let ld{j} = a[((k + t{j} / {R // 4}u) * U.M) / 4u + "
                     f"min(r0 / 4u + t{j} % {R // 4}u, U.M / 4u - 1u)];")

    def shared(t):
        return f"subgroupBroadcast(ld{t // 8}, {t % 8}u)"
    if not v.ta:                         # item r: row r at K steps 0..3
        for r in range(R):
            L.append(f"        let s{r} = {shared(r)};")
            L += [f"        acc{r}_{j} += s{r}[{u}] * {bv[u, j]};" for u in range(4) for j in range(C4)]
    else:                                # items (u, q): rows 4q..4q+3 at K step u
        for q in range(R // 4):
            L += [f"        let s{u}_{q} = {shared(u * (R // 4) + q)};" for u in range(4)]
            L += [f"        acc{4 * q + x}_{j} += s{u}_{q}[{x}] * {bv[u, j]};"
                  for x in range(4) for u in range(4) for j in range(C4)]
    return L


def dispatch(v: Variant, a, b, c, m, n, k, *, bias=None, c2=None, x2=None, y2=None, db=None,
             node=None, sources: dict | None = None) -> Dispatch:
    """The Dispatch of variant v; its source goes into `sources` (program.meta["sources"]).
    Only for a variant that runs as one dispatch (not ksplit): see dispatches()."""
    if v.ksplit:
        raise ValueError(f"a product over K={k} runs as several dispatches: use matmul.dispatches()")
    return dispatches(v, a, b, c, m, n, k, bias=bias, c2=c2, x2=x2, y2=y2, db=db, node=node,
                      sources=sources)[0]


def dispatches(v: Variant, a, b, c, m, n, k, *, bias=None, c2=None, x2=None, y2=None, db=None,
               node=None, sources: dict | None = None) -> list[Dispatch]:
    """The Dispatches of variant v, in order: one, or one per K chunk (see "Long K")."""
    name = v.name()
    text = registry.get(name) or source(v)
    registry.register(name, text)
    if sources is not None:
        sources.setdefault(name, text)
    reads = [Binding("a", a), Binding("b", b)]
    if v.bias:
        reads.append(Binding("bias", bias))
    if v.dact:
        reads += [Binding("x2", x2), Binding("y2", y2)]
    writes = [Binding("c", c, write=True)]
    if v.act or v.dact:
        writes.append(Binding("c2", c2, write=True))
    if v.colsum:
        writes.append(Binding("db", db, write=True))
    groups = groups_1d(blocks(m, n, v.R, v.C, v.sg), v.wg)
    dims = (("M", "u32", m), ("N", "u32", n), ("K", "u32", k))
    if not v.ksplit:
        return [Dispatch(name, "main", tuple(reads + writes), groups, dims, node=node)]
    return [Dispatch(name, "main", tuple(reads + writes), groups,
                     dims + (("K0", "u32", k0), ("K1", "u32", k1), ("first", "u32", int(i == 0))), node=node)
            for i, (k0, k1) in enumerate(chunks(v, k))]
