"""The JIT memory manager client and memory access of an EPC.

`EPCMemoryManager` speaks LLVM's ``EPCGenericJITLinkMemoryManager`` protocol
(orcv2-reference.md §4.4) with the executor's ``SimpleExecutorMemoryManager``:

| step      | LLVM 14-21                               | LLVM 22                                      |
|-----------|------------------------------------------|----------------------------------------------|
| reserve   | ``reserve(Inst, size) -> Expected<addr>`` | the same                                     |
| finalize  | ``finalize(Inst, req) -> Error``          | ``initialize(Inst, req) -> Expected<key>``   |
| undo init | —                                        | ``deinitialize(Inst, [key]) -> Error``       |
| free      | ``deallocate(Inst, [base]) -> Error``     | ``release(Inst, [base]) -> Error``           |

A request carries segments (protection, address, size, content: the executor copies the
content and zero-fills the rest of the segment) and alloc-action pairs (a finalize action run
at finalize time and its dealloc action, run when the memory is released). The protection byte
is RWX bits, from 16 on the AllocGroup byte: the same bits plus ``0x08`` for a segment whose
memory is needed only until the finalize actions have run. Which variant a version speaks is
its row of `protocol.LLVM_PROTOCOLS`.

`EPCMemoryAccess` reads and writes executor memory in batches. Over a wire it calls the
bootstrap ``mem_write_*``/``mem_read_*`` wrappers (`WrapperMemoryAccess`; LLVM 14-19 have no read
wrappers, so reads fail with `MissingBootstrapSymbolError` unless the executor advertises
them); in this process it copies directly.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

import attrs

import protocol
from protocol import MemProt

from ._epc_errors import ExecutorCallError

if TYPE_CHECKING:
    from ._epc import ExecutorProcessControl

__all__ = ["EPCMemoryAccess", "EPCMemoryManager", "Segment", "WrapperMemoryAccess"]

_RWX: Final = MemProt.READ | MemProt.WRITE | MemProt.EXEC


def _check_prot(instance: Segment, attribute: object, prot: MemProt) -> None:
    del instance, attribute
    if prot & ~_RWX:
        raise ValueError(
            f"segment protection {prot!r} has bits other than READ/WRITE/EXEC "
            "(use finalize_lifetime=True for 22's finalize-lifetime segments)"
        )


def _check_size(instance: Segment, attribute: object, size: int) -> None:
    del attribute
    if not 0 <= size < 1 << 64:
        raise ValueError(f"segment size {size} is not a u64")
    if len(instance.content) > size:
        raise ValueError(
            f"segment at {instance.address:#x}: {len(instance.content)} bytes of content "
            f"do not fit its size {size}"
        )


@attrs.frozen
class Segment:
    """One segment of a finalize request: where, how big, with what protection and content.

    The executor copies ``content`` to ``address`` and zero-fills the rest, up to ``size``
    (LLVM sends page-rounded sizes and content only, §4.4); then applies ``prot``.

    Attributes:
        prot: READ/WRITE/EXEC bits (`protocol.MemProt`).
        address: where the segment starts (inside a reservation).
        size: the segment's size in bytes.
        content: the initial bytes (at most ``size``).
        finalize_lifetime: LLVM 22 only: the memory is needed only until the finalize
            actions have run (AllocGroup bit ``0x08``).

    Raises:
        ValueError: at construction: other protection bits, a size that is not a u64, or
            content longer than the size.
    """

    prot: MemProt = attrs.field(converter=MemProt, validator=_check_prot)
    address: int
    size: int = attrs.field(validator=_check_size)
    content: bytes = attrs.field(default=b"", converter=bytes)
    finalize_lifetime: bool = False

    def wire_request(self, llvm_major: int) -> protocol.SegmentFinalizeRequest:
        """The segment as ``llvm_major``'s memory manager expects it.

        Raises:
            ValueError: a finalize-lifetime segment for LLVM 14 or 15 (whose segment byte is
                bare RWX bits), or an unsupported ``llvm_major``.
        """
        prot = int(self.prot)
        if self.finalize_lifetime:
            if not protocol.llvm_protocol(llvm_major).segment_lifetime_bit:
                raise ValueError(
                    f"segment at {self.address:#x}: LLVM {llvm_major}'s memory manager has no "
                    "finalize-lifetime segments"
                )
            prot |= MemProt.FINALIZE_LIFETIME
        return protocol.SegmentFinalizeRequest(prot, self.address, self.size, self.content)


class EPCMemoryManager:
    """Client of the executor's JIT memory manager (see the module table). Made by
    `ExecutorProcessControl.memory_manager`; same loop and lifetime as its EPC.

    Every method sends one call; an error value from the executor raises
    `ExecutorCallError` with its message; transport problems raise as
    `ExecutorProcessControl.call_wrapper` does.
    """

    def __init__(self, epc: ExecutorProcessControl) -> None:
        self._epc = epc

    def __repr__(self) -> str:
        return f"<EPCMemoryManager llvm={self._epc.llvm_major}>"

    @property
    def instance(self) -> int:
        """The executor's memory manager (``…_SimpleExecutorMemoryManager_Instance``)."""
        return self._epc.bootstrap_address(protocol.MEMORY_MANAGER_INSTANCE_SYMBOL)

    async def reserve(self, size: int) -> int:
        """Reserve ``size`` bytes of address space (LLVM reserves page-rounded totals); the
        base address.

        Raises:
            ExecutorCallError: the executor refused (e.g. out of memory).
        """
        return await self._epc._checked(protocol.MEMORY_RESERVE, self.instance, size)

    async def finalize(
        self,
        segments: Iterable[Segment],
        actions: Iterable[protocol.AllocActionCallPair] = (),
    ) -> int | None:
        """Copy, zero-fill and protect ``segments`` and run the finalize side of ``actions``
        (14: ``finalize``; 22: ``initialize``).

        Returns:
            LLVM 22: the key `deinitialize` takes; LLVM 14: None (its finalize has no key).

        Raises:
            ValueError: a finalize-lifetime segment for LLVM 14.
            ExecutorCallError: the executor refused (the message says why: a segment outside a
                reservation, a failing action, ...).
        """
        major = self._epc.llvm_major
        request = protocol.FinalizeRequest(
            [segment.wire_request(major) for segment in segments], list(actions)
        )
        if self._epc.llvm_protocol.memory_manager is protocol.MemoryManagerProtocol.FINALIZE:
            await self._epc._checked(protocol.MEMORY_FINALIZE, self.instance, request)
            return None
        return await self._epc._checked(protocol.MEMORY_INITIALIZE, self.instance, request)

    async def deinitialize(self, keys: Sequence[int]) -> None:
        """Undo `finalize` for ``keys`` (LLVM 22): run their dealloc actions, keep the
        reservation.

        Raises:
            MissingBootstrapSymbolError: the executor has no ``deinitialize`` (LLVM 14).
            ExecutorCallError: the executor refused.
        """
        where = self._epc.bootstrap_address(protocol.MEMORY_DEINITIALIZE.name, _NO_DEINITIALIZE)
        value = await self._epc.call_sps(
            protocol.MEMORY_DEINITIALIZE, self.instance, list(keys), address=where
        )
        _raise_failure(value, protocol.MEMORY_DEINITIALIZE.name)

    async def release(self, bases: Sequence[int]) -> None:
        """Free the reservations at ``bases`` (14: ``deallocate``; 22: ``release``), running
        the dealloc actions of what was finalized in them.

        Raises:
            ExecutorCallError: the executor refused (e.g. an unknown base).
        """
        finalize = protocol.MemoryManagerProtocol.FINALIZE
        signature = (
            protocol.MEMORY_DEALLOCATE
            if self._epc.llvm_protocol.memory_manager is finalize
            else protocol.MEMORY_RELEASE
        )
        await self._epc._checked(signature, self.instance, list(bases))


