"""Lazy reexports against every executor kind, with hand-made bodies (no object layer).

The stubs, trampolines and resolver are the controller's generated code; the bodies are
assembled here and loaded through the EPC when first called. Kinds: `conftest.KINDS`.
"""

from __future__ import annotations

import asyncio
import signal

import pytest

from actors import DisconnectedError
from actors.orc import JITDylib, JITSymbolFlags, LazyReexportsManager

from ._native import CodeUnit, assemble, compile_ir, load
from .conftest import Target, stderr_of

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

CALLABLE = JITSymbolFlags.EXPORTED | JITSymbolFlags.CALLABLE

INCREMENT = """
.globl body
body:
    lea eax, [rdi + 1]
    ret
"""


async def lazy_function(
    target: Target, unit: CodeUnit, manager: LazyReexportsManager, alias: str = "f"
) -> tuple[JITDylib, int]:
    """Define ``alias`` in main as a lazy reexport of ``body`` in impl; the stub's address."""
    es = target.es
    main = await es.create_jitdylib("main")
    impl = await es.create_jitdylib("impl")
    await impl.define(unit)
    await main.define(manager.lazy_reexports(impl, {alias: ("body", CALLABLE)}))
    found = await es.lookup(main, [alias])
    return main, found[es.intern(alias)].address


async def test_lazy_body_materializes_on_first_call_only(target: Target) -> None:
    """Looking up the alias gives a stub and compiles nothing; the first call materializes the
    body once (one reentry), later calls jump straight to it."""
    manager = await LazyReexportsManager.create(target.es)
    unit = CodeUnit(["body"], lambda: assemble(INCREMENT))
    _, stub = await lazy_function(target, unit, manager)
    assert unit.calls == 0
    assert await target.epc.run_as_main(stub, ["a", "b"]) == 3
    assert (unit.calls, manager.reentries) == (1, 1)
    for argc in range(4):
        assert await target.epc.run_as_main(stub, ["x"] * argc) == argc + 1
    assert (unit.calls, manager.reentries) == (1, 1)
    assert target.errors == []
    await manager.close()


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
    """``body``: bit i set in its result for each argument that is not what the driver put
    there (0-5: integer registers, 6-13: xmm0-7 both halves, 14: al, 15-16: stack)."""
    lines = [".globl body", "body:", "    xor r10d, r10d"]

    def check(operand: str, expected: int, bit: int) -> None:
        lines.extend(
            [
                f"    movabs r11, {expected}",
                f"    cmp {operand}, r11",
                "    je 1f",
                f"    or r10d, {1 << bit}",
                "1:",
            ]
        )

    lines += ["    cmp al, 8", "    je 1f", f"    or r10d, {1 << 14}", "1:"]
    for index, reg in enumerate(INT_REGS):
        check(reg, value(index), index)
    for index in range(8):
        lines.append(f"    movq rax, xmm{index}")
        check("rax", value(6 + index), 6 + index)
        lines.append(f"    pextrq rax, xmm{index}, 1")
        check("rax", value(40 + index), 6 + index)
    lines.append("    mov rax, [rsp + 8]")
    check("rax", value(20), 15)
    lines.append("    mov rax, [rsp + 16]")
    check("rax", value(21), 16)
    lines += ["    mov eax, r10d", "    ret"]
    return "\n".join(lines)


async def test_lazy_first_call_keeps_every_argument(target: Target) -> None:
    """Through the resolver and afterwards, the body sees the six integer argument registers,
    xmm0-7 (both halves), al and the stack arguments exactly as the caller set them, and the
    caller gets its callee-saved registers back."""
    manager = await LazyReexportsManager.create(target.es)
    unit = CodeUnit(["body"], lambda: assemble(register_checker()))
    _, stub = await lazy_function(target, unit, manager)
    driver = await load(target.epc, assemble(register_driver()), "driver", {"f": stub})
    assert await target.epc.run_as_main(driver["driver"]) == 0  # first call: the resolver
    assert await target.epc.run_as_main(driver["driver"]) == 0  # then straight through
    assert (unit.calls, manager.reentries) == (1, 1)
    assert target.errors == []
    await manager.close()


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


async def test_lazy_concurrent_first_calls_materialize_once(target: Target) -> None:
    """64 threads call the same lazy function at once: all 64 reach the controller while the
    body is held back, the body materializes once, and every thread gets its own answer."""
    arrived = asyncio.Event()
    calls: list[str] = []

    def on_call(alias: object) -> None:
        calls.append(str(alias))
        if len(calls) == THREADS:
            arrived.set()

    manager = await LazyReexportsManager.create(target.es, on_call=on_call)
    unit = CodeUnit(["body"], lambda: assemble(INCREMENT), gate=arrived)
    _, stub = await lazy_function(target, unit, manager)
    driver = await load(target.epc, compile_ir(THREADED_DRIVER), "driver", {"f": stub})
    assert await target.epc.run_as_main(driver["driver"]) == THREADS
    assert calls == ["f"] * THREADS
    assert (unit.calls, manager.reentries) == (1, THREADS)
    assert target.errors == []
    await manager.close()


RETURN_MINUS_ONE = """
.globl on_failure
on_failure:
    mov eax, -1
    ret
"""


async def test_lazy_failing_body_goes_to_the_error_handler(target: Target) -> None:
    """A body that fails to materialize: the error reaches the session's reporter and the call
    continues in the configured handler (with the caller's arguments); every later call does
    the same, and the body is not tried again."""
    handler = await load(target.epc, assemble(RETURN_MINUS_ONE), "handler")
    manager = await LazyReexportsManager.create(target.es, error_handler=handler["on_failure"])
    unit = CodeUnit(["body"], lambda: assemble(INCREMENT), fail=True)
    _, stub = await lazy_function(target, unit, manager)
    assert await target.epc.run_as_main(stub) == -1
    assert await target.epc.run_as_main(stub) == -1
    assert (unit.calls, manager.reentries) == (1, 2)
    messages = [str(e) for e in target.errors]
    assert any("does not compile" in m for m in messages), messages
    assert any("Failed to materialize symbols: { (impl, { body }) }" in m for m in messages)
    await manager.close()


async def test_lazy_failing_body_aborts_by_default(target: Target) -> None:
    """Without a handler, a failed body makes the executor print which function failed and
    abort: the run fails with DisconnectedError instead of jumping to garbage."""
    if not target.spawned:
        pytest.skip("the default handler aborts the process: only for spawned executors")
    manager = await LazyReexportsManager.create(target.es)
    unit = CodeUnit(["body"], lambda: assemble(INCREMENT), fail=True)
    _, stub = await lazy_function(target, unit, manager)
    with pytest.raises(DisconnectedError):
        await target.epc.run_as_main(stub)
    await target.epc.disconnect()
    assert "orcrt: lazy compilation of 'f' failed" in stderr_of(target.epc)
    process = getattr(target.epc, "process", None)
    assert process is not None
    assert process.returncode == -signal.SIGABRT
    assert any("does not compile" in str(e) for e in target.errors)
