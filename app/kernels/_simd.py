"""Eight float32 lanes as a Numba value: explicit SIMD for register-blocked kernels.

Why: LLVM's loop vectoriser turns a Numba loop into 8-wide FMAs only when the
loop is innermost, indexed by the bare loop variable and free of aliasing
doubts (docs/PERFORMANCE.md §2), and it never keeps a block of accumulators in
registers across an outer reduction loop (item 7: the accumulators go back to
memory on every input channel and tap).  ``F32x8`` is a Numba type whose value
is an LLVM ``<8 x float>``; a kernel holds a dozen of them in local variables,
which LLVM keeps in ymm registers for the whole reduction.

The intrinsics index a C-contiguous float32 array *flat* and check nothing:
callers guarantee ``0 <= idx`` and ``idx + 8 <= arr.size``.

Caching caveat: Numba's on-disk cache of a kernel is invalidated by changes to
the kernel's own source file only, so after changing an intrinsic here, touch
the modules that use it (``blocked.py``) or clear their ``__pycache__``.
"""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

LANES = 8
_VEC = ir.VectorType(ir.FloatType(), LANES)
_ZEROS8 = ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)


class F32x8(types.Type):
    """Numba type of eight float32 lanes held as one LLVM vector."""

    def __init__(self):
        super().__init__(name="F32x8")


f32x8 = F32x8()


@register_model(F32x8)
class _F32x8Model(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _VEC)


def _is_f32_array(arr):
    return isinstance(arr, types.Array) and arr.dtype == types.float32 and arr.layout == "C"


def _address(context, builder, arrty, arr, idx):
    data = context.make_array(arrty)(context, builder, arr).data
    return builder.gep(data, [idx])


