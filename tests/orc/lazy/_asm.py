"""Test helper: an x86-64 assembler wherever llvmlite is installed.

``assemble`` puts Intel-syntax assembly into an IR module's ``module asm`` and lets
llvmlite's LLVM emit the object; ``naked_function`` wraps assembly as the body of a naked IR
function (so that IR layers, lazy ones included, see a function they can compile).
"""

from __future__ import annotations

from actors.orc import IRCompiler
from actors.orc._ir import load_module

TRIPLE = "x86_64-pc-linux-gnu"
_COMPILER = IRCompiler(TRIPLE)


def _escape(text: str) -> str:
    return text.replace("\\", "\\5C").replace('"', "\\22")


def assemble(asm: str) -> bytes:
    """An ELF object from Intel-syntax x86-64 assembly (``.globl`` names become symbols)."""
    lines = [".intel_syntax noprefix", *asm.strip().splitlines()]
    text = "\n".join(f'module asm "{_escape(line)}"' for line in lines) + "\n"
    return _COMPILER.compile_blocking(load_module(text, _COMPILER.target, "asm"))


def naked_function(name: str, asm: str) -> str:
    """IR text of ``define i32 @name() naked`` whose whole body is ``asm`` (Intel syntax)."""
    body = "\\0A".join(_escape(line.strip()) for line in asm.strip().splitlines())
    return (
        f"define i32 @{name}() naked noinline {{\n"
        f'  call void asm sideeffect inteldialect "{body}", "~{{dirflag}},~{{fpsr}},~{{flags}}"()\n'
        "  unreachable\n}\n"
    )
