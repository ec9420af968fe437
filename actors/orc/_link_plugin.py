"""`LinkPlugin`: what ObjectLinkingLayer plugins implement, and `LinkedGraph`, what they see.

ObjectLinkingLayer plugins (LLVM ``ObjectLinkingLayer::Plugin``) extend every link the layer
runs. Where each hook is called, in link order (orcv2-reference.md §3.2):

| hook | when | may |
|---|---|---|
| `LinkPlugin.notify_materializing` | the graph is built from the object (weak definitions claimed or externalized) | look at the object file's bytes (a debug-object plugin copies them) |
| `LinkPlugin.modify_pass_config` | after the graph is built and lost weak definitions are made external, before any pass | add passes to the graph's `PassConfiguration` (pre-prune, post-prune, post-allocation, pre-fixup, post-fixup) |
| `LinkPlugin.notify_linked` | after the fixups and post-fixup passes, before finalize | add alloc actions (``linked.actions``): run by the executor at finalize and at release |
| `LinkPlugin.notify_emitted` | after finalize, before the symbols are emitted (so before lookups waiting for Ready complete) | call into the executor (LLVM 14's eh-frame registration) |
| `LinkPlugin.notify_failed` | the link failed (the reservation, if any, is released already) | forget per-link state |
| `LinkPlugin.notify_remove_resources` | a tracker was removed, before its memory is released | undo what it did for that tracker's links |
| `LinkPlugin.notify_transfer_resources` | a tracker was merged into another | re-file per-tracker state |

Graph passes run on a worker thread, one link at a time per graph; they must not call the
session. The ``notify_*`` coroutines run on the session's loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from protocol import AllocActionCallPair

if TYPE_CHECKING:
    from ._jitdylib import JITDylib
    from ._materialization import MaterializationResponsibility
    from .jitlink import LinkGraph, LinkResult, PassConfiguration

__all__ = ["LinkPlugin", "LinkedGraph"]


@attrs.define(kw_only=True, eq=False)
class LinkedGraph:
    """A graph after its fixups: what `LinkPlugin.notify_linked` and `notify_emitted` see.

    Attributes:
        graph: the link graph (addresses assigned, fixups applied); read-only for plugins.
        result: the linker's `LinkResult` (segments, eh-frame range, sections, symbols).
        actions: alloc-action pairs for the finalize request; plugins append to it in
            `LinkPlugin.notify_linked` (LLVM 22 registers eh-frames this way). The finalize
            side runs when the memory is finalized, the dealloc side when it is released.
    """

    graph: LinkGraph
    result: LinkResult
    actions: list[AllocActionCallPair] = attrs.Factory(list)


class LinkPlugin:
    """Extends the links of an ObjectLinkingLayer (LLVM ``ObjectLinkingLayer::Plugin``).

    Subclass it and override the hooks you need (each default does nothing); add it with
    ``ObjectLinkingLayer.add_plugin``. The table in the module docstring says when each is
    called. An exception from a hook fails that link (the materialization fails, the error
    is reported), except in `notify_failed`, whose errors are reported, and the resource
    hooks, whose errors reach whoever removed or transferred the tracker.
    """

    def notify_materializing(
        self, mr: MaterializationResponsibility, graph: LinkGraph, object_bytes: bytes
    ) -> None:
        """A link of ``object_bytes`` starts (called once per link, on the loop, first)."""

    def modify_pass_config(
        self, mr: MaterializationResponsibility, graph: LinkGraph, config: PassConfiguration
    ) -> None:
        """Add passes for this link to ``config`` (called once per link, on the loop)."""

    async def notify_linked(self, mr: MaterializationResponsibility, linked: LinkedGraph) -> None:
        """The graph is fixed up and about to be finalized; append alloc actions here."""

    async def notify_emitted(self, mr: MaterializationResponsibility, linked: LinkedGraph) -> None:
        """The graph's memory is finalized; its symbols are emitted right after this."""

    async def notify_failed(self, mr: MaterializationResponsibility, error: BaseException) -> None:
        """The link of ``mr`` failed with ``error`` (already reported to the session)."""

    async def notify_remove_resources(self, jd: JITDylib, key: int) -> None:
        """Tracker ``key`` of ``jd`` was removed; its memory is released after this."""

    def notify_transfer_resources(self, jd: JITDylib, dst_key: int, src_key: int) -> None:
        """Tracker ``src_key`` was merged into ``dst_key`` (under the session lock: be quick,
        do not block, do not call the session)."""