def _raise_failure(value: object, function: str) -> None:
    if isinstance(value, protocol.Failure):
        raise ExecutorCallError(value.message, function=function)


class EPCMemoryAccess(abc.ABC):
    """Batched reads and writes of executor memory. Made by
    `ExecutorProcessControl.memory_access`; same loop and lifetime as its EPC.

    Each method is one request for the whole batch. Writes take ``(address, value)`` pairs,
    reads a list of addresses (``read_buffers``: ``(address, size)`` pairs) and return the
    values in order. Integers are little-endian; pointers are 64-bit.

    Over a wire a failing write is invisible (the wrappers return nothing, and LLVM's wire
    drops out-of-band error text); a failing read raises ``actors.RemoteCallError``. In this
    process both raise.
    """

    async def write_uint8s(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Write one byte at each address."""
        await self._write_uints(1, pairs, pointers=False)

    async def write_uint16s(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Write a 16-bit integer at each address."""
        await self._write_uints(2, pairs, pointers=False)

    async def write_uint32s(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Write a 32-bit integer at each address."""
        await self._write_uints(4, pairs, pointers=False)

    async def write_uint64s(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Write a 64-bit integer at each address."""
        await self._write_uints(8, pairs, pointers=False)

    async def write_pointers(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Write a pointer at each address (LLVM 22's ``write_pointers``)."""
        await self._write_uints(8, pairs, pointers=True)

    async def write_buffers(self, pairs: Sequence[tuple[int, bytes]]) -> None:
        """Copy each buffer to its address."""
        await self._write_buffers(pairs)

    async def read_uint8s(self, addresses: Sequence[int]) -> list[int]:
        """The byte at each address."""
        return await self._read_uints(1, addresses, pointers=False)

    async def read_uint16s(self, addresses: Sequence[int]) -> list[int]:
        """The 16-bit integer at each address."""
        return await self._read_uints(2, addresses, pointers=False)

    async def read_uint32s(self, addresses: Sequence[int]) -> list[int]:
        """The 32-bit integer at each address."""
        return await self._read_uints(4, addresses, pointers=False)

    async def read_uint64s(self, addresses: Sequence[int]) -> list[int]:
        """The 64-bit integer at each address."""
        return await self._read_uints(8, addresses, pointers=False)

    async def read_pointers(self, addresses: Sequence[int]) -> list[int]:
        """The pointer at each address."""
        return await self._read_uints(8, addresses, pointers=True)

    async def read_buffers(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """The ``size`` bytes at each ``(address, size)``."""
        return await self._read_buffers(ranges)

    async def read_strings(self, addresses: Sequence[int]) -> list[str]:
        """The NUL-terminated C string at each address (UTF-8, undecodable bytes escaped)."""
        return await self._read_strings(addresses)

    @abc.abstractmethod
    async def _write_uints(
        self, width: int, pairs: Sequence[tuple[int, int]], *, pointers: bool
    ) -> None: ...

    @abc.abstractmethod
    async def _write_buffers(self, pairs: Sequence[tuple[int, bytes]]) -> None: ...

    @abc.abstractmethod
    async def _read_uints(
        self, width: int, addresses: Sequence[int], *, pointers: bool
    ) -> list[int]: ...

    @abc.abstractmethod
    async def _read_buffers(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]: ...

    @abc.abstractmethod
    async def _read_strings(self, addresses: Sequence[int]) -> list[str]: ...


_WRITES: Final[dict[tuple[int, bool], protocol.WrapperSignature[Any]]] = {
    (1, False): protocol.MEM_WRITE_UINT8S,
    (2, False): protocol.MEM_WRITE_UINT16S,
    (4, False): protocol.MEM_WRITE_UINT32S,
    (8, False): protocol.MEM_WRITE_UINT64S,
    (8, True): protocol.MEM_WRITE_POINTERS,
}
_READS: Final[dict[tuple[int, bool], protocol.WrapperSignature[Any]]] = {
    (1, False): protocol.MEM_READ_UINT8S,
    (2, False): protocol.MEM_READ_UINT16S,
    (4, False): protocol.MEM_READ_UINT32S,
    (8, False): protocol.MEM_READ_UINT64S,
    (8, True): protocol.MEM_READ_POINTERS,
}
_NO_DEINITIALIZE: Final = "LLVM 14-21's memory managers have none"
_NO_READS: Final = "LLVM 14's to 19's executors have no memory reads"


class WrapperMemoryAccess(EPCMemoryAccess):
    """Memory access through the bootstrap wrappers (LLVM's ``EPCGenericMemoryAccess``)."""

    def __init__(self, epc: ExecutorProcessControl) -> None:
        self._epc = epc

    def __repr__(self) -> str:
        return f"<WrapperMemoryAccess llvm={self._epc.llvm_major}>"

    async def _call(
        self, signature: protocol.WrapperSignature[Any], argument: object, detail: str
    ) -> Any:
        where = self._epc.bootstrap_address(signature.name, detail)
        return await self._epc.call_sps(signature, argument, address=where)

    async def _write_uints(
        self, width: int, pairs: Sequence[tuple[int, int]], *, pointers: bool
    ) -> None:
        detail = "LLVM 14's to 19's executors have no write_pointers" if pointers else ""
        await self._call(_WRITES[width, pointers], list(pairs), detail)

    async def _write_buffers(self, pairs: Sequence[tuple[int, bytes]]) -> None:
        await self._call(protocol.MEM_WRITE_BUFFERS, list(pairs), "")

    async def _read_uints(
        self, width: int, addresses: Sequence[int], *, pointers: bool
    ) -> list[int]:
        return list(await self._call(_READS[width, pointers], list(addresses), _NO_READS))

    async def _read_buffers(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        wire = [protocol.ExecutorAddrRange(start, start + size) for start, size in ranges]
        return [
            bytes(data) for data in await self._call(protocol.MEM_READ_BUFFERS, wire, _NO_READS)
        ]

    async def _read_strings(self, addresses: Sequence[int]) -> list[str]:
        return list(await self._call(protocol.MEM_READ_STRINGS, list(addresses), _NO_READS))
