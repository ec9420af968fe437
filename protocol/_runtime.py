"""Signatures of ORC-runtime calls seen on the wire, for simulated controllers and tracing.

With ``-orc-runtime`` the controller calls wrapper functions that live in JIT'd runtime code, and
that code calls back into the controller through ``__orc_rt_jit_dispatch`` with a *tag*
(simple-remote-epc.md §8, §9). Byte layouts follow `protocol._signature`; the SPS types are from
``ELFNixPlatform.h`` of LLVM 14.0.6 and 22.1.8 and were checked against the ``*-orcrt`` traces
(tests/protocol/traces/): 15.0.6, 16.0.6 and 19.1.7 make the same calls as 14; 22 makes the
platform's calls alloc actions and pushes initializers (`protocol.OrcRuntimePlatform`). The
executor needs none of this: it runs the runtime's code and forwards its dispatch calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from ._signature import WrapperSignature
from ._sps import Addr, AddrRange, Empty, Error, Expected, Int64, Sequence, String, Tuple

__all__ = [
    "ORC_RT_ELFNIX_GET_INITIALIZERS_TAG",
    "ORC_RT_ELFNIX_PLATFORM_BOOTSTRAP",
    "ORC_RT_ELFNIX_PUSH_INITIALIZERS_TAG",
    "ORC_RT_ELFNIX_REGISTER_OBJECT_SECTIONS",
    "ORC_RT_ELFNIX_SYMBOL_LOOKUP_TAG",
    "ORC_RT_RUN_PROGRAM",
    "ORC_RUNTIME_SIGNATURES",
]

# Controller -> executor calls of JIT'd runtime functions.
ORC_RT_ELFNIX_PLATFORM_BOOTSTRAP: Final = WrapperSignature(
    Empty, Addr, name="__orc_rt_elfnix_platform_bootstrap"
)
"""14-19: ``void(addr DSOHandle)`` (a direct call; 22 makes it an alloc action)."""
ORC_RT_ELFNIX_REGISTER_OBJECT_SECTIONS: Final = WrapperSignature(
    Error, Tuple(AddrRange, AddrRange), name="__orc_rt_elfnix_register_object_sections"
)
"""14-19: ``SPSError(Tuple<AddrRange EHFrame, AddrRange ThreadData>)``, once per linked graph."""
ORC_RT_RUN_PROGRAM: Final = WrapperSignature(
    Int64, String, String, Sequence(String), name="__orc_rt_run_program_wrapper"
)
"""14-22: ``i64(String JITDylibName, String EntrySymbol, Sequence<String> Args)``."""

# Executor -> controller dispatch calls (JIT'd runtime code calling a controller tag).
ORC_RT_ELFNIX_GET_INITIALIZERS_TAG: Final = WrapperSignature(
    Expected(Sequence(Tuple(String, Addr, Sequence(Tuple(String, Sequence(AddrRange)))))),
    String,
    name="__orc_rt_elfnix_get_initializers_tag",
)
"""14-19: ``Expected<Sequence<Tuple<String JD, addr DSOHandle, Sequence<Tuple<String Section,
Sequence<AddrRange>>>>>>(String JDName)``."""
ORC_RT_ELFNIX_PUSH_INITIALIZERS_TAG: Final = WrapperSignature(
    Expected(Sequence(Tuple(Addr, Sequence(Addr)))),
    Addr,
    name="__orc_rt_elfnix_push_initializers_tag",
)
"""22: ``Expected<Sequence<Tuple<addr JDHeader, Sequence<addr DepHeaders>>>>(addr JDHeader)``
(``SPSELFNixJITDylibDepInfoMap``)."""
ORC_RT_ELFNIX_SYMBOL_LOOKUP_TAG: Final = WrapperSignature(
    Expected(Addr), Addr, String, name="__orc_rt_elfnix_symbol_lookup_tag"
)
"""14-22: ``Expected<addr>(addr DSOHandle, String Name)``."""

ORC_RUNTIME_SIGNATURES: Final[Mapping[str, WrapperSignature[Any]]] = MappingProxyType(
    {
        signature.name: signature
        for signature in (
            ORC_RT_ELFNIX_PLATFORM_BOOTSTRAP,
            ORC_RT_ELFNIX_REGISTER_OBJECT_SECTIONS,
            ORC_RT_RUN_PROGRAM,
            ORC_RT_ELFNIX_GET_INITIALIZERS_TAG,
            ORC_RT_ELFNIX_PUSH_INITIALIZERS_TAG,
            ORC_RT_ELFNIX_SYMBOL_LOOKUP_TAG,
        )
    }
)
"""The signatures above by symbol/tag name (read-only)."""
