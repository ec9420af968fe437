"""Calling JIT'd functions from Python (``jit.function``) against every executor kind: each
argument and result kind crosses the process boundary through a generated SPS wrapper;
bad calls and signatures fail clearly, before anything runs."""

from __future__ import annotations

import asyncio
import ctypes

import pytest

from actors.orc import JITDylib, SymbolsNotFoundError

from .conftest import JITUnderTest

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(60)]

FUNCTIONS = """
@buf = global [4 x i64] zeroinitializer

define signext i8 @neg8(i8 signext %x) {
  %r = sub i8 0, %x
  ret i8 %r
}
define zeroext i8 @inc8(i8 zeroext %x) {
  %r = add i8 %x, 1
  ret i8 %r
}
define signext i16 @dec16(i16 signext %x) {
  %r = sub i16 %x, 1
  ret i16 %r
}
define zeroext i16 @shl16(i16 zeroext %x) {
  %r = shl i16 %x, 1
  ret i16 %r
}
define i32 @sub32(i32 %a, i32 %b) {
  %r = sub i32 %a, %b
  ret i32 %r
}
define i32 @udiv32(i32 %a, i32 %b) {
  %r = udiv i32 %a, %b
  ret i32 %r
}
define i64 @mul64(i64 %a, i64 %b) {
  %r = mul i64 %a, %b
  ret i64 %r
}
define i64 @umax64(i64 %a, i64 %b) {
  %gt = icmp ugt i64 %a, %b
  %r = select i1 %gt, i64 %a, i64 %b
  ret i64 %r
}
define zeroext i1 @not(i1 zeroext %x) {
  %r = xor i1 %x, true
  ret i1 %r
}
define float @halve(float %x) {
  %r = fmul float %x, 0.5
  ret float %r
}
define double @mix(double %a, i32 %b, float %c) {
  %bf = sitofp i32 %b to double
  %cd = fpext float %c to double
  %ab = fmul double %a, %bf
  %r = fadd double %ab, %cd
  ret double %r
}
define ptr @buffer() {
  ret ptr @buf
}
define ptr @advance(ptr %p, i64 %n) {
  %r = getelementptr i8, ptr %p, i64 %n
  ret ptr %r
}
define void @store(ptr %p, i64 %v) {
  store i64 %v, ptr %p
  ret void
}
define i64 @load(ptr %p) {
  %v = load i64, ptr %p
  ret i64 %v
}
; Eight integers (two on the stack) and ten doubles (two on the stack), weighted.
define double @many(i64 %a, i64 %b, i64 %c, i64 %d, i64 %e, i64 %f, i64 %g, i64 %h,
                    double %x0, double %x1, double %x2, double %x3, double %x4,
                    double %x5, double %x6, double %x7, double %x8, double %x9) {
  %ib = mul i64 %b, 2
  %ic = mul i64 %c, 3
  %id = mul i64 %d, 4
  %ie = mul i64 %e, 5
  %if = mul i64 %f, 6
  %ig = mul i64 %g, 7
  %ih = mul i64 %h, 8
  %s1 = add i64 %a, %ib
  %s2 = add i64 %s1, %ic
  %s3 = add i64 %s2, %id
  %s4 = add i64 %s3, %ie
  %s5 = add i64 %s4, %if
  %s6 = add i64 %s5, %ig
  %s7 = add i64 %s6, %ih
  %ints = sitofp i64 %s7 to double
  %d1 = fmul double %x1, 2.0
  %d2 = fmul double %x2, 3.0
  %d3 = fmul double %x3, 4.0
  %d4 = fmul double %x4, 5.0
  %d5 = fmul double %x5, 6.0
  %d6 = fmul double %x6, 7.0
  %d7 = fmul double %x7, 8.0
  %d8 = fmul double %x8, 9.0
  %d9 = fmul double %x9, 10.0
  %t1 = fadd double %x0, %d1
  %t2 = fadd double %t1, %d2
  %t3 = fadd double %t2, %d3
  %t4 = fadd double %t3, %d4
  %t5 = fadd double %t4, %d5
  %t6 = fadd double %t5, %d6
  %t7 = fadd double %t6, %d7
  %t8 = fadd double %t7, %d8
  %t9 = fadd double %t8, %d9
  %r = fadd double %ints, %t9
  ret double %r
}
"""

INT_CASES: list[tuple[str, str, list[tuple[int, ...]], list[int]]] = [
    ("neg8", "i8(i8)", [(5,), (-128,), (127,)], [-5, -128, -127]),
    ("inc8", "unsigned char(unsigned char)", [(0,), (254,), (255,)], [1, 255, 0]),
    ("dec16", "short(short)", [(0,), (-32768,)], [-1, 32767]),
    ("shl16", "uint16_t(uint16_t)", [(0x4000,), (0x8001,)], [0x8000, 2]),
    ("sub32", "int(int, int)", [(1, 3), (-(2**31), 1)], [-2, 2**31 - 1]),
    ("udiv32", "unsigned(unsigned, unsigned)", [(2**32 - 1, 1), (10, 3)], [2**32 - 1, 3]),
    ("mul64", "i64(i64, i64)", [(3, -4), (2**62, 2)], [-12, -(2**63)]),
    ("umax64", "size_t(size_t, size_t)", [(2**64 - 1, 1), (0, 7)], [2**64 - 1, 7]),
    ("not", "bool(bool)", [(True,), (False,)], [False, True]),
]


