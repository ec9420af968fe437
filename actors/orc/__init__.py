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
- Definition generators run outside the lock, in the looking-up task, one lookup at a time
  per generator; the dependency graph makes a symbol Ready once everything it depends on is
  emitted, cycles included, in time linear in the graph's size.
- `LLJIT`/`LLLazyJIT` (``open_lljit``, ``open_lllazyjit``) put it all together: one
  object owning a session, an executor, the layers, static initialization, and Python
  callables for JIT'd functions (``jit.function("add", "int(int, int)")``).
- Layers (object linking, IR compilation, lazy reexports) make units; an
  ``ExecutorProcessControl`` (EPC) reaches the process where code runs (LLVM's or orcrt's
  executor over pipes or TCP, or this process).
- ``actors.orc.jitlink`` is the JIT linker's pure core (ELF reading, the link graph, x86-64
  fixups): bytes in, bytes out, no asyncio and no ctypes, tested with golden bytes.

Everything here runs on the caller's event loop (never a private one). Scripts without a loop
use `BlockingPortal`, which hosts one on a thread of its own, and the ``.blocking`` facades.
Names load on first use, so ``import actors.orc`` costs nothing until a name is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._blocking import BlockingPortal as BlockingPortal
    from ._cod import CompileOnDemandLayer as CompileOnDemandLayer
    from ._cod import PartitionFunction as PartitionFunction
    from ._cod import compile_requested as compile_requested
    from ._cod import compile_whole_module as compile_whole_module
    from ._epc import CallSignature as CallSignature
    from ._epc import ExecutorProcessControl as ExecutorProcessControl
    from ._epc import JITDispatchInfo as JITDispatchInfo
    from ._epc_connect import EPCOpener as EPCOpener
    from ._epc_connect import connect_executor as connect_executor
    from ._epc_connect import spawn_executor as spawn_executor
    from ._epc_dylibs import EPCDylibManager as EPCDylibManager
    from ._epc_errors import ExecutorCallError as ExecutorCallError
    from ._epc_errors import MissingBootstrapSymbolError as MissingBootstrapSymbolError
    from ._epc_generator import (
        EPCDynamicLibrarySearchGenerator as EPCDynamicLibrarySearchGenerator,
    )
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
    from ._errors import DuplicateDefinitionError as DuplicateDefinitionError
    from ._errors import FailedToMaterializeError as FailedToMaterializeError
    from ._errors import JITDylibDefunctError as JITDylibDefunctError
    from ._errors import MissingSymbolDefinitionsError as MissingSymbolDefinitionsError
    from ._errors import OrcError as OrcError
    from ._errors import ResourceTrackerDefunctError as ResourceTrackerDefunctError
    from ._errors import SymbolsCouldNotBeRemovedError as SymbolsCouldNotBeRemovedError
    from ._errors import SymbolsNotFoundError as SymbolsNotFoundError
    from ._errors import UnexpectedSymbolDefinitionsError as UnexpectedSymbolDefinitionsError
    from ._errors import UnsatisfiedSymbolDependenciesError as UnsatisfiedSymbolDependenciesError
    from ._flags import ExecutorSymbolDef as ExecutorSymbolDef
    from ._flags import JITDylibLookupFlags as JITDylibLookupFlags
    from ._flags import JITSymbolFlags as JITSymbolFlags
    from ._flags import LookupKind as LookupKind
    from ._flags import SymbolAliasMapEntry as SymbolAliasMapEntry
    from ._flags import SymbolDependenceGroup as SymbolDependenceGroup
    from ._flags import SymbolLookupFlags as SymbolLookupFlags
    from ._flags import SymbolLookupSet as SymbolLookupSet
    from ._flags import SymbolState as SymbolState
    from ._function import FunctionSignature as FunctionSignature
    from ._function import JITFunction as JITFunction
    from ._function import ScalarType as ScalarType
    from ._generators import DefinitionGenerator as DefinitionGenerator
    from ._generators import LookupState as LookupState
    from ._generators import ReexportsGenerator as ReexportsGenerator
    from ._ir import IRModule as IRModule
    from ._ir import IRTarget as IRTarget
    from ._ir_compile import IRCompiler as IRCompiler
    from ._ir_compile import ModuleTransform as ModuleTransform
    from ._ir_layers import IRCompileLayer as IRCompileLayer
    from ._ir_layers import IRLayer as IRLayer
    from ._ir_layers import IRMaterializationUnit as IRMaterializationUnit
    from ._ir_layers import IRTransformLayer as IRTransformLayer
    from ._ir_layers import ObjectEmitter as ObjectEmitter
    from ._ir_layers import optimize as optimize
    from ._jit_dispatch import register_jit_dispatch_handlers as register_jit_dispatch_handlers
    from ._jitdylib import JITDylib as JITDylib
    from ._jitdylib import JITDylibBlocking as JITDylibBlocking
    from ._lazy import LazyReexportsManager as LazyReexportsManager
    from ._lazy import lazy_reexports as lazy_reexports
    from ._link_debug import DebugObjectPlugin as DebugObjectPlugin
    from ._link_driver import MemoryManager as MemoryManager
    from ._link_dump import GraphDumpPlugin as GraphDumpPlugin
    from ._link_ehframe import EHFrameRegistrationPlugin as EHFrameRegistrationPlugin
    from ._link_plugin import LinkedGraph as LinkedGraph
    from ._link_plugin import LinkPlugin as LinkPlugin
    from ._lljit import LLJIT as LLJIT
    from ._lljit import LLJITBlocking as LLJITBlocking
    from ._lljit import LLLazyJIT as LLLazyJIT
    from ._lljit_builder import JITOpener as JITOpener
    from ._lljit_builder import LLJITBuilder as LLJITBuilder
    from ._lljit_builder import LLLazyJITBuilder as LLLazyJITBuilder
    from ._lljit_builder import open_lljit as open_lljit
    from ._lljit_builder import open_lllazyjit as open_lllazyjit
    from ._lljit_platform import GenericPlatform as GenericPlatform
    from ._materialization import MaterializationResponsibility as MaterializationResponsibility
    from ._materialization import (
        MaterializationResponsibilityBlocking as MaterializationResponsibilityBlocking,
    )
    from ._materialization import MaterializationUnit as MaterializationUnit
    from ._names import Name as Name
    from ._names import SymbolStringPool as SymbolStringPool
    from ._object_layer import ObjectLinkingLayer as ObjectLinkingLayer
    from ._object_layer import ObjectMaterializationUnit as ObjectMaterializationUnit
    from ._session import ExecutionSession as ExecutionSession
    from ._session import MaterializeOn as MaterializeOn
    from ._session import SearchOrderItem as SearchOrderItem
    from ._session import open_execution_session as open_execution_session
    from ._session_blocking import ExecutionSessionBlocking as ExecutionSessionBlocking
    from ._slab import DEFAULT_SLAB_ADDRESS as DEFAULT_SLAB_ADDRESS
    from ._slab import SlabAllocation as SlabAllocation
    from ._slab import SlabExhaustedError as SlabExhaustedError
    from ._slab import SlabMemoryManager as SlabMemoryManager
    from ._slab import parse_slab_size as parse_slab_size
    from ._static_library import (
        StaticLibraryDefinitionGenerator as StaticLibraryDefinitionGenerator,
    )
    from ._tracker import ResourceManager as ResourceManager
    from ._tracker import ResourceTracker as ResourceTracker
    from ._tracker import ResourceTrackerBlocking as ResourceTrackerBlocking
    from ._units import absolute_symbols as absolute_symbols
    from ._units import reexports as reexports
    from ._units import symbol_aliases as symbol_aliases

