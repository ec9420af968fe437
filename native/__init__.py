"""Native layer of orcrt: process memory, dynamic libraries, native calls, eh-frames (ctypes).

Synchronous code that speaks int addresses and bytes; it imports nothing else of orcrt and no
asyncio. The actors layer wraps it in ResourceManager actors and decides threads: calls that may
run native or JIT'd code (`call_wrapper`, `run_as_*`, `call_async_wrapper`, `DylibManager.open`,
`MemoryMap` requests carrying alloc actions) can block and belong on a worker thread; the rest
(bookkeeping, mmap/mprotect/memcpy) is fast enough for the event-loop thread. Nothing here keeps
mutable global state: each Session creates its own instances. Only immutable things are loaded
once per process (libc, libgcc_s, the shim and its callback thunks), plus what is process-global
by its definition: GDB's JIT descriptor, and the C++ host state an executor process prepares
once for JIT'd code (`prepare_cxx_host`: C++ runtime, locale, C stdio, signals; `_host.py`).

C shim, because ctypes cannot return a struct from a callback: LLVM's wrapper ABI returns a
16-byte ``CWrapperFunctionResult`` by value, and JIT'd code calls the executor's dispatch entry
(``__llvm_orc_SimpleRemoteEPC_dispatch_fn``) expecting exactly that. ctypes can call such a
function but cannot implement one, so a small C file (``native/_shim.c``, built by
``pip install .`` into a plain shared library loaded with ctypes, not a Python extension)
provides the entry point and forwards to a Python callback through an out-parameter. The same
shim passes the seed's asynchronous orc-rt ABI structs by value in both directions, calls native
entry points through fixed prototypes, and defines GDB's ``__jit_debug_descriptor`` and
``__jit_debug_register_code``. Everything else is ctypes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._call import AsyncReturn as AsyncReturn
    from ._call import AsyncReturnChannel as AsyncReturnChannel
    from ._call import call_async_wrapper as call_async_wrapper
    from ._call import call_wrapper as call_wrapper
    from ._call import run_as_int as run_as_int
    from ._call import run_as_main as run_as_main
    from ._call import run_as_void as run_as_void
    from ._dispatch import DispatchContext as DispatchContext
    from ._dispatch import DispatchHandler as DispatchHandler
    from ._dylib import CXX_RUNTIME_LIBRARIES as CXX_RUNTIME_LIBRARIES
    from ._dylib import DylibManager as DylibManager
    from ._ehframe import EhFrameRegistrar as EhFrameRegistrar
    from ._errors import EhFrameError as EhFrameError
    from ._errors import LibraryLoadError as LibraryLoadError
    from ._errors import MemoryAccessError as MemoryAccessError
    from ._errors import MemoryMapError as MemoryMapError
    from ._errors import NativeCallError as NativeCallError
    from ._errors import NativeError as NativeError
    from ._errors import SymbolNotFoundError as SymbolNotFoundError
    from ._gdb_jit import JIT_NOACTION as JIT_NOACTION
    from ._gdb_jit import JIT_REGISTER_FN as JIT_REGISTER_FN
    from ._gdb_jit import JIT_UNREGISTER_FN as JIT_UNREGISTER_FN
    from ._gdb_jit import DebugObjectRegistrar as DebugObjectRegistrar
    from ._gdb_jit import deregister_debug_object as deregister_debug_object
    from ._gdb_jit import jit_debug_descriptor as jit_debug_descriptor
    from ._gdb_jit import register_debug_object as register_debug_object
    from ._host import HostState as HostState
    from ._host import enter_jit_thread as enter_jit_thread
    from ._host import exit_process as exit_process
    from ._host import flush_standard_streams as flush_standard_streams
    from ._host import prepare_cxx_host as prepare_cxx_host
    from ._memory import MAX_READ_SIZE as MAX_READ_SIZE
    from ._memory import PROT_EXEC as PROT_EXEC
    from ._memory import PROT_READ as PROT_READ
    from ._memory import PROT_WRITE as PROT_WRITE
    from ._memory import checked_read as checked_read
    from ._memory import checked_write as checked_write
    from ._memory import flush_icache as flush_icache
    from ._memory import map_anonymous as map_anonymous
    from ._memory import page_size as page_size
    from ._memory import protect as protect
    from ._memory import read as read
    from ._memory import read_buffers as read_buffers
    from ._memory import read_cstring as read_cstring
    from ._memory import read_cstrings as read_cstrings
    from ._memory import read_uint as read_uint
    from ._memory import read_uints as read_uints
    from ._memory import unmap as unmap
    from ._memory import write as write
    from ._memory import write_buffers as write_buffers
    from ._memory import write_segment as write_segment
    from ._memory import write_uint as write_uint
    from ._memory import write_uints as write_uints
    from ._memory import zero as zero
    from ._memory_map import FINALIZE_LIFETIME as FINALIZE_LIFETIME
    from ._memory_map import ActionPair as ActionPair
    from ._memory_map import MemoryMap as MemoryMap
    from ._memory_map import RunAction as RunAction
    from ._memory_map import Segment as Segment
    from ._memory_map import WrapperCall as WrapperCall
    from ._records import ChannelStatistics as ChannelStatistics
    from ._records import DispatchStatistics as DispatchStatistics
    from ._records import JitDebugDescriptor as JitDebugDescriptor
    from ._records import MemoryMapStatistics as MemoryMapStatistics
    from ._shim import load_shim as load_shim

# Public name -> the private module that defines it. Names load on first use, so importing
# native costs nothing until a name is used (the executor's start-up path stays lean).
_EXPORTS: dict[str, str] = {
    "AsyncReturn": "_call",
    "AsyncReturnChannel": "_call",
    "ChannelStatistics": "_records",
    "call_async_wrapper": "_call",
    "call_wrapper": "_call",
    "run_as_int": "_call",
    "run_as_main": "_call",
    "run_as_void": "_call",
    "DispatchContext": "_dispatch",
    "DispatchHandler": "_dispatch",
    "DispatchStatistics": "_records",
    "CXX_RUNTIME_LIBRARIES": "_dylib",
    "DylibManager": "_dylib",
    "EhFrameRegistrar": "_ehframe",
    "EhFrameError": "_errors",
    "LibraryLoadError": "_errors",
    "MemoryAccessError": "_errors",
    "MemoryMapError": "_errors",
    "NativeCallError": "_errors",
    "NativeError": "_errors",
    "SymbolNotFoundError": "_errors",
    "DebugObjectRegistrar": "_gdb_jit",
    "JIT_NOACTION": "_gdb_jit",
    "JIT_REGISTER_FN": "_gdb_jit",
    "JIT_UNREGISTER_FN": "_gdb_jit",
    "JitDebugDescriptor": "_records",
    "deregister_debug_object": "_gdb_jit",
    "jit_debug_descriptor": "_gdb_jit",
    "register_debug_object": "_gdb_jit",
    "HostState": "_host",
    "enter_jit_thread": "_host",
    "exit_process": "_host",
    "flush_standard_streams": "_host",
    "prepare_cxx_host": "_host",
    "MAX_READ_SIZE": "_memory",
    "PROT_EXEC": "_memory",
    "PROT_READ": "_memory",
    "PROT_WRITE": "_memory",
    "checked_read": "_memory",
    "checked_write": "_memory",
    "flush_icache": "_memory",
    "map_anonymous": "_memory",
    "page_size": "_memory",
    "protect": "_memory",
    "read": "_memory",
    "read_buffers": "_memory",
    "read_cstring": "_memory",
    "read_cstrings": "_memory",
    "read_uint": "_memory",
    "read_uints": "_memory",
    "unmap": "_memory",
    "write": "_memory",
    "write_buffers": "_memory",
    "write_segment": "_memory",
    "write_uint": "_memory",
    "write_uints": "_memory",
    "zero": "_memory",
    "ActionPair": "_memory_map",
    "FINALIZE_LIFETIME": "_memory_map",
    "MemoryMap": "_memory_map",
    "MemoryMapStatistics": "_records",
    "RunAction": "_memory_map",
    "Segment": "_memory_map",
    "WrapperCall": "_memory_map",
    "load_shim": "_shim",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'native' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
