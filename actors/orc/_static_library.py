"""`StaticLibraryDefinitionGenerator`: a static archive (``.a``) as a definition generator.

LLVM's ``StaticLibraryDefinitionGenerator``: when a (static) lookup misses names in the
JITDylib, the members of the archive that define them (by the archive's symbol index) are
added to the JITDylib through an ObjectLinkingLayer, each at most once; the lookup then finds
their definitions like any object's, and they are linked when looked up. Runtime (DLSYM)
lookups never pull members in, as in LLVM.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Self

from ._flags import JITDylibLookupFlags, LookupKind, SymbolLookupSet
from ._generators import DefinitionGenerator, LookupState

if TYPE_CHECKING:
    from ._jitdylib import JITDylib
    from ._object_layer import ObjectLinkingLayer
    from .jitlink import Archive

__all__ = ["StaticLibraryDefinitionGenerator"]


class StaticLibraryDefinitionGenerator(DefinitionGenerator):
    """Adds an archive's members to a JITDylib as lookups need them (module docstring).

    Made by `load` (a file) or `from_bytes`. The session calls `try_to_generate` from
    looking-up tasks, one lookup at a time per generator.

    Args:
        layer: the ObjectLinkingLayer members are added through.
        archive: the parsed archive (`actors.orc.jitlink.read_archive`).
    """

    def __init__(self, layer: ObjectLinkingLayer, archive: Archive) -> None:
        self._layer = layer
        self._archive = archive
        self._added: set[int] = set()

    def __repr__(self) -> str:
        return (
            f"<StaticLibraryDefinitionGenerator {self._archive.name} "
            f"members={len(self._archive.members)} added={len(self._added)}>"
        )

    @classmethod
    def from_bytes(cls, layer: ObjectLinkingLayer, data: bytes, name: str) -> Self:
        """A generator for the archive ``data`` called ``name``.

        Raises:
            ObjectFormatError: not an archive we can read (see `read_archive`).
        """
        from .jitlink import read_archive

        return cls(layer, read_archive(data, name))

    @classmethod
    async def load(cls, layer: ObjectLinkingLayer, path: str) -> Self:
        """Read and parse the archive at ``path`` on a worker thread.

        Raises:
            OSError: it cannot be read.
            ObjectFormatError: not an archive we can read.
        """

        def read() -> bytes:
            with open(path, "rb") as file:
                return file.read()

        data = await asyncio.to_thread(read)
        from .jitlink import read_archive

        return cls(layer, await asyncio.to_thread(read_archive, data, path))

    async def try_to_generate(
        self,
        state: LookupState,
        kind: LookupKind,
        jd: JITDylib,
        jd_flags: JITDylibLookupFlags,
        lookup_set: SymbolLookupSet,
    ) -> None:
        """Add the members defining the names looked up (a static lookup only).

        Raises:
            ObjectFormatError: a needed member is not an object we can read.
            DuplicateDefinitionError: a member defines a strong symbol ``jd`` already has.
        """
        if kind is not LookupKind.STATIC:
            return
        wanted: list[int] = []
        for name, _ in lookup_set:
            offset = self._archive.symbols.get(str(name))
            if offset is not None and offset not in self._added and offset not in wanted:
                wanted.append(offset)
        for offset in sorted(wanted):
            member = self._archive.member_at(offset)
            self._added.add(offset)
            await self._layer.add(jd, member.data, self._archive.object_name(member))
