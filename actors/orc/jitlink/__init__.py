"""The JIT linker's pure core for x86-64 ELF: ``actors.orc.jitlink``.

Bytes in, bytes out: read a relocatable ELF object into a link graph (sections, blocks,
symbols, edges), run passes over it (dead stripping, GOT and PLT building, relaxation,
eh-frame splitting), lay it out at given addresses and apply fixups. Nothing here does I/O,
awaits, or touches process memory (``tests/test_layering.py`` enforces it); the asynchronous
driver that allocates memory in an executor and resolves external symbols lives in
``actors.orc``.
"""

from __future__ import annotations

__all__: list[str] = []
