"""The controller half of ORC (LLVM's ORCv2), as asyncio actors: ``actors.orc``.

An ORC JIT session has two halves. The executor (``actors``' `Session`, or LLVM's
``llvm-jitlink-executor``) reserves memory, runs code and answers calls. This package is the
other half, the *controller*: it decides what to compile and link, where symbols come from, and
when work happens.

Theory of operation
-------------------
- `ExecutionSession` owns every `JITDylib`'s symbol table, the pending lookups, the dependency
  graph and the resource trackers. It is one actor: its mailbox *is* LLVM's "session lock", so a
  change that spans several JITDylibs is atomic without locks, and nothing else touches that
  state. Its handler never awaits.
- A lookup is a message. Symbols that are defined but not yet materialized make the session
  hand their `MaterializationUnit` to a dispatcher (a task on the loop, or a worker thread);
  the unit reports progress through its `MaterializationResponsibility`, whose calls are
  messages back to the session. A slow materializer therefore never stalls lookups of other
  symbols, and a failure is a value delivered to exactly the queries that needed it.
- Layers (object linking, IR compilation, lazy reexports) make units; an
  ``ExecutorProcessControl`` (EPC) reaches the process where code runs (LLVM's or orcrt's
  executor over pipes or TCP, or this process).
- ``actors.orc.jitlink`` is the JIT linker's pure core (ELF reading, the link graph, x86-64
  fixups): bytes in, bytes out, no asyncio and no ctypes, tested with golden bytes.

Everything here runs on the caller's event loop (never a private one). Scripts without a loop
use `BlockingPortal`, which hosts one on a thread of its own. Names load on first use, so
``import actors.orc`` costs nothing until a name is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._blocking import BlockingPortal as BlockingPortal

# Public name -> the private module that defines it.
_EXPORTS: dict[str, str] = {
    "BlockingPortal": "_blocking",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'actors.orc' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
