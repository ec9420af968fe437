"""LLJIT and LLLazyJIT: first results, lazy stubs, first calls, compile-and-link throughput
(a script, not a test).

Run ``python tests/benchmarks/bench_lljit.py [--executors inprocess,llvm14,llvm22,orcrt]
[--functions 1000] [--lazy-functions 200] [--calls 10000000] [--rounds 7]``. It prints:

1. **time to first result** of the Kaleidoscope REPL (``examples/kaleidoscope``): the wall
   time from starting ``python kaleidoscope.py --executor X`` with ``4+5`` on its stdin to
   the first line of output (median of ``--rounds``), then where the time goes, measured in
   this process: imports (a fresh interpreter), JIT start (executor, session, platform),
   adding the expression's module, compiling it, linking it, the first call (which also
   compiles and links the ``double()`` call wrapper), a later call; llvmlite's MCJIT doing
   the same expression in process is the reference;
2. **per-call cost of a lazy function after its first call**: a loop in the executor calls
   the function ``--calls`` times through its stub (``jmp [rip + d]``), and another calls
   the body directly (linked against ``<jd>.impl``); rounds alternate A B A B; for a body of
   one instruction (``ret``), one of four, a 64-bit hash finalizer (22) and eight dependent
   hash rounds (about 8 ns); the stub's and the
   bodies' code is disassembled from executor memory where the executor can read it;
3. **first-call latency** of lazy functions: each of ``--first-calls`` functions called for
   the first time from Python (stub -> trampoline -> resolver -> this process: compile, link,
   redirect -> body), next to a later call of the same function;
4. **IR -> object -> linked throughput** for one module of ``--functions`` small functions:
   llvmlite's in-process JITs (MCJIT; ORC's LLJIT with RuntimeDyld and with JITLink, through
   ``JITLibraryBuilder``) against orcrt's LLJIT (one compile, one link, every symbol looked
   up) per executor, with the compile / link split; and LLLazyJIT compiling
   ``--lazy-functions`` functions one first call at a time.

The machine is shared and small: medians and minimums of alternating rounds are what to read.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import llvmlite.binding as llvm

from actors.orc import LLLazyJIT, open_lllazyjit
from actors.orc._ir import ensure_llvm, load_module
from actors.orc._ir_compile import IRCompiler

ROOT = Path(__file__).resolve().parents[2]
REPL = ROOT / "examples" / "kaleidoscope" / "kaleidoscope.py"
TRIPLE = "x86_64-pc-linux-gnu"

EXPRESSION = """
define double @__anon_expr.0() {
  %a = fadd double 4.0, 5.0
  ret double %a
}
"""

BODIES = """
define void @f1() {
  ret void
}

define i64 @f5(i64 %x) {
  %a = mul i64 %x, 3
  %b = add i64 %a, 1
  %c = lshr i64 %x, 2
  %d = xor i64 %b, %c
  ret i64 %d
}

; A realistic small function: two rounds of a 64-bit hash finalizer (~20 instructions).
define i64 @fmix(i64 %x) {
  %a1 = lshr i64 %x, 33
  %a2 = xor i64 %x, %a1
  %a3 = mul i64 %a2, -49064778989728563
  %a4 = lshr i64 %a3, 33
  %a5 = xor i64 %a3, %a4
  %a6 = mul i64 %a5, -4265267296055464877
  %a7 = lshr i64 %a6, 33
  %a8 = xor i64 %a6, %a7
  %b1 = lshr i64 %a8, 29
  %b2 = xor i64 %a8, %b1
  %b3 = mul i64 %b2, -7723592293110705685
  %b4 = lshr i64 %b3, 32
  %b5 = xor i64 %b3, %b4
  ret i64 %b5
}

; A body of some weight: eight dependent rounds of the first finalizer (~8 ns here).
define i64 @fchain(i64 %x) {
entry:
  br label %round
round:
  %v = phi i64 [ %x, %entry ], [ %m6, %round ]
  %k = phi i32 [ 0, %entry ], [ %k1, %round ]
  %m1 = lshr i64 %v, 33
  %m2 = xor i64 %v, %m1
  %m3 = mul i64 %m2, -49064778989728563
  %m4 = lshr i64 %m3, 33
  %m5 = xor i64 %m3, %m4
  %m6 = mul i64 %m5, -4265267296055464877
  %k1 = add i32 %k, 1
  %more = icmp ult i32 %k1, 8
  br i1 %more, label %round, label %done
done:
  ret i64 %m6
}
"""

LOOPS = """
%timespec = type { i64, i64 }
declare i32 @clock_gettime(i32, ptr)
declare void @f1()
declare i64 @f5(i64)
declare i64 @fmix(i64)
declare i64 @fchain(i64)
@sink = global i64 0