# Public name -> the private module that defines it.
_EXPORTS: dict[str, str] = {
    "BlockingPortal": "_blocking",
    "DuplicateDefinitionError": "_errors",
    "FailedToMaterializeError": "_errors",
    "JITDylibDefunctError": "_errors",
    "MissingSymbolDefinitionsError": "_errors",
    "OrcError": "_errors",
    "ResourceTrackerDefunctError": "_errors",
    "SymbolsCouldNotBeRemovedError": "_errors",
    "SymbolsNotFoundError": "_errors",
    "UnexpectedSymbolDefinitionsError": "_errors",
    "UnsatisfiedSymbolDependenciesError": "_errors",
    "ExecutorSymbolDef": "_flags",
    "JITDylibLookupFlags": "_flags",
    "JITSymbolFlags": "_flags",
    "LookupKind": "_flags",
    "SymbolAliasMapEntry": "_flags",
    "SymbolDependenceGroup": "_flags",
    "SymbolLookupFlags": "_flags",
    "SymbolLookupSet": "_flags",
    "SymbolState": "_flags",
    "DefinitionGenerator": "_generators",
    "LookupState": "_generators",
    "ReexportsGenerator": "_generators",
    "JITDylib": "_jitdylib",
    "JITDylibBlocking": "_jitdylib",
    "MaterializationResponsibility": "_materialization",
    "MaterializationResponsibilityBlocking": "_materialization",
    "MaterializationUnit": "_materialization",
    "Name": "_names",
    "SymbolStringPool": "_names",
    "ExecutionSession": "_session",
    "ExecutionSessionBlocking": "_session_blocking",
    "MaterializeOn": "_session",
    "SearchOrderItem": "_session",
    "open_execution_session": "_session",
    "ResourceManager": "_tracker",
    "ResourceTracker": "_tracker",
    "ResourceTrackerBlocking": "_tracker",
    "absolute_symbols": "_units",
    "reexports": "_units",
    "symbol_aliases": "_units",
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
    "DEFAULT_SLAB_ADDRESS": "_slab",
    "SlabAllocation": "_slab",
    "SlabExhaustedError": "_slab",
    "SlabMemoryManager": "_slab",
    "parse_slab_size": "_slab",
    # The object linking layer and the link driver (issue #10).
    "EPCDynamicLibrarySearchGenerator": "_epc_generator",
    "register_jit_dispatch_handlers": "_jit_dispatch",
    "MemoryManager": "_link_driver",
    "DebugObjectPlugin": "_link_debug",
    "GraphDumpPlugin": "_link_dump",
    "EHFrameRegistrationPlugin": "_link_ehframe",
    "LinkedGraph": "_link_plugin",
    "LinkPlugin": "_link_plugin",
    "ObjectLinkingLayer": "_object_layer",
    "ObjectMaterializationUnit": "_object_layer",
    "StaticLibraryDefinitionGenerator": "_static_library",
    "CompileOnDemandLayer": "_cod",
    "PartitionFunction": "_cod",
    "compile_requested": "_cod",
    "compile_whole_module": "_cod",
    "IRModule": "_ir",
    "IRTarget": "_ir",
    "IRCompiler": "_ir_compile",
    "ModuleTransform": "_ir_compile",
    "IRCompileLayer": "_ir_layers",
    "IRLayer": "_ir_layers",
    "IRMaterializationUnit": "_ir_layers",
    "IRTransformLayer": "_ir_layers",
    "ObjectEmitter": "_ir_layers",
    "optimize": "_ir_layers",
    "LazyReexportsManager": "_lazy",
    "lazy_reexports": "_lazy",
    "FunctionSignature": "_function",
    "JITFunction": "_function",
    "ScalarType": "_function",
    "LLJIT": "_lljit",
    "LLJITBlocking": "_lljit",
    "LLLazyJIT": "_lljit",
    "JITOpener": "_lljit_builder",
    "LLJITBuilder": "_lljit_builder",
    "LLLazyJITBuilder": "_lljit_builder",
    "open_lljit": "_lljit_builder",
    "open_lllazyjit": "_lljit_builder",
    "GenericPlatform": "_lljit_platform",
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
