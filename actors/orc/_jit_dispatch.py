"""`register_jit_dispatch_handlers`: executor -> controller handlers registered by symbol name.

LLVM's ``ExecutionSession::registerJITDispatchHandlers`` (orcv2-reference.md §4.7,
checklist 47-49). JIT'd code calls the controller through the executor's dispatch function
with a *tag*, the executor address of some symbol (the ORC runtime defines one-byte data
symbols such as ``__orc_rt_elfnix_symbol_lookup_tag``; any symbol works, an absolute one
too). Registration looks the tag names up in a JITDylib (all symbols, weakly referenced: this
materializes whatever defines them), skips names that are not found, and binds each found
address to its handler in the EPC. As LLVM 22 does, every address is checked before any is
installed, so a clash installs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ._epc_generator import require_epc
from ._epc_handlers import Handler
from ._errors import OrcError
from ._flags import JITDylibLookupFlags, SymbolLookupFlags, SymbolLookupSet

if TYPE_CHECKING:
    from ._jitdylib import JITDylib
    from ._session import ExecutionSession

__all__ = ["register_jit_dispatch_handlers"]


async def register_jit_dispatch_handlers(
    es: ExecutionSession, jd: JITDylib, handlers: Mapping[str, Handler]
) -> dict[str, int]:
    """Bind each handler to the address of its tag symbol in ``jd`` (module docstring).

    Called on the session's loop, typically by a platform at setup. Handlers are what
    ``ExecutorProcessControl.register_handler`` takes (bytes in, bytes out; `sps_handler`
    makes one from a typed function).

    Args:
        es: the session; its EPC receives the handlers.
        jd: where the tag names are looked up (MatchAllSymbols).
        handlers: tag symbol name -> handler.

    Returns:
        The names found, with their tag addresses (names not found are left out).

    Raises:
        OrcError: a tag address already has a handler, or two names share an address:
            ``Tag 0x1234 (for name) already registered`` (LLVM 22's text); nothing is
            installed then.
        ValueError: the session has no EPC.
        FailedToMaterializeError: materializing a tag's definition failed.
    """
    epc = require_epc(es)
    if not handlers:
        return {}
    lookup_set = SymbolLookupSet(handlers, SymbolLookupFlags.WEAKLY_REFERENCED)
    found = await es.lookup([(jd, JITDylibLookupFlags.MATCH_ALL_SYMBOLS)], lookup_set)
    tags: dict[str, int] = {}
    for name in handlers:
        definition = found.get(es.intern(name))
        if definition is not None:
            tags[name] = definition.address
    installed: list[int] = []
    try:
        for name, tag in tags.items():
            try:
                epc.register_handler(tag, handlers[name])
            except ValueError:
                raise OrcError(f"Tag {tag:#x} (for {name}) already registered") from None
            installed.append(tag)
    except BaseException:
        for tag in installed:
            epc.deregister_handler(tag)
        raise
    return tags
