"""Lazy functions through LLLazyJIT against every executor kind: the stubs, trampolines and
resolver are the controller's generated code, the bodies compile on their first call through
the real IR layers and ObjectLinkingLayer. Kinds: `conftest.KINDS`."""

from __future__ import annotations

import asyncio
import concurrent.futures
import signal
import threading
from typing import Any

import pytest

from actors import DisconnectedError

from ._asm import assemble, naked_function
from .conftest import SPAWNED, JITUnderTest, open_test_jit

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(60)]

INCREMENT = """
define i32 @f(i32 %x) {
  %r = add i32 %x, 1
  ret i32 %r
}

define i32 @never_called(i32 %x) {
  ret i32 %x
}
"""


async def test_lazy_body_compiles_on_first_call_only(lazy_jit: JITUnderTest) -> None:
    """Looking up a lazy function gives its stub and compiles nothing; the first call
    compiles the body once (one reentry into the controller); later calls jump straight to
    it; a function never called never compiles."""
    jit = lazy_jit.jit
    jd = await lazy_jit.jitdylib()
    mark, reentries = len(lazy_jit.compiled), jit.lazy_reexports.reentries
    await jit.add_lazy_ir(INCREMENT, jd, name="increment")
    stub = await jit.lookup("f", jd)
    assert stub != 0
    assert "f" not in lazy_jit.compiled_functions(mark)
    f = jit.function("f", "int(int)", jd=jd)
    assert await f(41) == 42
    assert jit.lazy_reexports.reentries == reentries + 1
    for value in (-5, 0, 1_000_000):
        assert await f(value) == value + 1
    functions = lazy_jit.compiled_functions(mark)
    assert functions.count("f") == 1
    assert "never_called" not in functions
    assert jit.lazy_reexports.reentries == reentries + 1
    assert await f.address() == stub
    assert lazy_jit.errors == []


INT_REGS = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")
CALLEE_SAVED = ("rbx", "rbp", "r12", "r13", "r14", "r15")


def value(index: int) -> int:
    """A distinct 64-bit pattern per argument (no two equal, none fits 32 bits)."""
    return 0x1000_0000_0000_0001 + index * 0x0101_0101_0101_0100


def register_driver() -> str:
    """``int driver(void)``: loads every argument register, ``al``, two stack arguments and the
    callee-saved registers with known values and calls ``f``; returns f's mismatch mask, plus
    bit 20 if a callee-saved register changed across the call."""
    lines = [".globl driver", "driver:"]
    lines += [f"    push {reg}" for reg in CALLEE_SAVED]  # 6 pushes: rsp = 8 mod 16
    lines += ["    sub rsp, 24"]  # 16-byte aligned at the call; two stack arguments
    lines += [f"    movabs rax, {value(20)}", "    mov [rsp], rax"]
    lines += [f"    movabs rax, {value(21)}", "    mov [rsp + 8], rax"]
    for index, reg in enumerate(CALLEE_SAVED):
        lines.append(f"    movabs {reg}, {value(30 + index)}")
    for index in range(8):
        lines += [
            f"    movabs rax, {value(6 + index)}",
            f"    movq xmm{index}, rax",
            f"    movabs rax, {value(40 + index)}",
            f"    pinsrq xmm{index}, rax, 1",
        ]
    for index, reg in enumerate(INT_REGS):
        lines.append(f"    movabs {reg}, {value(index)}")
    lines += ["    mov eax, 8", "    call f", "    mov r10d, eax"]
    for index, reg in enumerate(CALLEE_SAVED):
        lines += [
            f"    movabs r11, {value(30 + index)}",
            f"    cmp {reg}, r11",
            "    je 1f",
            "    or r10d, 0x100000",
            "1:",
        ]
    lines += ["    mov eax, r10d", "    add rsp, 24"]
    lines += [f"    pop {reg}" for reg in reversed(CALLEE_SAVED)]
    lines.append("    ret")
    return "\n".join(lines)


def register_checker() -> str:
    """The body of ``f``: bit i set in its result for each argument that is not what the
    driver put there (0-5: integer registers, 6-13: xmm0-7 both halves, 14: al, 15-16: the
    stack arguments)."""
    lines = ["xor r10d, r10d"]

    def check(operand: str, expected: int, bit: int) -> None:
        lines.extend(
            [
                f"movabs r11, {expected}",
                f"cmp {operand}, r11",
                "je 1f",
                f"or r10d, {1 << bit}",
                "1:",
            ]
        )

    lines += ["cmp al, 8", "je 1f", f"or r10d, {1 << 14}", "1:"]
    for index, reg in enumerate(INT_REGS):
        check(reg, value(index), index)
    for index in range(8):
        lines.append(f"movq rax, xmm{index}")
        check("rax", value(6 + index), 6 + index)
        lines.append(f"pextrq rax, xmm{index}, 1")
        check("rax", value(40 + index), 6 + index)
    lines.append("mov rax, [rsp + 8]")
    check("rax", value(20), 15)
    lines.append("mov rax, [rsp + 16]")
    check("rax", value(21), 16)
    lines += ["mov eax, r10d", "ret"]
    return "\n".join(lines)


