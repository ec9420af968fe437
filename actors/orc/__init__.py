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
    from ._epc import CallSignature as CallSignature
    from ._epc import ExecutorProcessControl as ExecutorProcessControl
    from ._epc import JITDispatchInfo as JITDispatchInfo
    from ._epc_connect import EPCOpener as EPCOpener
    from ._epc_connect import connect_executor as connect_executor
    from ._epc_connect import spawn_executor as spawn_executor
    from ._epc_dylibs import EPCDylibManager as EPCDylibManager
    from ._epc_errors import ExecutorCallError as ExecutorCallError
    from ._epc_errors import MissingBootstrapSymbolError as MissingBootstrapSymbolError
    from ._epc_handlers import Handler as Handler
    from ._epc_handlers import UnansweredCall as UnansweredCall
    from ._epc_handlers import sps_handler as sps_handler
    from ._epc_inprocess import InProcessEPC as InProcessEPC
    from ._epc_inprocess import open_inprocess_executor as open_inprocess_executor
    from ._epc_memory import EPCMemoryAccess as EPCMemoryAccess
    from ._epc_memory import EPCMemoryManager as EPCMemoryManager
    from ._epc_memory import Segment as Segment
    from ._epc_process import ExecutorExit as ExecutorExit
    from ._epc_process import ExecutorProcess as ExecutorProcess
    from ._epc_wire import SimpleRemoteEPC as SimpleRemoteEPC

# Public name -> the private module that defines it.
_EXPORTS: dict[str, str] = {
    "BlockingPortal": "_blocking",
    "CallSignature": "_epc",
    "ExecutorProcessControl": "_epc",
    "JITDispatchInfo": "_epc",
    "EPCOpener": "_epc_connect",
    "connect_executor": "_epc_connect",
    "spawn_executor": "_epc_connect",
    "EPCDylibManager": "_epc_dylibs",
    "ExecutorCallError": "_epc_errors",
    "MissingBootstrapSymbolError": "_epc_errors",
    "Handler": "_epc_handlers",
    "UnansweredCall": "_epc_handlers",
    "sps_handler": "_epc_handlers",
    "InProcessEPC": "_epc_inprocess",
    "open_inprocess_executor": "_epc_inprocess",
    "EPCMemoryAccess": "_epc_memory",
    "EPCMemoryManager": "_epc_memory",
    "Segment": "_epc_memory",
    "ExecutorExit": "_epc_process",
    "ExecutorProcess": "_epc_process",
    "SimpleRemoteEPC": "_epc_wire",
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
