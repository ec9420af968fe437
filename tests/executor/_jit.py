"""Hand-assembled x86-64 code and memory-manager steps shared by the executor tests.

The executor runs whatever the controller puts into executable memory, so these tests write a
few bytes of machine code (System V ABI) instead of needing a compiler or LLVM.
"""

from __future__ import annotations

import mmap
import platform
import struct

import pytest

import protocol
from actors.testing._wire import WireController
from protocol import FinalizeRequest, SegmentFinalizeRequest

PAGE = mmap.PAGESIZE
R = int(protocol.MemProt.READ)
RW = int(protocol.MemProt.READ | protocol.MemProt.WRITE)
RX = int(protocol.MemProt.READ | protocol.MemProt.EXEC)

requires_x86_64 = pytest.mark.skipif(
    platform.machine() != "x86_64", reason="hand-assembled x86-64 machine code"
)


def _imm64(value: int) -> bytes:
    return struct.pack("<Q", value)


def return_int(value: int) -> bytes:
    """``int f(void) { return value; }``: mov eax, imm32; ret."""
    return b"\xb8" + struct.pack("<i", value) + b"\xc3"


RETURN_ARGC = b"\x89\xf8\xc3"
"""``int main(int argc, char **argv) { return argc; }``: mov eax, edi; ret."""

INCREMENT = b"\x8d\x47\x01\xc3"
"""``int f(int x) { return x + 1; }``: lea eax, [rdi+1]; ret."""


def wrapper_returning(data: bytes) -> bytes:
    """A wrapper-ABI function whose CWrapperFunctionResult is ``data`` inline (<= 4 bytes).

    mov eax, imm32 (the bytes, zero-padded; zero-extends into rax = Data); mov edx, len (Size); ret.
    """
    assert len(data) <= 4
    return b"\xb8" + data.ljust(4, b"\0") + b"\xba" + struct.pack("<I", len(data)) + b"\xc3"


def store_byte(address: int, value: int) -> bytes:
    """A wrapper-ABI function storing ``value`` at ``address`` and returning an empty result.

    movabs rax, address; mov byte [rax], value; xor eax, eax; xor edx, edx; ret.
    """
    return b"\x48\xb8" + _imm64(address) + b"\xc6\x00" + bytes([value]) + b"\x31\xc0\x31\xd2\xc3"


def load_byte(address: int) -> bytes:
    """``int f(void) { return *(unsigned char *)address; }``: movabs rax; movzx eax, [rax]; ret."""
    return b"\x48\xb8" + _imm64(address) + b"\x0f\xb6\x00\xc3"


def dispatch_caller(ctx: int, fn: int, tag: int, data: int, size: int) -> bytes:
    """``main`` calling the executor's ``dispatch_fn(ctx, tag, data, size)`` (§8).

    Returns ``Size << 8 | first result byte`` (the byte is inline for Size <= 8, else read
    through the malloc'ed pointer, which is left to the executor process: a test-sized leak).
    """
    return b"".join(
        (
            b"\x48\x83\xec\x08",  # sub rsp, 8: 16-byte stack alignment at the call
            b"\x48\xbf" + _imm64(ctx),  # movabs rdi, ctx
            b"\x48\xbe" + _imm64(tag),  # movabs rsi, tag
            b"\x48\xba" + _imm64(data),  # movabs rdx, data
            b"\xb9" + struct.pack("<I", size),  # mov ecx, size
            b"\x48\xb8" + _imm64(fn),  # movabs rax, fn
            b"\xff\xd0",  # call rax            -> rax = Data, rdx = Size
            b"\x48\x83\xfa\x08",  # cmp rdx, 8
            b"\x76\x05",  # jbe inline
            b"\x0f\xb6\x00",  # movzx eax, byte [rax]   (out of line)
            b"\xeb\x03",  # jmp done
            b"\x0f\xb6\xc0",  # inline: movzx eax, al
            b"\xc1\xe2\x08",  # done: shl edx, 8
            b"\x09\xd0",  # or eax, edx
            b"\x48\x83\xc4\x08",  # add rsp, 8
            b"\xc3",  # ret
        )
    )


def memory_instance(wc: WireController) -> int:
    """The memory manager's ``Inst`` from the Setup."""
    return wc.address(protocol.MEMORY_MANAGER_INSTANCE_SYMBOL)


async def reserve(wc: WireController, size: int) -> int:
    """Reserve ``size`` bytes; the base address (fails the test on an error value)."""
    base = await wc.call_sps(protocol.MEMORY_RESERVE, memory_instance(wc), size)
    assert isinstance(base, int), base
    return base


async def finalize(
    wc: WireController, segments: list[SegmentFinalizeRequest]
) -> protocol.Failure | int:
    """Finalize (14) or initialize (22) ``segments`` without actions.

    Returns the init key (22), the first segment's address (14, whose finalize is keyed by the
    allocation base), or the error value.
    """
    request = FinalizeRequest(segments, [])
    if wc.llvm_major == 14:
        error = await wc.call_sps(protocol.MEMORY_FINALIZE, memory_instance(wc), request)
        return segments[0].addr if error is None else error
    return await wc.call_sps(protocol.MEMORY_INITIALIZE, memory_instance(wc), request)


async def load_code(wc: WireController, code: bytes, *, extra: bytes = b"") -> int:
    """Put ``code`` (then ``extra``) into a fresh R-X page of this session; its address."""
    base = await reserve(wc, PAGE)
    outcome = await finalize(wc, [SegmentFinalizeRequest(RX, base, PAGE, code + extra)])
    assert outcome == base, outcome
    return base


async def run_main(wc: WireController, address: int, args: tuple[str, ...] = ()) -> int:
    """run_as_main(address, args); main's return value (fails the test on an empty result)."""
    return await wc.call_sps(protocol.RUN_AS_MAIN, address, list(args))


async def peek(wc: WireController, address: int, size: int) -> bytes:
    """Read ``size`` bytes of executor memory: mem_read (22), or JIT'd loads (14 has no reads)."""
    if wc.llvm_major == 22:
        (data,) = await wc.call_sps(
            protocol.MEM_READ_BUFFERS, [protocol.ExecutorAddrRange(address, address + size)]
        )
        return bytes(data)
    step = len(load_byte(0))
    loaders = await load_code(wc, b"".join(load_byte(address + i) for i in range(size)))
    return bytes([await run_main(wc, loaders + i * step) & 0xFF for i in range(size)])


async def load_dispatching_main(wire: WireController, tag: int, args: bytes) -> int:
    """Load a ``main`` that dispatches ``args`` (stored right after the code) to ``tag``."""
    ctx = wire.address(protocol.DISPATCH_CTX_SYMBOL)
    fn = wire.address(protocol.DISPATCH_FN_SYMBOL)
    base = await reserve(wire, PAGE)
    code = dispatch_caller(ctx, fn, tag, base + _DISPATCH_CODE_SIZE, len(args))
    assert await finalize(wire, [SegmentFinalizeRequest(RX, base, PAGE, code + args)]) == base
    return base


_DISPATCH_CODE_SIZE = len(dispatch_caller(0, 0, 0, 0, 0))