define internal i64 @now() {
  %ts = alloca %timespec
  %r = call i32 @clock_gettime(i32 1, ptr %ts)
  %s = load i64, ptr %ts
  %nsp = getelementptr %timespec, ptr %ts, i32 0, i32 1
  %ns = load i64, ptr %nsp
  %s9 = mul i64 %s, 1000000000
  %t = add i64 %s9, %ns
  ret i64 %t
}

define i64 @loop1(i64 %n) {
entry:
  %t0 = call i64 @now()
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i1, %loop ]
  call void @f1()
  %i1 = add i64 %i, 1
  %more = icmp ult i64 %i1, %n
  br i1 %more, label %loop, label %done
done:
  %t1 = call i64 @now()
  %d = sub i64 %t1, %t0
  ret i64 %d
}

define i64 @loop5(i64 %n) {
entry:
  %t0 = call i64 @now()
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i1, %loop ]
  %acc = phi i64 [ 0, %entry ], [ %acc1, %loop ]
  %r = call i64 @f5(i64 %i)
  %acc1 = add i64 %acc, %r
  %i1 = add i64 %i, 1
  %more = icmp ult i64 %i1, %n
  br i1 %more, label %loop, label %done
done:
  %t1 = call i64 @now()
  store i64 %acc1, ptr @sink
  %d = sub i64 %t1, %t0
  ret i64 %d
}

define i64 @loopmix(i64 %n) {
entry:
  %t0 = call i64 @now()
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i1, %loop ]
  %acc = phi i64 [ 0, %entry ], [ %acc1, %loop ]
  %r = call i64 @fmix(i64 %i)
  %acc1 = add i64 %acc, %r
  %i1 = add i64 %i, 1
  %more = icmp ult i64 %i1, %n
  br i1 %more, label %loop, label %done
done:
  %t1 = call i64 @now()
  store i64 %acc1, ptr @sink
  %d = sub i64 %t1, %t0
  ret i64 %d
}

define i64 @loopchain(i64 %n) {
entry:
  %t0 = call i64 @now()
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i1, %loop ]
  %acc = phi i64 [ 0, %entry ], [ %acc1, %loop ]
  %r = call i64 @fchain(i64 %i)
  %acc1 = add i64 %acc, %r
  %i1 = add i64 %i, 1
  %more = icmp ult i64 %i1, %n
  br i1 %more, label %loop, label %done
done:
  %t1 = call i64 @now()
  store i64 %acc1, ptr @sink
  %d = sub i64 %t1, %t0
  ret i64 %d
}
"""


def many_functions(count: int, prefix: str = "f") -> str:
    """A module of ``count`` small functions, ``i64 fN(i64)``."""
    return "\n".join(
        f"define i64 @{prefix}{i}(i64 %x) {{\n  %a = mul i64 %x, {i + 3}\n"
        f"  %b = add i64 %a, {i}\n  ret i64 %b\n}}"
        for i in range(count)
    )


def available(kind: str) -> bool:
    if kind.startswith("llvm"):
        return os.access(f"/usr/lib/llvm-{kind[4:]}/bin/llvm-jitlink-executor", os.X_OK)
    return True


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:8.1f} ms"


def table(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |")
        if index == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


# -- 1. time to first result -----------------------------------------------------------------


def repl_first_result(executor: str, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, str(REPL), "--executor", executor],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdin is not None
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdin.write("4+5\n")
        process.stdin.flush()
        line = process.stdout.readline()
        times.append(time.perf_counter() - start)
        process.stdin.close()
        process.wait(timeout=60)
        if line != "9.0\n":
            raise RuntimeError(f"the REPL answered {line!r}: {process.stderr.read()}")
    return times


def import_time(rounds: int) -> tuple[float, float]:
    """Seconds for a bare interpreter, and for one importing what the REPL imports."""

    def run(code: str) -> float:
        best = []
        for _ in range(rounds):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            best.append(time.perf_counter() - start)
        return statistics.median(best)

    bare = run("pass")
    imports = run(
        "import llvmlite.ir, llvmlite.binding; import actors.orc as o; "
        "o.open_lllazyjit, o.LLLazyJIT, o.BlockingPortal, o.OrcError"
    )
    return bare, imports


async def first_result_breakdown(executor: str) -> dict[str, float]:
    phases: dict[str, float] = {}
    start = time.perf_counter()
    jit = await open_lllazyjit(executor=executor, capture_output=True)
    phases["JIT start (executor, session, platform)"] = time.perf_counter() - start
    try:
        compiled_at: list[float] = []
        jit.compile_layer.on_compiled = lambda module, obj: compiled_at.append(time.perf_counter())
        t = time.perf_counter()
        tracker = await jit.main_jitdylib.create_resource_tracker()
        await jit.add_ir(EXPRESSION, tracker, name="expr")
        phases["add the module (parse, verify)"] = time.perf_counter() - t
        t = time.perf_counter()
        await jit.lookup("__anon_expr.0")
        done = time.perf_counter()
        phases["compile (IR -> object)"] = compiled_at[0] - t
        phases["link (into the executor)"] = done - compiled_at[0]
        function = jit.function("__anon_expr.0", "double()")
        t = time.perf_counter()
        assert await function() == 9.0
        phases["first call (+ the call wrapper's compile, link)"] = time.perf_counter() - t
        t = time.perf_counter()
        await function()
        phases["a later call"] = time.perf_counter() - t
        await tracker.remove()
    finally:
        await jit.close()
    return phases


def mcjit_first_result() -> float:
    """llvmlite's MCJIT, in this process (LLVM already initialized): parse, compile, call."""
    start = time.perf_counter()
    ensure_llvm()
    machine = llvm.Target.from_triple(TRIPLE).create_target_machine()
    module = llvm.parse_assembly(EXPRESSION)
    engine = llvm.create_mcjit_compiler(module, machine)
    engine.finalize_object()
    address = engine.get_function_address("__anon_expr.0")
    value = ctypes.CFUNCTYPE(ctypes.c_double)(address)()
    elapsed = time.perf_counter() - start
    assert value == 9.0
    engine.close()
    return elapsed


