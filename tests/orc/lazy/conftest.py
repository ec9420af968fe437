"""Fixtures of the lazy-compilation and LLJIT tests: an LLLazyJIT over each executor kind.

Kinds (issue #11): LLVM's ``llvm-jitlink-executor`` of 14 and 22 (and of 15, 16 and 19; each
skipped with a reason where that LLVM is not installed), orcrt's executor over pipes, and an
orcrt executor Session in this process. One JIT per kind serves a whole test module (``lazy_jit``: started once, so
the suite stays fast); each test works in JITDylibs of its own. Errors the session reports
and the modules the JIT compiles are recorded, so tests can check them.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
import pytest_asyncio

from actors.orc import IRModule, JITDylib, LLLazyJIT, Name, open_lllazyjit

# LLVM 14 and 22 are the issue's; 15, 16 and 19 are the other versions CI installs.
LLVM_KINDS = ("llvm14", "llvm15", "llvm16", "llvm19", "llvm22")
KINDS = (*LLVM_KINDS, "orcrt", "inprocess")
SPAWNED = (*LLVM_KINDS, "orcrt")


def require_executor(kind: str) -> None:
    """Skip the test with a reason if ``kind`` is an LLVM executor that is not installed."""
    if kind.startswith("llvm"):
        major = kind[4:]
        path = Path(f"/usr/lib/llvm-{major}/bin/llvm-jitlink-executor")
        if not os.access(path, os.X_OK):
            pytest.skip(f"LLVM {major} is not installed (Debian package llvm-{major}): no {path}")


@attrs.define(eq=False)
class JITUnderTest:
    """An LLLazyJIT over one executor kind, with what it reported and compiled.

    Attributes:
        kind: one of `KINDS`.
        jit: the JIT (shared by the tests of a module).
        errors: what the session reported, in order.
        compiled: every module the JIT compiled, in order.
        on_call: if set, told each lazy function whose call reached the controller.
    """

    kind: str
    jit: LLLazyJIT
    errors: list[BaseException]
    compiled: list[IRModule]
    on_call: Callable[[str], None] | None = None
    _serials: Any = attrs.field(factory=itertools.count)

    @property
    def spawned(self) -> bool:
        return self.kind in SPAWNED

    async def jitdylib(self, stem: str = "t") -> JITDylib:
        """A new JITDylib linked as ``main`` is, with a name no other test uses."""
        return await self.jit.create_jitdylib(f"{stem}{next(self._serials)}")

    def compiled_functions(self, since: int = 0, module: str = "") -> list[str]:
        """Names of the functions defined by the modules compiled since index ``since``
        (only modules whose names start with ``module``, if given)."""
        names: list[str] = []
        for compiled in self.compiled[since:]:
            if not compiled.name.startswith(module):
                continue
            for line in compiled.text.splitlines():
                if line.startswith("define "):
                    names.append(line.split("@", 1)[1].split("(", 1)[0].strip('"'))
        return names


async def open_test_jit(kind: str, **options: Any) -> JITUnderTest:
    """A fresh LLLazyJIT of ``kind`` recording errors and compiled modules (skips if the
    executor is missing). Close ``.jit`` when done."""
    require_executor(kind)
    errors: list[BaseException] = []
    compiled: list[IRModule] = []
    holder: list[JITUnderTest] = []

    def on_call(name: Name) -> None:
        if holder and holder[0].on_call is not None:
            holder[0].on_call(str(name))

    jit = await open_lllazyjit(
        executor=kind,
        error_reporter=errors.append,
        on_lazy_call=on_call,
        name=f"test-{kind}",
        **options,
    )
    jit.compile_layer.on_compiled = lambda module, obj: compiled.append(module)
    under_test = JITUnderTest(kind=kind, jit=jit, errors=errors, compiled=compiled)
    holder.append(under_test)
    return under_test


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=KINDS)
async def lazy_jit(request: pytest.FixtureRequest) -> AsyncIterator[JITUnderTest]:
    """An LLLazyJIT over each executor kind, shared by the tests of a module."""
    under_test = await open_test_jit(request.param)
    try:
        yield under_test
    finally:
        await under_test.jit.close()
