"""LLJIT itself: the builder's executor choices (in process, spawned LLVM 14/22 or orcrt,
TCP), its JITDylib layout, options, the blocking facade from a script, and closing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from actors import SessionShutdownError
from actors.orc import (
    LLJIT,
    BlockingPortal,
    FailedToMaterializeError,
    LLJITBuilder,
    LLLazyJIT,
    open_lljit,
    open_lllazyjit,
)
from actors.testing import ListeningExecutor

from .conftest import KINDS, SPAWNED, require_executor

ADD = """
declare i32 @puts(ptr)
@hello = private constant [6 x i8] c"hello\\00"

define i32 @add(i32 %a, i32 %b) {
  %r = add i32 %a, %b
  ret i32 %r
}

define i32 @main(i32 %argc, ptr %argv) {
  %p = call i32 @puts(ptr @hello)
  %r = call i32 @add(i32 %argc, i32 40)
  ret i32 %r
}
"""


@pytest.mark.asyncio
@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", KINDS)
async def test_lljit_runs_ir_on_each_executor(kind: str) -> None:
    """An LLJIT (not lazy) over each executor kind: LLVM 22's JITDylib layout, main and
    functions run, the executor's symbols are found; closing ends a spawned executor
    cleanly and later calls fail."""
    require_executor(kind)
    jit = await open_lljit(executor=kind, capture_output=True)
    assert type(jit) is LLJIT
    try:
        await jit.add_ir(ADD, name="add")
        assert await jit.run_main(["a", "b"]) == 42
        assert await jit.function("add", "int(int, int)")(2, 3) == 5
        order = [jd.name for jd, _ in await jit.main_jitdylib.link_order()]
        assert order == ["main", "<Platform>", "<Process Symbols>"]
    finally:
        await jit.close()
    process = getattr(jit.epc, "process", None)
    if kind in SPAWNED:
        assert process is not None
        assert process.returncode == 0
        assert process.stdout.decode() == "hello\n"
    assert jit.closed
    with pytest.raises(SessionShutdownError):
        await jit.lookup("add")
    await jit.close()  # idempotent


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_lljit_over_tcp() -> None:
    """connect=HOST:PORT reaches an executor listening on TCP; a lazy JIT works there too."""
    async with await ListeningExecutor.start(22) as listener:
        address = f"{listener.host}:{listener.port}"
        async with open_lllazyjit(connect=address) as jit:
            assert isinstance(jit, LLLazyJIT)
            await jit.add_lazy_ir(ADD, name="add")
            assert await jit.function("add", "int(int, int)")(20, 22) == 42
            assert jit.lazy_reexports.reentries == 1


def test_lljit_blocking_facade_from_a_script() -> None:
    """From a script without a loop: a BlockingPortal enters the JIT, ``jit.blocking`` and
    ``function(...).blocking`` run everything; closing the portal closes the JIT."""
    kind = (
        "llvm22"
        if os.access("/usr/lib/llvm-22/bin/llvm-jitlink-executor", os.X_OK)
        else "inprocess"
    )
    with BlockingPortal() as portal:
        jit = portal.enter(open_lllazyjit(executor=kind, capture_output=True))
        jit.blocking.add_lazy_ir(ADD, name="add")
        add = jit.function("add", "int(int, int)")
        assert add.blocking(1, 2) == 3
        assert jit.blocking.run_main() == 40
        jd = jit.blocking.create_jitdylib("other")
        jit.blocking.add_ir("define i32 @seven() {\n  ret i32 7\n}\n", jd)
        assert jit.function("seven", "int()", jd=jd).blocking() == 7
        assert jit.blocking.lookup("seven", jd) != 0
    assert jit.closed


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_lljit_options() -> None:
    """optimize runs LLVM's IR pipeline before compiling; without process symbols JIT'd code
    sees only what the JIT defines plus libraries linked explicitly (the platform and
    jit.function still work)."""
    errors: list[BaseException] = []
    options = {"optimize": 2, "link_process_symbols": False, "error_reporter": errors.append}
    async with open_lljit(**options) as jit:
        seen: list[str] = []
        jit.compile_layer.on_compiled = lambda module, obj: seen.append(module.text)
        await jit.add_ir("define i32 @same(i32 %x) {\n  %r = add i32 %x, 0\n  ret i32 %r\n}\n")
        assert await jit.function("same", "int(int)")(9) == 9
        assert "ret i32 %x" in seen[0]
        assert [jd.name for jd, _ in await jit.main_jitdylib.link_order()] == [
            "main",
            "<Platform>",
        ]
        await jit.add_ir(ADD, name="add")
        with pytest.raises(FailedToMaterializeError, match=r"\(main, \{ add, main \}\)"):
            await jit.lookup("main")  # it needs puts, which main does not see
        assert [str(e) for e in errors] == ["Symbols not found: [ puts ]"]
        await jit.link_library("libm.so.6", jit.main_jitdylib)
        assert await jit.function("pow", "double(double, double)")(2, 10) == 1024.0


@pytest.mark.asyncio
async def test_lljit_refuses_bad_options() -> None:
    """Bad builder options and misuse fail with errors naming the problem."""
    with pytest.raises(FileNotFoundError, match="no /usr/lib/llvm-99/bin/llvm-jitlink-executor"):
        await open_lljit(executor="llvm99")
    with pytest.raises(ValueError, match="either executor= or connect="):
        await open_lljit(executor="orcrt", connect="127.0.0.1:1")
    with pytest.raises(ValueError, match="expected HOST:PORT"):
        await open_lljit(connect="localhost")
    with pytest.raises(ValueError, match=r"optimize must be 0\.\.3 or None, not 7"):
        await open_lljit(optimize=7)
    with pytest.raises(ValueError, match="llvm_version must be 14 or 22, not 15"):
        await LLJITBuilder(llvm_version=15).create()
    with pytest.raises(TypeError, match="bogus"):
        open_lljit(bogus=1)
    async with open_lljit() as jit:
        with pytest.raises(ValueError, match="a JITDylib named 'main' exists already"):
            await jit.create_jitdylib("main")
        with pytest.raises(ValueError, match=r"module broken: line 1:\d+: "):
            await jit.add_ir("define i32 @f( {", name="broken")
        with pytest.raises(TypeError, match="add_lazy_ir needs an LLLazyJIT"):
            await _in_thread(jit)


async def _in_thread(jit: LLJIT) -> None:
    import asyncio

    await asyncio.to_thread(jit.blocking.add_lazy_ir, ADD)


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_lljit_executor_paths_and_versions(tmp_path: Path) -> None:
    """orcrt's executor speaks the protocol generation it is told (here LLVM 14's, whose
    executors have no run_as_void: the platform does not need it); a path that cannot run
    fails naming it."""
    async with open_lljit(executor="orcrt", llvm_version=14) as jit:
        assert jit.epc.llvm_major == 14
        await jit.add_ir(ADD, name="add")
        assert await jit.function("add", "int(int, int)")(1, 1) == 2
    with pytest.raises(FileNotFoundError, match=r"cannot start the executor .*missing-executor"):
        await open_lljit(executor=str(tmp_path / "missing-executor"))