async def test_lazy_first_call_keeps_every_argument(lazy_jit: JITUnderTest) -> None:
    """Through the resolver and afterwards, the lazily compiled body sees the six integer
    argument registers, xmm0-7 (both halves), al and the stack arguments exactly as the
    caller set them, and the caller gets its callee-saved registers back."""
    jit = lazy_jit.jit
    jd = await lazy_jit.jitdylib()
    mark, reentries = len(lazy_jit.compiled), jit.lazy_reexports.reentries
    await jit.add_lazy_ir(naked_function("f", register_checker()), jd, name="checker")
    await jit.add_object(assemble(register_driver()), jd, name="driver.o")
    driver = jit.function("driver", "int()", jd=jd)
    assert await driver() == 0  # first call: through the resolver
    assert await driver() == 0  # then straight through the stub
    assert lazy_jit.compiled_functions(mark).count("f") == 1
    assert jit.lazy_reexports.reentries == reentries + 1
    assert lazy_jit.errors == []


THREADS = 64

THREADED_DRIVER = f"""
declare i32 @pthread_create(ptr, ptr, ptr, ptr)
declare i32 @pthread_join(i64, ptr)
declare i32 @sched_yield()
declare i32 @f(i32)

@ready = internal global i32 0
@results = internal global [{THREADS} x i32] zeroinitializer

define internal ptr @worker(ptr %arg) {{
entry:
  %i = ptrtoint ptr %arg to i64
  %n = trunc i64 %i to i32
  %old = atomicrmw add ptr @ready, i32 1 seq_cst
  br label %spin
spin:
  %now = load atomic i32, ptr @ready seq_cst, align 4
  %go = icmp sge i32 %now, {THREADS}
  br i1 %go, label %call, label %wait
wait:
  %y = call i32 @sched_yield()
  br label %spin
call:
  %r = call i32 @f(i32 %n)
  %slot = getelementptr [{THREADS} x i32], ptr @results, i64 0, i64 %i
  store i32 %r, ptr %slot
  ret ptr null
}}

; Starts {THREADS} threads that wait for each other and then call f(i) at once; returns how
; many got i + 1 back.
define i32 @driver() {{
entry:
  %tids = alloca [{THREADS} x i64]
  br label %create
create:
  %i = phi i64 [0, %entry], [%i1, %create]
  %tid = getelementptr [{THREADS} x i64], ptr %tids, i64 0, i64 %i
  %arg = inttoptr i64 %i to ptr
  %rc = call i32 @pthread_create(ptr %tid, ptr null, ptr @worker, ptr %arg)
  %i1 = add i64 %i, 1
  %more = icmp ult i64 %i1, {THREADS}
  br i1 %more, label %create, label %join
join:
  %j = phi i64 [0, %create], [%j1, %join]
  %tj = getelementptr [{THREADS} x i64], ptr %tids, i64 0, i64 %j
  %t = load i64, ptr %tj
  %jr = call i32 @pthread_join(i64 %t, ptr null)
  %j1 = add i64 %j, 1
  %jmore = icmp ult i64 %j1, {THREADS}
  br i1 %jmore, label %join, label %count
count:
  %k = phi i64 [0, %join], [%k1, %count]
  %good = phi i32 [0, %join], [%good1, %count]
  %slot = getelementptr [{THREADS} x i32], ptr @results, i64 0, i64 %k
  %got = load i32, ptr %slot
  %k32 = trunc i64 %k to i32
  %want = add i32 %k32, 1
  %ok = icmp eq i32 %got, %want
  %inc = zext i1 %ok to i32
  %good1 = add i32 %good, %inc
  %k1 = add i64 %k, 1
  %kmore = icmp ult i64 %k1, {THREADS}
  br i1 %kmore, label %count, label %done
done:
  ret i32 %good1
}}
"""