async def warm_up(executor: str) -> None:
    """One throwaway JIT: the linker's and the layers' modules are imported, LLVM's targets
    initialized (the breakdown then shows work, not first imports)."""
    async with open_lllazyjit(executor=executor, capture_output=True) as jit:
        await jit.add_ir(EXPRESSION.replace("__anon_expr.0", "warm"), name="warm")
        await jit.function("warm", "double()")()


async def section_first_result(executors: list[str], rounds: int) -> None:
    print("\n## 1. Time to first result: the Kaleidoscope REPL's first expression (4+5)\n")
    rows = [["executor", "REPL start to first result (median)", "min"]]
    for executor in executors:
        times = repl_first_result(executor, rounds)
        rows.append([executor, ms(statistics.median(times)), ms(min(times))])
    table(rows)
    bare, imports = import_time(rounds)
    print(f"\nInterpreter start: {ms(bare)}; with the REPL's imports: {ms(imports)}.\n")
    await warm_up(executors[0])
    breakdowns = {e: await first_result_breakdown(e) for e in executors}
    names = list(next(iter(breakdowns.values())))
    rows = [["phase (measured in this process)", *executors]]
    for name in names:
        rows.append([name, *(ms(breakdowns[e][name]) for e in executors)])
    table(rows)
    mcjit = mcjit_first_result()
    print(
        f"\nReference: llvmlite MCJIT, same expression in process (parse, compile, call): {ms(mcjit)}"
    )


# -- 2. per-call cost through a stub -----------------------------------------------------------


async def disassemble(jit: LLLazyJIT, address: int, size: int) -> list[str] | None:
    try:
        (data,) = await jit.epc.memory_access.read_buffers([(address, size)])
    except Exception:
        return None  # LLVM 14's executor has no memory reads
    try:
        import capstone
    except ImportError:
        return [data.hex()]
    engine = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    engine.syntax = capstone.CS_OPT_SYNTAX_INTEL
    lines = []
    for instruction in engine.disasm(data, address):
        lines.append(f"{instruction.mnemonic} {instruction.op_str}".strip())
        if instruction.mnemonic in ("ret", "jmp"):
            break
    return lines