async def functions_in(lazy_jit: JITUnderTest, lazy: bool) -> JITDylib:
    jd = await lazy_jit.jitdylib("fn")
    if lazy:
        await lazy_jit.jit.add_lazy_ir(FUNCTIONS, jd, name="functions")
    else:
        await lazy_jit.jit.add_ir(FUNCTIONS, jd, name="functions")
    return jd


@pytest.mark.parametrize("lazy", [False, True], ids=["eager", "lazy"])
async def test_function_integer_and_bool_kinds(lazy_jit: JITUnderTest, lazy: bool) -> None:
    """Signed and unsigned integers of 8 to 64 bits and bools, at their limits, each way."""
    jd = await functions_in(lazy_jit, lazy)
    for name, signature, calls, expected in INT_CASES:
        function = lazy_jit.jit.function(name, signature, jd=jd)
        got = [await function(*args) for args in calls]
        assert got == expected, name
    assert lazy_jit.errors == []


async def test_function_float_kinds(lazy_jit: JITUnderTest) -> None:
    """float and double arguments and results, mixed with integers, and a call with stack
    arguments of both classes."""
    jd = await functions_in(lazy_jit, lazy=False)
    jit = lazy_jit.jit
    halve = jit.function("halve", "float(float)", jd=jd)
    assert await halve(3.0) == 1.5
    assert await halve(1e-40) == pytest.approx(5e-41, rel=1e-3)  # subnormal float
    mix = jit.function("mix", "double(double, int, float)", jd=jd)
    assert await mix(0.25, -8, 0.5) == -1.5
    assert await mix(2, 3, 1) == 7.0  # ints are accepted for floats
    many = jit.function("many", f"double({', '.join(['long'] * 8 + ['double'] * 10)})", jd=jd)
    ints = [1, -2, 3, -4, 5, -6, 7, -8]
    doubles = [0.5 * (k + 1) for k in range(10)]
    expected: float = sum((k + 1) * v for k, v in enumerate(ints))
    expected += sum((k + 1) * v for k, v in enumerate(doubles))
    assert await many(*ints, *doubles) == expected


async def test_function_pointer_kinds(lazy_jit: JITUnderTest) -> None:
    """Pointers go both ways as executor addresses: a buffer's address comes back, is
    offset, written through and read through; None is the null pointer."""
    jd = await functions_in(lazy_jit, lazy=True)
    jit = lazy_jit.jit
    buffer = await jit.function("buffer", "void*()", jd=jd)()
    assert buffer == await jit.lookup("buf", jd)
    advance = jit.function("advance", "char *(const char *, long)", jd=jd)
    second = await advance(buffer, 8)
    assert second == buffer + 8
    assert await advance(None, 16) == 16
    store = jit.function("store", ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64), jd=jd)
    assert await store(second, -77) is None
    load = jit.function("load", "i64(ptr)", jd=jd)
    assert await load(second) == -77
    assert await load(buffer) == 0


async def test_function_calls_run_concurrently(lazy_jit: JITUnderTest) -> None:
    """Many calls at once, first calls of a lazy function among them: each gets its own
    answer."""
    jd = await functions_in(lazy_jit, lazy=True)
    sub = lazy_jit.jit.function("sub32", "int(int, int)", jd=jd)
    results = await asyncio.gather(*(sub(n, 1) for n in range(50)))
    assert results == [n - 1 for n in range(50)]


async def test_function_bad_calls_fail_before_running(lazy_jit: JITUnderTest) -> None:
    """Wrong arity, types or ranges raise naming the function and argument; an unknown
    function raises SymbolsNotFoundError on its first call."""
    jd = await functions_in(lazy_jit, lazy=False)
    jit = lazy_jit.jit
    sub = jit.function("sub32", "int(int, int)", jd=jd)
    with pytest.raises(TypeError, match=r"sub32\(\) takes 2 arguments \(3 given\)"):
        await sub(1, 2, 3)
    with pytest.raises(TypeError, match=r"sub32\(\) argument 2 \(i32\) must be an int, not str"):
        await sub(1, "2")
    with pytest.raises(OverflowError, match=r"argument 1 \(i32\): 2147483648 does not fit i32"):
        await sub(2**31, 0)
    inc = jit.function("inc8", "u8(u8)", jd=jd)
    with pytest.raises(OverflowError, match=r"-1 does not fit u8 \(0\.\.255\)"):
        await inc(-1)
    halve = jit.function("halve", "float(float)", jd=jd)
    with pytest.raises(TypeError, match=r"must be a float, not NoneType"):
        await halve(None)
    load = jit.function("load", "i64(ptr)", jd=jd)
    with pytest.raises(TypeError, match=r"must be an int \(an executor address\) or None"):
        await load(b"bytes")
    missing = jit.function("no_such_function", "void()", jd=jd)
    with pytest.raises(SymbolsNotFoundError, match="no_such_function"):
        await missing()
    assert await sub(5, 2) == 3  # still fine after the bad calls