async def test_lazy_concurrent_first_calls_compile_once(lazy_jit: JITUnderTest) -> None:
    """64 threads call the same lazy function at once: all 64 reach the controller while the
    body's compilation is held back, the body compiles once, and every thread gets its own
    answer."""
    jit = lazy_jit.jit
    jd = await lazy_jit.jitdylib()
    mark, reentries = len(lazy_jit.compiled), jit.lazy_reexports.reentries
    arrived = threading.Event()
    calls: list[str] = []

    def on_call(name: str) -> None:
        calls.append(name)
        if len(calls) == THREADS:
            arrived.set()

    def gate(module: Any) -> None:  # on a worker thread, before f's body compiles
        defines_f = any(fn.name == "f" and not fn.is_declaration for fn in module.functions)
        if defines_f and not arrived.wait(30):
            raise TimeoutError(f"only {len(calls)} of {THREADS} calls arrived")

    await jit.add_lazy_ir(INCREMENT, jd, name="increment")
    await jit.add_ir(THREADED_DRIVER, jd, name="threads")
    driver = jit.function("driver", "int()", jd=jd)
    lazy_jit.on_call, jit.transform_layer.transform = on_call, gate
    try:
        assert await driver() == THREADS
    finally:
        lazy_jit.on_call, jit.transform_layer.transform = None, None
    assert calls == ["f"] * THREADS
    assert lazy_jit.compiled_functions(mark).count("f") == 1
    assert jit.lazy_reexports.reentries == reentries + THREADS
    assert lazy_jit.errors == []


FAILING = """
declare i32 @no_such_function(i32)

define i32 @bad(i32 %x) {
  %r = call i32 @no_such_function(i32 %x)
  ret i32 %r
}
"""

ON_FAILURE = """
define i32 @on_failure(i32 %x) {
  %r = sub i32 0, %x
  ret i32 %r
}
"""


async def test_lazy_failing_body_goes_to_the_error_handler(lazy_jit: JITUnderTest) -> None:
    """A body that fails to link: the error reaches the session's reporter and the call
    continues in the configured handler, with the caller's arguments; later calls do the
    same, and the body is not compiled again."""
    jit = lazy_jit.jit
    jd = await lazy_jit.jitdylib()
    mark, reentries = len(lazy_jit.compiled), jit.lazy_reexports.reentries
    await jit.add_ir(ON_FAILURE, jd, name="handler")
    await jit.add_lazy_ir(FAILING, jd, name="failing")
    bad = jit.function("bad", "int(int)", jd=jd)
    jit.lazy_reexports.error_handler = await jit.lookup("on_failure", jd)
    try:
        assert await bad(5) == -5
        assert await bad(7) == -7
    finally:
        jit.lazy_reexports.error_handler = None
    assert lazy_jit.compiled_functions(mark).count("bad") == 1
    assert jit.lazy_reexports.reentries == reentries + 2
    messages = [str(e) for e in lazy_jit.errors]
    lazy_jit.errors.clear()
    assert "Symbols not found: [ no_such_function ]" in messages
    assert any(m.startswith("Failed to materialize symbols: { (") and "bad" in m for m in messages)


@pytest.mark.parametrize("kind", SPAWNED)
async def test_lazy_failing_body_aborts_by_default(kind: str) -> None:
    """Without a handler, a failed body makes the executor print which function failed and
    abort: the call fails with DisconnectedError instead of jumping to garbage, and closing
    the JIT afterwards works."""
    under_test = await open_test_jit(kind, capture_output=True)
    jit = under_test.jit
    try:
        await jit.add_lazy_ir(FAILING, name="failing")
        bad = jit.function("bad", "int(int)")
        with pytest.raises(DisconnectedError):
            await bad(1)
    finally:
        await jit.close()
    process = getattr(jit.epc, "process", None)
    assert process is not None
    assert "orcrt: lazy compilation of 'bad' failed" in process.stderr.decode()
    assert process.returncode == -signal.SIGABRT
    assert any("no_such_function" in str(e) for e in under_test.errors)


async def test_lazy_function_called_from_python_threads(lazy_jit: JITUnderTest) -> None:
    """The blocking callable from several Python threads at once, first calls included:
    each gets its own result and the body compiles once."""
    jit = lazy_jit.jit
    jd = await lazy_jit.jitdylib()
    mark = len(lazy_jit.compiled)
    await jit.add_lazy_ir(INCREMENT, jd, name="increment")
    f = jit.function("f", "int(int)", jd=jd)
    loop = asyncio.get_running_loop()
    # Threads of our own: the JIT compiles on the loop's default executor, which callers
    # blocking on the JIT must not fill.
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        calls = [loop.run_in_executor(pool, f.blocking, n) for n in range(8)]
        results = await asyncio.gather(*calls)
    assert results == [n + 1 for n in range(8)]
    assert lazy_jit.compiled_functions(mark).count("f") == 1
    with pytest.raises(RuntimeError, match="would deadlock"):
        f.blocking(1)