async def section_stub_overhead(executors: list[str], calls: int, rounds: int) -> None:
    print(f"\n## 2. Per-call cost after the first call: stub vs direct ({calls:,} calls a round)\n")
    rows = [
        ["executor", "body", "direct ns/call", "stub ns/call", "stub - direct", "stub / direct"]
    ]
    shown = False
    for executor in executors:
        async with open_lllazyjit(executor=executor, capture_output=True) as jit:
            lazy = await jit.create_jitdylib("lazy")
            await jit.add_lazy_ir(BODIES, lazy, name="bodies")
            via_stub = await jit.create_jitdylib("via_stub")
            await via_stub.add_to_link_order(lazy)
            await jit.add_ir(LOOPS, via_stub, name="loops_stub")
            for name, sig in (
                ("f1", "void()"),
                ("f5", "i64(i64)"),
                ("fmix", "i64(i64)"),
                ("fchain", "i64(i64)"),
            ):
                await jit.function(name, sig, jd=lazy)(*([] if name == "f1" else [1]))
            impl = jit.session.get_jitdylib_by_name("lazy.impl")
            assert impl is not None
            direct = await jit.create_jitdylib("direct")
            await direct.add_to_link_order(impl)
            await jit.add_ir(LOOPS, direct, name="loops_direct")
            if not shown:
                stub = await jit.lookup("f1", lazy)
                lines = await disassemble(jit, stub, 8)
                if lines is not None:
                    shown = True
                    f1 = await jit.lookup("f1", impl)
                    f5 = await jit.lookup("f5", impl)
                    fmix = await jit.lookup("fmix", impl)
                    mix = await disassemble(jit, fmix, 128) or []
                    print(f"({executor}) the stub of f1: {'; '.join(lines)}")
                    print(f"  f1's body: {'; '.join(await disassemble(jit, f1, 16) or [])}")
                    print(f"  f5's body: {'; '.join(await disassemble(jit, f5, 64) or [])}")
                    print(f"  fmix's body: {len(mix)} instructions\n")
            for loop, label in (
                ("loop1", "ret only (f1)"),
                ("loop5", "4 instructions (f5)"),
                ("loopmix", "22 instructions (fmix)"),
                ("loopchain", "8 hash rounds (fchain)"),
            ):
                through = jit.function(loop, "i64(i64)", jd=via_stub)
                straight = jit.function(loop, "i64(i64)", jd=direct)
                await through(1000)
                await straight(1000)
                a: list[float] = []
                b: list[float] = []
                for _ in range(rounds):
                    a.append(await straight(calls) / calls)
                    b.append(await through(calls) / calls)
                rows.append(
                    [
                        executor,
                        label,
                        f"{statistics.median(a):.2f} (min {min(a):.2f})",
                        f"{statistics.median(b):.2f} (min {min(b):.2f})",
                        f"{min(b) - min(a):+.2f} ns (min)",
                        f"{min(b) / min(a):.2f}x min, {statistics.median(b) / statistics.median(a):.2f}x median",
                    ]
                )
    table(rows)


# -- 3. first-call latency ----------------------------------------------------------------------


async def section_first_calls(executors: list[str], count: int) -> None:
    print(f"\n## 3. First-call latency of a lazy function ({count} functions, each called first)\n")
    rows = [["executor", "first call (median)", "min", "max", "a later call (median)"]]
    for executor in executors:
        async with open_lllazyjit(executor=executor, capture_output=True) as jit:
            await jit.add_lazy_ir(many_functions(count, "g"), name="lazy")
            await jit.function("g0", "i64(i64)")(1)  # the wrapper exists from now on
            firsts, laters = [], []
            for i in range(1, count):
                function = jit.function(f"g{i}", "i64(i64)")
                await function.address()  # the stub (no compile)
                t = time.perf_counter()
                assert await function(2) == 2 * (i + 3) + i
                firsts.append(time.perf_counter() - t)
                t = time.perf_counter()
                await function(3)
                laters.append(time.perf_counter() - t)
        rows.append(
            [
                executor,
                ms(statistics.median(firsts)),
                ms(min(firsts)),
                ms(max(firsts)),
                f"{statistics.median(laters) * 1e6:8.1f} us",
            ]
        )
    table(rows)


# -- 4. throughput ------------------------------------------------------------------------------


def timed(fn: Callable[[], Any], rounds: int) -> float:
    best = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best.append(time.perf_counter() - start)
    return statistics.median(best)


def llvmlite_mcjit(text: str, count: int) -> None:
    machine = llvm.Target.from_triple(TRIPLE).create_target_machine(opt=2)
    module = llvm.parse_assembly(text)
    engine = llvm.create_mcjit_compiler(module, machine)
    engine.finalize_object()
    addresses = [engine.get_function_address(f"f{i}") for i in range(count)]
    assert all(addresses)
    engine.close()


def llvmlite_lljit(text: str, count: int, jitlink: bool) -> None:
    machine = llvm.Target.from_triple(TRIPLE).create_target_machine(opt=2)
    jit = llvm.create_lljit_compiler(machine, use_jit_link=jitlink)
    builder = llvm.JITLibraryBuilder().add_ir(text)
    for i in range(count):
        builder.export_symbol(f"f{i}")
    tracker = builder.link(jit, "functions")
    assert all(tracker[f"f{i}"] for i in range(count))
    tracker.close()
    jit.close()


