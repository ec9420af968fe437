"""eh-frame registration with libgcc, checked through libgcc's own FDE lookup."""

import ctypes
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

import native
from native import EhFrameError, EhFrameRegistrar

PAGE = native.page_size()
REGION = 16 * PAGE
FRAME_OFFSET = REGION // 2


class DwarfEhBases(ctypes.Structure):
    _fields_ = (("tbase", ctypes.c_void_p), ("dbase", ctypes.c_void_p), ("func", ctypes.c_void_p))


_find_fde = ctypes.CDLL("libgcc_s.so.1")._Unwind_Find_FDE
_find_fde.restype = ctypes.c_void_p
_find_fde.argtypes = (ctypes.c_void_p, ctypes.POINTER(DwarfEhBases))


_deregister_frame = ctypes.CDLL("libgcc_s.so.1")["__deregister_frame"]
_deregister_frame.restype = ctypes.c_void_p
_deregister_frame.argtypes = (ctypes.c_void_p,)


def find_fde(pc: int) -> int | None:
    """libgcc's answer for `pc`: the start of the function whose FDE covers it, or None."""
    bases = DwarfEhBases()
    if not _find_fde(pc, ctypes.byref(bases)):
        return None
    return int(bases.func)


def elf_section_and_symbol(path: Path, section: str, symbol: str) -> tuple[int, bytes, int]:
    """(address, bytes) of an ELF64 section and a .dynsym symbol's address."""
    data = path.read_bytes()
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    headers = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names_offset = headers[shstrndx][4]

    def name_at(table: int, offset: int) -> str:
        end = data.index(b"\0", table + offset)
        return data[table + offset : end].decode()

    by_name = {name_at(names_offset, h[0]): h for h in headers}
    frame = by_name[section]
    dynsym, dynstr = by_name[".dynsym"], by_name[".dynstr"]
    for offset in range(dynsym[4], dynsym[4] + dynsym[5], 24):
        st_name, _info, _other, _shndx, st_value, _size = struct.unpack_from(
            "<IBBHQQ", data, offset
        )
        if name_at(dynstr[4], st_name) == symbol:
            return frame[3], data[frame[4] : frame[4] + frame[5]], st_value
    raise AssertionError(f"{symbol} not in {path}")


@pytest.fixture
def copied_frame(ehlib_path: Path) -> Iterator[tuple[int, int, int]]:
    """A real .eh_frame copied into anonymous memory: (address, size, function start).

    The FDEs use pc-relative pointers, so the copy describes code at the same distance from
    the copy as in the library: inside our own anonymous region, where no loaded module's
    unwind tables reach.
    """
    section_address, section, function = elf_section_and_symbol(
        ehlib_path, ".eh_frame", "eh_scaled"
    )
    assert section.endswith(b"\0\0\0\0")  # the zero terminator is part of the section
    distance = section_address - function
    assert 0 < distance < FRAME_OFFSET
    base = native.map_anonymous(REGION)
    frame = base + FRAME_OFFSET
    native.write(frame, section)
    yield frame, len(section), frame - distance
    native.unmap(base, REGION)


def test_ehframe_registration_makes_fdes_findable(copied_frame: tuple[int, int, int]) -> None:
    """After registering, libgcc finds the FDE for a pc in the function; not after deregistering."""
    frame, size, function = copied_frame
    assert find_fde(function + 1) is None
    registrar = EhFrameRegistrar()
    registrar.register_eh_frame(frame, size)
    assert registrar.registered() == (frame,)
    assert find_fde(function + 1) == function
    registrar.deregister_eh_frame(frame)
    assert find_fde(function + 1) is None
    assert registrar.registered() == ()


def test_ehframe_close_deregisters_everything(copied_frame: tuple[int, int, int]) -> None:
    """close deregisters what is still registered and is idempotent."""
    frame, size, function = copied_frame
    registrar = EhFrameRegistrar()
    registrar.register_eh_frame(frame, size)
    registrar.close()
    registrar.close()
    assert find_fde(function + 1) is None
    assert "registered=0" in repr(registrar)


def test_ehframe_double_registration_and_unknown_deregistration_are_refused(
    copied_frame: tuple[int, int, int],
) -> None:
    """Registering twice or deregistering an unknown section raises (libgcc would abort)."""
    frame, size, _ = copied_frame
    registrar = EhFrameRegistrar()
    registrar.register_eh_frame(frame, size)
    with pytest.raises(EhFrameError, match="already registered"):
        registrar.register_eh_frame(frame, size)
    with pytest.raises(EhFrameError, match=f"{frame + 8:#x} is not registered") as info:
        registrar.deregister_eh_frame(frame + 8)
    assert info.value.address == frame + 8
    registrar.close()


def test_ehframe_malformed_sections_are_refused(copied_frame: tuple[int, int, int]) -> None:
    """Unreadable memory, a missing terminator, or a non-CIE start is refused before libgcc."""
    frame, size, function = copied_frame
    registrar = EhFrameRegistrar()
    with pytest.raises(EhFrameError, match="no zero terminator"):
        registrar.register_eh_frame(frame, size - 4)
    with pytest.raises(EhFrameError, match="cannot read 0x1000"):
        registrar.register_eh_frame(0x1000, 64)
    with pytest.raises(EhFrameError, match="not between 4 and"):
        registrar.register_eh_frame(frame, 2)
    cie_length = int.from_bytes(native.read(frame, 4), "little")
    with pytest.raises(EhFrameError, match="does not start with a CIE"):
        registrar.register_eh_frame(frame + 4 + cie_length, size - 4 - cie_length)
    native.write(frame, (size * 2).to_bytes(4, "little"))
    with pytest.raises(EhFrameError, match="runs past the end"):
        registrar.register_eh_frame(frame, size)
    assert registrar.registered() == ()
    assert find_fde(function + 1) is None


def test_ehframe_deregistration_after_unmap_fails_cleanly(ehlib_path: Path) -> None:
    """A section whose memory is gone is not handed to libgcc (which would fault)."""
    _, section, _ = elf_section_and_symbol(ehlib_path, ".eh_frame", "eh_scaled")
    base = native.map_anonymous(REGION)
    native.write(base + FRAME_OFFSET, section)
    registrar = EhFrameRegistrar()
    registrar.register_eh_frame(base + FRAME_OFFSET, len(section))
    native.protect(base, REGION, 0)  # inaccessible, but still mapped (libgcc keeps a pointer)
    try:
        with pytest.raises(EhFrameError, match="freed before deregistration"):
            registrar.deregister_eh_frame(base + FRAME_OFFSET)
        assert registrar.registered() == ()
    finally:
        # libgcc still holds the section: make it readable and withdraw it, or a later
        # unwinder lookup in this process would read the inaccessible page.
        native.protect(base, REGION, native.PROT_READ | native.PROT_WRITE)
        _deregister_frame(base + FRAME_OFFSET)
        native.unmap(base, REGION)