def _splat(builder, x):
    v = builder.insert_element(ir.Constant(_VEC, ir.Undefined), x, ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(v, ir.Constant(_VEC, ir.Undefined), _ZEROS8)


@intrinsic
def load8(typingctx, arr, idx):
    """``arr.flat[idx:idx + 8]`` as an F32x8 (unaligned load)."""
    if not (_is_f32_array(arr) and isinstance(idx, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        ptr = _address(context, builder, sig.args[0], args[0], args[1])
        return builder.load(builder.bitcast(ptr, _VEC.as_pointer()), align=4)

    return f32x8(arr, idx), codegen


@intrinsic
def store8(typingctx, arr, idx, v):
    """``arr.flat[idx:idx + 8] = v`` (unaligned store)."""
    if not (_is_f32_array(arr) and isinstance(idx, types.Integer) and v == f32x8):
        return None

    def codegen(context, builder, sig, args):
        ptr = _address(context, builder, sig.args[0], args[0], args[1])
        builder.store(args[2], builder.bitcast(ptr, _VEC.as_pointer()), align=4)
        return context.get_dummy_value()

    return types.none(arr, idx, v), codegen


@intrinsic
def splat8(typingctx, arr, idx):
    """``arr.flat[idx]`` in all eight lanes (one broadcast load)."""
    if not (_is_f32_array(arr) and isinstance(idx, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        ptr = _address(context, builder, sig.args[0], args[0], args[1])
        return _splat(builder, builder.load(ptr, align=4))

    return f32x8(arr, idx), codegen


@intrinsic
def fma8(typingctx, a, b, c):
    """``a * b + c`` lane by lane, fused where the CPU has FMA."""
    if not (a == f32x8 and b == f32x8 and c == f32x8):
        return None

    def codegen(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(_VEC, [_VEC, _VEC, _VEC]), "llvm.fmuladd.v8f32"
        )
        return builder.call(fn, list(args))

    return f32x8(a, b, c), codegen


def _shuffle_intrinsic(lanes, doc):
    @intrinsic
    def shuffle(typingctx, a, b):
        if not (a == f32x8 and b == f32x8):
            return None

        def codegen(context, builder, sig, args):
            return builder.shuffle_vector(args[0], args[1], ir.Constant(ir.VectorType(ir.IntType(32), LANES), lanes))

        return f32x8(a, b), codegen

    shuffle.__doc__ = doc
    return shuffle


even8 = _shuffle_intrinsic(list(range(0, 16, 2)), "Lanes 0, 2, ..., 14 of the 16 lanes of ``a`` then ``b`` (deinterleave).")
odd8 = _shuffle_intrinsic(list(range(1, 16, 2)), "Lanes 1, 3, ..., 15 of the 16 lanes of ``a`` then ``b`` (deinterleave).")


@intrinsic
def sum8(typingctx, v):
    """The sum of the eight lanes as a float32 (pairwise: lanes 0+4, 1+5, ..., then halves)."""
    if v != f32x8:
        return None

    def codegen(context, builder, sig, args):
        lanes = [builder.extract_element(args[0], ir.Constant(ir.IntType(32), i)) for i in range(LANES)]
        while len(lanes) > 1:
            half = len(lanes) // 2
            lanes = [builder.fadd(lanes[i], lanes[i + half]) for i in range(half)]
        return lanes[0]

    return types.float32(v), codegen


@intrinsic
def zero8(typingctx):
    """Eight zero lanes."""

    def codegen(context, builder, sig, args):
        return ir.Constant(_VEC, [0.0] * LANES)

    return f32x8(), codegen


# --------------------------------------------------------------------------- sixteen lanes
#
# The batched kernels (``batch_blocked.py``) hold blocks of 16-lane vectors: one
# AVX-512 register each where the CPU has AVX-512 (this project's machine has),
# two AVX2 registers otherwise (correct, but the blocks then spill).  Rows
# shorter than a multiple of 16 end in a partial vector: the masked load reads
# zeros and the masked store leaves memory alone in the lanes past ``n``.

LANES16 = 16
_VEC16 = ir.VectorType(ir.FloatType(), LANES16)
_I32x16 = ir.VectorType(ir.IntType(32), LANES16)
_MASK16 = ir.VectorType(ir.IntType(1), LANES16)


class F32x16(types.Type):
    """Numba type of sixteen float32 lanes held as one LLVM vector."""

    def __init__(self):
        super().__init__(name="F32x16")


f32x16 = F32x16()


@register_model(F32x16)
class _F32x16Model(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _VEC16)


def _lane_mask(builder, n):
    """Lanes 0 .. n-1 on (n: any integer; n >= 16 means all)."""
    n32 = builder.trunc(n, ir.IntType(32)) if n.type.width > 32 else n
    v = builder.insert_element(ir.Constant(_I32x16, ir.Undefined), n32, ir.Constant(ir.IntType(32), 0))
    v = builder.shuffle_vector(v, ir.Constant(_I32x16, ir.Undefined), ir.Constant(_I32x16, [0] * LANES16))
    return builder.icmp_signed("<", ir.Constant(_I32x16, list(range(LANES16))), v)


@intrinsic
def load16(typingctx, arr, idx):
    """``arr.flat[idx:idx + 16]`` as an F32x16 (unaligned load)."""
    if not (_is_f32_array(arr) and isinstance(idx, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        ptr = _address(context, builder, sig.args[0], args[0], args[1])
        return builder.load(builder.bitcast(ptr, _VEC16.as_pointer()), align=4)

    return f32x16(arr, idx), codegen


@intrinsic
def load16n(typingctx, arr, idx, n):
    """``arr.flat[idx:idx + n]`` in lanes 0 .. n-1, zeros after (masked load: nothing past n is read)."""
    if not (_is_f32_array(arr) and isinstance(idx, types.Integer) and isinstance(n, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        ptr = builder.bitcast(_address(context, builder, sig.args[0], args[0], args[1]), _VEC16.as_pointer())
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(_VEC16, [_VEC16.as_pointer(), ir.IntType(32), _MASK16, _VEC16]),
            "llvm.masked.load.v16f32.p0",
        )
        mask = _lane_mask(builder, args[2])
        return builder.call(fn, [ptr, ir.Constant(ir.IntType(32), 4), mask, ir.Constant(_VEC16, [0.0] * LANES16)])

    return f32x16(arr, idx, n), codegen


@intrinsic
def store16n(typingctx, arr, idx, v, n):
    """``arr.flat[idx:idx + n] = v[:n]`` (masked store: nothing past n is written)."""
    if not (_is_f32_array(arr) and isinstance(idx, types.Integer) and v == f32x16 and isinstance(n, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        ptr = builder.bitcast(_address(context, builder, sig.args[0], args[0], args[1]), _VEC16.as_pointer())
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [_VEC16, _VEC16.as_pointer(), ir.IntType(32), _MASK16]),
            "llvm.masked.store.v16f32.p0",
        )
        builder.call(fn, [args[2], ptr, ir.Constant(ir.IntType(32), 4), _lane_mask(builder, args[3])])
        return context.get_dummy_value()

    return types.none(arr, idx, v, n), codegen


@intrinsic
def splat16(typingctx, arr, idx):
    """``arr.flat[idx]`` in all sixteen lanes (one broadcast load)."""
    if not (_is_f32_array(arr) and isinstance(idx, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        x = builder.load(_address(context, builder, sig.args[0], args[0], args[1]), align=4)
        v = builder.insert_element(ir.Constant(_VEC16, ir.Undefined), x, ir.Constant(ir.IntType(32), 0))
        return builder.shuffle_vector(v, ir.Constant(_VEC16, ir.Undefined), ir.Constant(_I32x16, [0] * LANES16))

    return f32x16(arr, idx), codegen


@intrinsic
def fma16(typingctx, a, b, c):
    """``a * b + c`` lane by lane, fused."""
    if not (a == f32x16 and b == f32x16 and c == f32x16):
        return None

    def codegen(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(_VEC16, [_VEC16, _VEC16, _VEC16]), "llvm.fmuladd.v16f32"
        )
        return builder.call(fn, list(args))

    return f32x16(a, b, c), codegen


@intrinsic
def add16(typingctx, a, b):
    """``a + b`` lane by lane."""
    if not (a == f32x16 and b == f32x16):
        return None

    def codegen(context, builder, sig, args):
        return builder.fadd(args[0], args[1])

    return f32x16(a, b), codegen


@intrinsic
def zero16(typingctx):
    """Sixteen zero lanes."""

    def codegen(context, builder, sig, args):
        return ir.Constant(_VEC16, [0.0] * LANES16)

    return f32x16(), codegen


@intrinsic
def sum16(typingctx, v):
    """The sum of the sixteen lanes as a float32: halves added as vectors (16 → 8 → 4 → 2 → 1),
    four shuffles and four adds instead of fifteen scalar adds."""
    if v != f32x16:
        return None

    def codegen(context, builder, sig, args):
        acc = args[0]
        width = LANES16
        while width > 1:
            width //= 2
            upper = [width + i if i < width else i for i in range(LANES16)]
            acc = builder.fadd(acc, builder.shuffle_vector(acc, acc, ir.Constant(_I32x16, upper)))
        return builder.extract_element(acc, ir.Constant(ir.IntType(32), 0))

    return types.float32(v), codegen


def _shuffle16_intrinsic(lanes, doc):
    @intrinsic
    def shuffle(typingctx, a, b):
        if not (a == f32x16 and b == f32x16):
            return None

        def codegen(context, builder, sig, args):
            return builder.shuffle_vector(args[0], args[1], ir.Constant(_I32x16, lanes))

        return f32x16(a, b), codegen

    shuffle.__doc__ = doc
    return shuffle


even16 = _shuffle16_intrinsic(list(range(0, 32, 2)),
                              "Lanes 0, 2, ..., 30 of the 32 lanes of ``a`` then ``b`` (deinterleave: one vpermt2ps).")
odd16 = _shuffle16_intrinsic(list(range(1, 32, 2)),
                             "Lanes 1, 3, ..., 31 of the 32 lanes of ``a`` then ``b`` (deinterleave: one vpermt2ps).")


def _transpose16_sig(typingctx, *rows):
    if len(rows) != LANES16 or any(r != f32x16 for r in rows):
        return None
    return types.UniTuple(f32x16, LANES16)(*rows)


def _transpose16_codegen(context, builder, sig, args):
    """Four butterfly stages; stage s swaps bit s of the row index with bit s of the lane index.

    Rows i and i + s (bit s of i clear) become: lanes j with bit s clear keep row
    i's lane j and take row i+s's lane j - s in the other half, and the mirror
    image for row i + s.  Each is one two-source shufflevector (vpermt2ps /
    vunpck* / vshuff32x4): 64 shuffles for the whole 16×16 block.
    """
    rows = list(args)
    s = 1
    while s < LANES16:
        lo = ir.Constant(_I32x16, [j if not j & s else LANES16 + j - s for j in range(LANES16)])
        hi = ir.Constant(_I32x16, [j + s if not j & s else LANES16 + j for j in range(LANES16)])
        for i in range(LANES16):
            if i & s:
                continue
            a, b = rows[i], rows[i + s]
            rows[i] = builder.shuffle_vector(a, b, lo)
            rows[i + s] = builder.shuffle_vector(a, b, hi)
        s *= 2
    return context.make_tuple(builder, sig.return_type, rows)


@intrinsic
def transpose16(typingctx, r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13, r14, r15):
    """The 16×16 block whose row i is ``r_i``, transposed: a tuple whose element o holds lane o of every row.

    A channel-vector kernel keeps one vector of 16 output channels per position;
    this turns 16 positions × 16 channels into 16 channel rows of 16 positions in
    registers, ready for one (masked) store per channel instead of 256 scalar copies.
    """
    sig = _transpose16_sig(typingctx, r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13, r14, r15)
    return sig, _transpose16_codegen


def _prefetch(rw, locality=3):
    def codegen(context, builder, sig, args):
        i8p = ir.IntType(8).as_pointer()
        ptr = builder.bitcast(_address(context, builder, sig.args[0], args[0], args[1]), i8p)
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                            "llvm.prefetch.p0")
        builder.call(fn, [ptr, ir.Constant(i32, rw), ir.Constant(i32, locality), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return codegen


@intrinsic
def prefetch_write(typingctx, arr, idx):
    """Ask for the cache line of ``arr.flat[idx]`` ahead of a store (``prefetchw``; a hint, never a fault).

    A channel-vector block stores 14–26 values into each of up to 32 output
    maps; fetched only when the stores arrive, those lines stall the store
    buffer (~17 % of the chapter's batched forward).  Requested when the block
    starts, they arrive while it computes.
    """
    if not (_is_f32_array(arr) and isinstance(idx, types.Integer)):
        return None
    return types.none(arr, idx), _prefetch(1)


@intrinsic
def prefetch_read(typingctx, arr, idx):
    """Ask for the cache line of ``arr.flat[idx]`` ahead of a load (``prefetcht0``; a hint, never a fault)."""
    if not (_is_f32_array(arr) and isinstance(idx, types.Integer)):
        return None
    return types.none(arr, idx), _prefetch(0)


@intrinsic
def prefetch_read_l2(typingctx, arr, idx):
    """Ask for the cache line of ``arr.flat[idx]`` into L2 only (``prefetcht1``; a hint, never a fault).

    For data needed tens of microseconds later (the next image of a batch):
    fetched into L1 it would evict the weights the running block reads from
    there (the chapter's input gradient on one core: 3–4 % faster than with
    ``prefetch_read``, on a shared machine).
    """
    if not (_is_f32_array(arr) and isinstance(idx, types.Integer)):
        return None
    return types.none(arr, idx), _prefetch(0, 2)