async def orcrt_lljit(executor: str, text: str, count: int) -> tuple[float, float, float]:
    """(total, compile, link) seconds for adding the module and looking every function up."""
    async with open_lllazyjit(executor=executor, capture_output=True) as jit:
        compiled_at: list[float] = []
        jit.compile_layer.on_compiled = lambda module, obj: compiled_at.append(time.perf_counter())
        start = time.perf_counter()
        await jit.add_ir(text, name="functions")
        found = await jit.session.lookup(jit.main_jitdylib, [f"f{i}" for i in range(count)])
        end = time.perf_counter()
        assert len(found) == count
    compile_start = start  # adding (parse, interface) is part of getting to the object
    return end - start, compiled_at[0] - compile_start, end - compiled_at[0]


async def orcrt_lazy(executor: str, count: int) -> float:
    async with open_lllazyjit(executor=executor, capture_output=True) as jit:
        await jit.add_lazy_ir(many_functions(count), name="lazy")
        functions = [jit.function(f"f{i}", "i64(i64)") for i in range(count)]
        await functions[0](1)
        start = time.perf_counter()
        for function in functions[1:]:
            await function(1)
        return (time.perf_counter() - start) / (count - 1)


async def section_throughput(
    executors: list[str], count: int, lazy_count: int, rounds: int
) -> None:
    print(f"\n## 4. IR -> object -> linked: one module of {count:,} small functions\n")
    text = many_functions(count)
    ensure_llvm()
    rows = [["JIT", "total", "functions/s", "parse + compile", "link", "vs MCJIT"]]
    mcjit = timed(lambda: llvmlite_mcjit(text, count), rounds)
    rows.append(
        ["llvmlite MCJIT (in process)", ms(mcjit), f"{count / mcjit:,.0f}", "", "", "1.00x"]
    )
    for label, jitlink in (("RuntimeDyld", False), ("JITLink", True)):
        seconds = timed(lambda j=jitlink: llvmlite_lljit(text, count, j), rounds)  # type: ignore[misc]
        rows.append(
            [
                f"llvmlite LLJIT, {label} (in process)",
                ms(seconds),
                f"{count / seconds:,.0f}",
                "",
                "",
                f"{seconds / mcjit:.2f}x",
            ]
        )
    compile_only = timed(
        lambda: IRCompiler(TRIPLE).compile_blocking(
            load_module(text, IRCompiler(TRIPLE).target, "m")
        ),
        rounds,
    )
    for executor in executors:
        results = [await orcrt_lljit(executor, text, count) for _ in range(rounds)]
        total = statistics.median(r[0] for r in results)
        rows.append(
            [
                f"orcrt LLJIT, {executor}",
                ms(total),
                f"{count / total:,.0f}",
                ms(statistics.median(r[1] for r in results)),
                ms(statistics.median(r[2] for r in results)),
                f"{total / mcjit:.2f}x",
            ]
        )
    table(rows)
    print(f"\n(llvmlite alone: parse + compile of the module to an object: {ms(compile_only)})")
    print(f"\nLLLazyJIT, {lazy_count} functions compiled one first call at a time:\n")
    rows = [["executor", "per function (first call)", "functions/s"]]
    for executor in executors:
        per = await orcrt_lazy(executor, lazy_count)
        rows.append([executor, ms(per), f"{1 / per:,.0f}"])
    table(rows)


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executors", default="inprocess,llvm14,llvm22,orcrt")
    parser.add_argument("--functions", type=int, default=1000)
    parser.add_argument("--lazy-functions", type=int, default=200)
    parser.add_argument("--first-calls", type=int, default=50)
    parser.add_argument("--calls", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--sections", default="1,2,3,4")
    args = parser.parse_args(argv)
    executors = [e for e in args.executors.split(",") if available(e)]
    skipped = sorted(set(args.executors.split(",")) - set(executors))
    print(f"# bench_lljit: Python {sys.version.split()[0]}, llvmlite {llvm.llvm_version_info}")
    print(
        f"# executors: {', '.join(executors)}" + (f" (not installed: {skipped})" if skipped else "")
    )
    print(f"# {os.cpu_count()} CPUs; a shared machine: read medians")
    sections: dict[str, Callable[[], Awaitable[None]]] = {
        "1": lambda: section_first_result(executors, max(3, args.rounds // 2)),
        "2": lambda: section_stub_overhead(executors, args.calls, args.rounds),
        "3": lambda: section_first_calls(executors, args.first_calls),
        "4": lambda: section_throughput(executors, args.functions, args.lazy_functions, 3),
    }
    for key in args.sections.split(","):
        await sections[key]()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
