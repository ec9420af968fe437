"""Static constructors and destructors, ``atexit`` and ``__cxa_atexit``, run in the executor
without the ORC runtime, against every executor kind: IR ``llvm.global_ctors``/``dtors`` and
a C++ object's ``.init_array``, dependencies first across JITDylibs, each at most once."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from actors.orc import JITDylib

from .conftest import JITUnderTest

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(60)]

# The log: a decimal number each step appends a digit to, read back with get_log().
LIB = r"""
@log = global i64 0
@llvm.global_ctors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 65535, ptr @lib_init, ptr null }]
@llvm.global_dtors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 65535, ptr @lib_fini, ptr null }]

declare i32 @atexit(ptr)

define void @note(i64 %digit) {
  %old = load i64, ptr @log
  %shifted = mul i64 %old, 10
  %new = add i64 %shifted, %digit
  store i64 %new, ptr @log
  ret void
}
define i64 @get_log() {
  %v = load i64, ptr @log
  ret i64 %v
}
define internal void @lib_exit() {
  call void @note(i64 7)
  ret void
}
define internal void @lib_init() {
  call void @note(i64 1)
  %r = call i32 @atexit(ptr @lib_exit)
  ret void
}
define internal void @lib_fini() {
  call void @note(i64 8)
  ret void
}
"""

APP = r"""
@llvm.global_ctors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 65535, ptr @app_init, ptr null }]
@llvm.global_dtors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 65535, ptr @app_fini, ptr null }]
@__dso_handle = external hidden global i8

declare void @note(i64)
declare i32 @__cxa_atexit(ptr, ptr, ptr)

define internal void @app_exit(ptr %arg) {
  %digit = ptrtoint ptr %arg to i64
  call void @note(i64 %digit)
  ret void
}
define internal void @app_init() {
  call void @note(i64 2)
  %r = call i32 @__cxa_atexit(ptr @app_exit, ptr inttoptr (i64 5 to ptr), ptr @__dso_handle)
  ret void
}
define internal void @app_fini() {
  call void @note(i64 6)
  ret void
}
define i32 @main(i32 %argc, ptr %argv) {
  call void @note(i64 3)
  ret i32 %argc
}
"""


async def lib_and_app(lazy_jit: JITUnderTest) -> tuple[JITDylib, JITDylib]:
    jit = lazy_jit.jit
    lib = await lazy_jit.jitdylib("lib")
    app = await lazy_jit.jitdylib("app")
    await app.add_to_link_order(lib)
    await jit.add_ir(LIB, lib, name="lib")
    await jit.add_ir(APP, app, name="app")
    return lib, app


async def test_platform_runs_constructors_dependencies_first(lazy_jit: JITUnderTest) -> None:
    """initialize(app) links and runs lib's constructor before app's, once; deinitialize
    runs app's exit handlers and destructors before lib's, newest first, once."""
    jit = lazy_jit.jit
    lib, app = await lib_and_app(lazy_jit)
    get_log = jit.function("get_log", "i64()", jd=lib)
    await jit.initialize(app)
    assert await get_log() == 12
    await jit.initialize(app)  # nothing new to run
    assert await get_log() == 12
    await jit.deinitialize(app)
    assert await get_log() == 125678  # app: handler 5, destructor 6; lib: 7, 8
    await jit.deinitialize(app)
    assert await get_log() == 125678
    assert lazy_jit.errors == []


async def test_platform_run_main_initializes_and_deinitializes(lazy_jit: JITUnderTest) -> None:
    """run_main is lli's: constructors, main (with exactly the given argv), exit handlers and
    destructors."""
    jit = lazy_jit.jit
    lib, app = await lib_and_app(lazy_jit)
    assert await jit.run_main(["a", "b"], jd=app) == 2
    assert await jit.function("get_log", "i64()", jd=lib)() == 1235678


async def test_platform_lazy_module_constructors(lazy_jit: JITUnderTest) -> None:
    """A lazily added module's functions may run before initialize (they compile in
    partitions of their own, the globals in theirs); its constructors run at initialize
    (then the init arrays, alone, make the last partition) and its exit handlers at
    deinitialize."""
    jit = lazy_jit.jit
    lib = await lazy_jit.jitdylib("lazylib")
    await jit.add_lazy_ir(LIB, lib, name="lazylib")
    get_log = jit.function("get_log", "i64()", jd=lib)
    assert await get_log() == 0
    await jit.initialize(lib)
    assert await get_log() == 1
    await jit.deinitialize(lib)
    assert await get_log() == 178


async def test_platform_forgets_removed_code(lazy_jit: JITUnderTest) -> None:
    """Constructors of code whose tracker was removed do not run (their memory is gone)."""
    jit = lazy_jit.jit
    lib = await lazy_jit.jitdylib("lib")
    app = await lazy_jit.jitdylib("app")
    await app.add_to_link_order(lib)
    await jit.add_ir(LIB, lib, name="lib")
    tracker = await app.create_resource_tracker()
    await jit.add_ir(APP, tracker, name="app")
    await jit.lookup("main", app)  # links app (and lib), constructors recorded, not run
    await tracker.remove()
    await jit.initialize(app)
    await jit.deinitialize(app)
    assert await jit.function("get_log", "i64()", jd=lib)() == 178
    assert lazy_jit.errors == []


CXX = r"""
extern "C" int atexit(void (*)(void));
static long log_value;
static void note(int digit) { log_value = log_value * 10 + digit; }
extern "C" long get_log(void) { return log_value; }

__attribute__((constructor(101))) static void first(void) { note(1); }
__attribute__((constructor(102))) static void second(void) { note(2); }
struct Object {
  Object() { note(3); }
  ~Object() { note(6); }
};
__attribute__((init_priority(103))) static Object object;
static void bye(void) { note(4); }
__attribute__((destructor)) static void last(void) { note(5); }

int main(int argc, char **argv) {
  atexit(bye);
  return (int)log_value;
}
"""


@pytest.fixture(scope="module")
def cxx_object(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A C++ object with prioritized constructors, a static object (its destructor through
    ``__cxa_atexit`` with ``__dso_handle``), ``atexit`` and a destructor (built once)."""
    clang = Path("/usr/lib/llvm-14/bin/clang++")
    if not clang.exists():
        pytest.skip(f"needs {clang} (apt-get install clang-14)")
    folder = tmp_path_factory.mktemp("cxx")
    source, output = folder / "statics.cpp", folder / "statics.o"
    source.write_text(CXX)
    subprocess.run(
        [str(clang), "-c", "-O1", "-fPIC", str(source), "-o", str(output)],
        check=True,
        timeout=60,
    )
    return output.read_bytes()


async def test_platform_cxx_object_statics(lazy_jit: JITUnderTest, cxx_object: bytes) -> None:
    """clang's .init_array by priority, a static object's destructor registered with
    __cxa_atexit, atexit, and .fini_array: lli's order (123 main 4 6 5)."""
    jit = lazy_jit.jit
    jd = await lazy_jit.jitdylib("cxx")
    await jit.add_object(cxx_object, jd, name="statics.o")
    assert await jit.run_main(jd=jd) == 123
    assert await jit.function("get_log", "long()", jd=jd)() == 123465
    assert lazy_jit.errors == []
