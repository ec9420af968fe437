"""Wire formats of orcrt, sans-IO: SPS, SimpleRemoteEPC frames, Setup, msgpack payloads.

Pure bytes <-> values: nothing here does I/O, awaits, logs or touches native memory. Byte layouts
are documented in each private module: `_sps` (SPS types), `_signature` (wrapper arguments and
results), `_records` (bootstrap records), `_bootstrap` and `_runtime` (wrapper signatures),
`_framing` (the 32-byte frame header), `_setup` (the Setup payload), `_msgpack` (Python wrappers),
and `_versions`: the table of what each LLVM major (14-22) speaks, read by the executor and the
controller alike.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._bootstrap import BOOTSTRAP_SIGNATURES as BOOTSTRAP_SIGNATURES
    from ._bootstrap import DEREGISTER_EHFRAME_ALLOC_ACTION as DEREGISTER_EHFRAME_ALLOC_ACTION
    from ._bootstrap import DEREGISTER_EHFRAME_SECTION as DEREGISTER_EHFRAME_SECTION
    from ._bootstrap import DEREGISTER_EHFRAME_SECTION_WRAPPER as DEREGISTER_EHFRAME_SECTION_WRAPPER
    from ._bootstrap import DISPATCH_CTX_SYMBOL as DISPATCH_CTX_SYMBOL
    from ._bootstrap import DISPATCH_FN_SYMBOL as DISPATCH_FN_SYMBOL
    from ._bootstrap import DYLIB_LOOKUP as DYLIB_LOOKUP
    from ._bootstrap import DYLIB_LOOKUP_SYMBOL_DEFS as DYLIB_LOOKUP_SYMBOL_DEFS
    from ._bootstrap import DYLIB_MANAGER_INSTANCE_SYMBOL as DYLIB_MANAGER_INSTANCE_SYMBOL
    from ._bootstrap import DYLIB_OPEN as DYLIB_OPEN
    from ._bootstrap import DYLIB_RESOLVE as DYLIB_RESOLVE
    from ._bootstrap import MEM_READ_BUFFERS as MEM_READ_BUFFERS
    from ._bootstrap import MEM_READ_POINTERS as MEM_READ_POINTERS
    from ._bootstrap import MEM_READ_STRINGS as MEM_READ_STRINGS
    from ._bootstrap import MEM_READ_UINT8S as MEM_READ_UINT8S
    from ._bootstrap import MEM_READ_UINT16S as MEM_READ_UINT16S
    from ._bootstrap import MEM_READ_UINT32S as MEM_READ_UINT32S
    from ._bootstrap import MEM_READ_UINT64S as MEM_READ_UINT64S
    from ._bootstrap import MEM_WRITE_BUFFERS as MEM_WRITE_BUFFERS
    from ._bootstrap import MEM_WRITE_POINTERS as MEM_WRITE_POINTERS
    from ._bootstrap import MEM_WRITE_UINT8S as MEM_WRITE_UINT8S
    from ._bootstrap import MEM_WRITE_UINT16S as MEM_WRITE_UINT16S
    from ._bootstrap import MEM_WRITE_UINT32S as MEM_WRITE_UINT32S
    from ._bootstrap import MEM_WRITE_UINT64S as MEM_WRITE_UINT64S
    from ._bootstrap import MEMORY_DEALLOCATE as MEMORY_DEALLOCATE
    from ._bootstrap import MEMORY_DEINITIALIZE as MEMORY_DEINITIALIZE
    from ._bootstrap import MEMORY_FINALIZE as MEMORY_FINALIZE
    from ._bootstrap import MEMORY_INITIALIZE as MEMORY_INITIALIZE
    from ._bootstrap import MEMORY_MANAGER_INSTANCE_SYMBOL as MEMORY_MANAGER_INSTANCE_SYMBOL
    from ._bootstrap import MEMORY_RELEASE as MEMORY_RELEASE
    from ._bootstrap import MEMORY_RESERVE as MEMORY_RESERVE
    from ._bootstrap import REGISTER_EHFRAME_ALLOC_ACTION as REGISTER_EHFRAME_ALLOC_ACTION
    from ._bootstrap import REGISTER_EHFRAME_SECTION as REGISTER_EHFRAME_SECTION
    from ._bootstrap import REGISTER_EHFRAME_SECTION_WRAPPER as REGISTER_EHFRAME_SECTION_WRAPPER
    from ._bootstrap import (
        REGISTER_JITLOADER_GDB_ALLOC_ACTION as REGISTER_JITLOADER_GDB_ALLOC_ACTION,
    )
    from ._bootstrap import REGISTER_JITLOADER_GDB_WRAPPER as REGISTER_JITLOADER_GDB_WRAPPER
    from ._bootstrap import (
        REGISTER_JITLOADER_GDB_WRAPPER_AUTO as REGISTER_JITLOADER_GDB_WRAPPER_AUTO,
    )
    from ._bootstrap import RUN_AS_INT as RUN_AS_INT
    from ._bootstrap import RUN_AS_MAIN as RUN_AS_MAIN
    from ._bootstrap import RUN_AS_VOID as RUN_AS_VOID
    from ._bootstrap import SHARED_MEMORY_DEINITIALIZE as SHARED_MEMORY_DEINITIALIZE
    from ._bootstrap import SHARED_MEMORY_INITIALIZE as SHARED_MEMORY_INITIALIZE
    from ._bootstrap import (
        SHARED_MEMORY_MAPPER_INSTANCE_SYMBOL as SHARED_MEMORY_MAPPER_INSTANCE_SYMBOL,
    )
    from ._bootstrap import SHARED_MEMORY_RELEASE as SHARED_MEMORY_RELEASE
    from ._bootstrap import SHARED_MEMORY_RESERVE as SHARED_MEMORY_RESERVE
    from ._errors import DecodeError as DecodeError
    from ._errors import EncodeError as EncodeError
    from ._errors import LimitExceededError as LimitExceededError
    from ._errors import ProtocolError as ProtocolError
    from ._framing import DEFAULT_MAX_FRAME_SIZE as DEFAULT_MAX_FRAME_SIZE
    from ._framing import HEADER_SIZE as HEADER_SIZE
    from ._framing import Frame as Frame
    from ._framing import FrameDecoder as FrameDecoder
    from ._framing import Opcode as Opcode
    from ._framing import encode_frame as encode_frame
    from ._msgpack import DEFAULT_MSGPACK_MAX_CONTAINER_LEN as DEFAULT_MSGPACK_MAX_CONTAINER_LEN
    from ._msgpack import DEFAULT_MSGPACK_MAX_PAYLOAD_SIZE as DEFAULT_MSGPACK_MAX_PAYLOAD_SIZE
    from ._msgpack import MsgpackSignature as MsgpackSignature
    from ._msgpack import MsgpackWrapper as MsgpackWrapper
    from ._msgpack import msgpack_wrapper as msgpack_wrapper
    from ._records import NULL_WRAPPER_CALL as NULL_WRAPPER_CALL
    from ._records import SYMBOL_FLAG_EXPORTED as SYMBOL_FLAG_EXPORTED
    from ._records import AllocActionCallPair as AllocActionCallPair
    from ._records import ExecutorSymbolDef as ExecutorSymbolDef
    from ._records import FinalizeRequest as FinalizeRequest
    from ._records import MemProt as MemProt
    from ._records import SegmentFinalizeRequest as SegmentFinalizeRequest
    from ._records import SharedMemoryFinalizeRequest as SharedMemoryFinalizeRequest
    from ._records import SharedMemorySegmentFinalizeRequest as SharedMemorySegmentFinalizeRequest
    from ._records import SPSAllocActionCallPair as SPSAllocActionCallPair
    from ._records import SPSExecutorSymbolDef as SPSExecutorSymbolDef
    from ._records import SPSFinalizeRequest as SPSFinalizeRequest
    from ._records import SPSLookupSet as SPSLookupSet
    from ._records import SPSSegmentFinalizeRequest as SPSSegmentFinalizeRequest
    from ._records import SPSSharedMemoryFinalizeRequest as SPSSharedMemoryFinalizeRequest
    from ._records import (
        SPSSharedMemorySegmentFinalizeRequest as SPSSharedMemorySegmentFinalizeRequest,
    )
    from ._records import SPSSymbolLookup as SPSSymbolLookup
    from ._records import SPSWrapperFunctionCall as SPSWrapperFunctionCall
    from ._records import SymbolLookup as SymbolLookup
    from ._records import WrapperFunctionCall as WrapperFunctionCall
    from ._runtime import ORC_RT_ELFNIX_GET_INITIALIZERS_TAG as ORC_RT_ELFNIX_GET_INITIALIZERS_TAG
    from ._runtime import ORC_RT_ELFNIX_PLATFORM_BOOTSTRAP as ORC_RT_ELFNIX_PLATFORM_BOOTSTRAP
    from ._runtime import ORC_RT_ELFNIX_PUSH_INITIALIZERS_TAG as ORC_RT_ELFNIX_PUSH_INITIALIZERS_TAG
    from ._runtime import (
        ORC_RT_ELFNIX_REGISTER_OBJECT_SECTIONS as ORC_RT_ELFNIX_REGISTER_OBJECT_SECTIONS,
    )
    from ._runtime import ORC_RT_ELFNIX_SYMBOL_LOOKUP_TAG as ORC_RT_ELFNIX_SYMBOL_LOOKUP_TAG
    from ._runtime import ORC_RT_RUN_PROGRAM as ORC_RT_RUN_PROGRAM
    from ._runtime import ORC_RUNTIME_SIGNATURES as ORC_RUNTIME_SIGNATURES
    from ._setup import ExecutorInfo as ExecutorInfo
    from ._setup import SetupLayout as SetupLayout
    from ._setup import decode_setup as decode_setup
    from ._setup import detect_setup_layout as detect_setup_layout
    from ._setup import encode_setup as encode_setup
    from ._setup import setup_layout_for as setup_layout_for
    from ._signature import WrapperSignature as WrapperSignature
    from ._sps import DEFAULT_MAX_SEQUENCE_COUNT as DEFAULT_MAX_SEQUENCE_COUNT
    from ._sps import Addr as Addr
    from ._sps import AddrRange as AddrRange
    from ._sps import Bool as Bool
    from ._sps import Buffer as Buffer
    from ._sps import BytesLike as BytesLike
    from ._sps import Char as Char
    from ._sps import Empty as Empty
    from ._sps import Error as Error
    from ._sps import Expected as Expected
    from ._sps import Int8 as Int8
    from ._sps import Int16 as Int16
    from ._sps import Int32 as Int32
    from ._sps import Int64 as Int64
    from ._sps import Map as Map
    from ._sps import Optional as Optional
    from ._sps import Record as Record
    from ._sps import Sequence as Sequence
    from ._sps import Size as Size
    from ._sps import SPSType as SPSType
    from ._sps import String as String
    from ._sps import Tuple as Tuple
    from ._sps import UInt8 as UInt8
    from ._sps import UInt16 as UInt16
    from ._sps import UInt32 as UInt32
    from ._sps import UInt64 as UInt64
    from ._values import ExecutorAddrRange as ExecutorAddrRange
    from ._values import Failure as Failure
    from ._versions import LLVM_PROTOCOLS as LLVM_PROTOCOLS
    from ._versions import SUPPORTED_LLVM_MAJORS as SUPPORTED_LLVM_MAJORS
    from ._versions import DebugObjectRegistration as DebugObjectRegistration
    from ._versions import DylibLookup as DylibLookup
    from ._versions import EhFrameRegistration as EhFrameRegistration
    from ._versions import ExecutorService as ExecutorService
    from ._versions import LLVMProtocol as LLVMProtocol
    from ._versions import MemoryManagerProtocol as MemoryManagerProtocol
    from ._versions import OrcRuntimePlatform as OrcRuntimePlatform
    from ._versions import llvm_protocol as llvm_protocol
    from ._versions import recognise_llvm_protocol as recognise_llvm_protocol
    from ._versions import supported_majors_text as supported_majors_text

# Public name -> the private module that defines it. Names load on first use, so importing
# protocol costs nothing until a name is used (the executor's start-up path stays lean).
_EXPORTS: dict[str, str] = {
    "BOOTSTRAP_SIGNATURES": "_bootstrap",
    "DEREGISTER_EHFRAME_ALLOC_ACTION": "_bootstrap",
    "DEREGISTER_EHFRAME_SECTION": "_bootstrap",
    "DEREGISTER_EHFRAME_SECTION_WRAPPER": "_bootstrap",
    "DISPATCH_CTX_SYMBOL": "_bootstrap",
    "DISPATCH_FN_SYMBOL": "_bootstrap",
    "DYLIB_LOOKUP": "_bootstrap",
    "DYLIB_LOOKUP_SYMBOL_DEFS": "_bootstrap",
    "DYLIB_MANAGER_INSTANCE_SYMBOL": "_bootstrap",
    "DYLIB_OPEN": "_bootstrap",
    "DYLIB_RESOLVE": "_bootstrap",
    "MEMORY_DEALLOCATE": "_bootstrap",
    "MEMORY_DEINITIALIZE": "_bootstrap",
    "MEMORY_FINALIZE": "_bootstrap",
    "MEMORY_INITIALIZE": "_bootstrap",
    "MEMORY_MANAGER_INSTANCE_SYMBOL": "_bootstrap",
    "MEMORY_RELEASE": "_bootstrap",
    "MEMORY_RESERVE": "_bootstrap",
    "MEM_READ_BUFFERS": "_bootstrap",
    "MEM_READ_POINTERS": "_bootstrap",
    "MEM_READ_STRINGS": "_bootstrap",
    "MEM_READ_UINT16S": "_bootstrap",
    "MEM_READ_UINT32S": "_bootstrap",
    "MEM_READ_UINT64S": "_bootstrap",
    "MEM_READ_UINT8S": "_bootstrap",
    "MEM_WRITE_BUFFERS": "_bootstrap",
    "MEM_WRITE_POINTERS": "_bootstrap",
    "MEM_WRITE_UINT16S": "_bootstrap",
    "MEM_WRITE_UINT32S": "_bootstrap",
    "MEM_WRITE_UINT64S": "_bootstrap",
    "MEM_WRITE_UINT8S": "_bootstrap",
    "REGISTER_EHFRAME_ALLOC_ACTION": "_bootstrap",
    "REGISTER_EHFRAME_SECTION": "_bootstrap",
    "REGISTER_EHFRAME_SECTION_WRAPPER": "_bootstrap",
    "REGISTER_JITLOADER_GDB_ALLOC_ACTION": "_bootstrap",
    "REGISTER_JITLOADER_GDB_WRAPPER": "_bootstrap",
    "REGISTER_JITLOADER_GDB_WRAPPER_AUTO": "_bootstrap",
    "RUN_AS_INT": "_bootstrap",
    "RUN_AS_MAIN": "_bootstrap",
    "RUN_AS_VOID": "_bootstrap",
    "SHARED_MEMORY_DEINITIALIZE": "_bootstrap",
    "SHARED_MEMORY_INITIALIZE": "_bootstrap",
    "SHARED_MEMORY_MAPPER_INSTANCE_SYMBOL": "_bootstrap",
    "SHARED_MEMORY_RELEASE": "_bootstrap",
    "SHARED_MEMORY_RESERVE": "_bootstrap",
    "DecodeError": "_errors",
    "EncodeError": "_errors",
    "LimitExceededError": "_errors",
    "ProtocolError": "_errors",
    "DEFAULT_MAX_FRAME_SIZE": "_framing",
    "Frame": "_framing",
    "FrameDecoder": "_framing",
    "HEADER_SIZE": "_framing",
    "Opcode": "_framing",
    "encode_frame": "_framing",
    "DEFAULT_MSGPACK_MAX_CONTAINER_LEN": "_msgpack",
    "DEFAULT_MSGPACK_MAX_PAYLOAD_SIZE": "_msgpack",
    "MsgpackSignature": "_msgpack",
    "MsgpackWrapper": "_msgpack",
    "msgpack_wrapper": "_msgpack",
    "AllocActionCallPair": "_records",
    "ExecutorSymbolDef": "_records",
    "FinalizeRequest": "_records",
    "MemProt": "_records",
    "NULL_WRAPPER_CALL": "_records",
    "SPSAllocActionCallPair": "_records",
    "SPSExecutorSymbolDef": "_records",
    "SPSFinalizeRequest": "_records",
    "SPSLookupSet": "_records",
    "SPSSegmentFinalizeRequest": "_records",
    "SPSSharedMemoryFinalizeRequest": "_records",
    "SPSSharedMemorySegmentFinalizeRequest": "_records",
    "SPSSymbolLookup": "_records",
    "SPSWrapperFunctionCall": "_records",
    "SYMBOL_FLAG_EXPORTED": "_records",
    "SegmentFinalizeRequest": "_records",
    "SharedMemoryFinalizeRequest": "_records",
    "SharedMemorySegmentFinalizeRequest": "_records",
    "SymbolLookup": "_records",
    "WrapperFunctionCall": "_records",
    "ORC_RT_ELFNIX_GET_INITIALIZERS_TAG": "_runtime",
    "ORC_RT_ELFNIX_PLATFORM_BOOTSTRAP": "_runtime",
    "ORC_RT_ELFNIX_PUSH_INITIALIZERS_TAG": "_runtime",
    "ORC_RT_ELFNIX_REGISTER_OBJECT_SECTIONS": "_runtime",
    "ORC_RT_ELFNIX_SYMBOL_LOOKUP_TAG": "_runtime",
    "ORC_RT_RUN_PROGRAM": "_runtime",
    "ORC_RUNTIME_SIGNATURES": "_runtime",
    "ExecutorInfo": "_setup",
    "SetupLayout": "_setup",
    "decode_setup": "_setup",
    "detect_setup_layout": "_setup",
    "encode_setup": "_setup",
    "setup_layout_for": "_setup",
    "WrapperSignature": "_signature",
    "Addr": "_sps",
    "AddrRange": "_sps",
    "Bool": "_sps",
    "Buffer": "_sps",
    "BytesLike": "_sps",
    "Char": "_sps",
    "DEFAULT_MAX_SEQUENCE_COUNT": "_sps",
    "Empty": "_sps",
    "Error": "_sps",
    "Expected": "_sps",
    "Int16": "_sps",
    "Int32": "_sps",
    "Int64": "_sps",
    "Int8": "_sps",
    "Map": "_sps",
    "Optional": "_sps",
    "Record": "_sps",
    "SPSType": "_sps",
    "Sequence": "_sps",
    "Size": "_sps",
    "String": "_sps",
    "Tuple": "_sps",
    "UInt16": "_sps",
    "UInt32": "_sps",
    "UInt64": "_sps",
    "UInt8": "_sps",
    "ExecutorAddrRange": "_values",
    "Failure": "_values",
    "DebugObjectRegistration": "_versions",
    "DylibLookup": "_versions",
    "EhFrameRegistration": "_versions",
    "ExecutorService": "_versions",
    "LLVMProtocol": "_versions",
    "LLVM_PROTOCOLS": "_versions",
    "MemoryManagerProtocol": "_versions",
    "OrcRuntimePlatform": "_versions",
    "SUPPORTED_LLVM_MAJORS": "_versions",
    "llvm_protocol": "_versions",
    "recognise_llvm_protocol": "_versions",
    "supported_majors_text": "_versions",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'protocol' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
