"""Bad inputs: each is refused with one line that names the file and what is wrong.

Real objects where a tool can make them (llvm-mc for other architectures and for sections,
relocations and symbols clang never emits; ld.lld for a shared object; clang for TLS), and
byte-patched copies of a good object for the malformations no tool produces.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from actors.orc.jitlink import (
    FixupOverflowError,
    JITLinkError,
    LayoutError,
    ObjectFormatError,
    UnresolvedSymbolsError,
    default_passes,
    link,
    object_interface,
    read_object,
)
from tests.orc.jitlink._toolchains import Assemble, Objects, find_toolchain

BASE = 0x7F00_0000_0000

_GOOD = """
        .text
        .globl main
        .type main,@function
main:   leaq data(%rip), %rax
        callq ext
        retq
        .data
        .globl data
data:   .quad 7
"""


def _one_line(error: BaseException, name: str) -> str:
    text = str(error)
    assert "\n" not in text
    assert name in text
    return text


def _refused(data: bytes, name: str = "bad.o", *, file_level: bool = True) -> str:
    """read_object refuses `data` with a one-line error starting with the file name; for a
    file-level problem object_interface (which reads no relocations) refuses it the same way."""
    with pytest.raises(ObjectFormatError) as caught:
        read_object(data, name)
    text = _one_line(caught.value, name)
    assert text.startswith(f"{name}: ")
    assert caught.value.file == name
    if file_level:
        with pytest.raises(ObjectFormatError) as again:
            object_interface(data, name)
        assert str(again.value) == text
    return text


# -- byte patching of section headers, symbols and relocations ----------------------------------

_SHDR = struct.Struct("<IIQQQQIIQQ")


def _headers(data: bytes) -> list[tuple[int, list[int]]]:
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    (count,) = struct.unpack_from("<H", data, 0x3C)
    return [(shoff + 64 * i, list(_SHDR.unpack_from(data, shoff + 64 * i))) for i in range(count)]


def _section(data: bytes, type_: int) -> tuple[int, list[int]]:
    return next(h for h in _headers(data) if h[1][1] == type_)


def _patch_header(data: bytes, type_: int, field: int, value: int) -> bytes:
    offset, header = _section(data, type_)
    header[field] = value
    out = bytearray(data)
    _SHDR.pack_into(out, offset, *header)
    return bytes(out)


_SHT_SYMTAB, _SHT_RELA, _SHT_REL = 2, 4, 9
_F_TYPE, _F_OFFSET, _F_SIZE, _F_LINK, _F_INFO = 1, 4, 5, 6, 7


def test_bad_inputs_not_elf() -> None:
    """Anything without the ELF magic, including nothing at all."""
    assert "not an ELF file" in _refused(b"#!/bin/sh\necho hi\n")
    assert "not an ELF file" in _refused(b"")


def test_bad_inputs_truncated(objects: Objects) -> None:
    """Cut short: inside the header, and before the section header table ends."""
    data = objects.get("libm.c", "O2").read_bytes()
    assert "truncated" in _refused(data[:40])
    assert "truncated" in _refused(data[:-10])
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    assert "truncated" in _refused(data[:shoff])


def test_bad_inputs_section_past_end_of_file(objects: Objects) -> None:
    """A section whose contents would run past the file."""
    data = objects.get("libm.c", "O2").read_bytes()
    offset, header = next(h for h in _headers(data) if h[1][1] == 1 and h[1][5])  # PROGBITS
    header[_F_SIZE] = len(data)
    patched = bytearray(data)
    _SHDR.pack_into(patched, offset, *header)
    assert "truncated" in _refused(bytes(patched))


def test_bad_inputs_other_architectures(assemble: Assemble) -> None:
    """32-bit x86, AArch64 and big-endian PowerPC objects are refused, each saying why."""
    assert "ELFCLASS32" in _refused(assemble("nop\n", "i386-pc-linux-gnu"))
    assert "EM_AARCH64" in _refused(assemble("nop\n", "aarch64-linux-gnu"))
    assert "big-endian" in _refused(assemble("nop\n", "powerpc64-linux-gnu"))


def test_bad_inputs_not_relocatable(assemble: Assemble, tmp_path: Path) -> None:
    """A shared object (ET_DYN) cannot be JIT-linked."""
    tools = find_toolchain(22)
    assert not isinstance(tools, str)
    obj, lib = tmp_path / "n.o", tmp_path / "libn.so"
    obj.write_bytes(assemble("nop\n"))
    lld = tools.clang.parent / "ld.lld"
    subprocess.run([str(lld), "-shared", str(obj), "-o", str(lib)], check=True, timeout=60)
    assert "not a relocatable object (ET_DYN)" in _refused(lib.read_bytes(), "libn.so")


def test_bad_inputs_sht_rel_section(assemble: Assemble) -> None:
    """SHT_REL (implicit addends) is never valid for x86-64 here."""
    data = _patch_header(assemble(_GOOD), _SHT_RELA, _F_TYPE, _SHT_REL)
    assert "SHT_REL" in _refused(data)


def test_bad_inputs_symbol_table_count(assemble: Assemble) -> None:
    """No symbol table at all."""
    data = _patch_header(assemble(_GOOD), _SHT_SYMTAB, _F_TYPE, 1)
    assert "0 SHT_SYMTAB sections" in _refused(data)


def test_bad_inputs_bad_section_indices(assemble: Assemble) -> None:
    """A relocation section for a section that does not exist, a symbol table linked to a
    missing string table, and a symbol in a section past the table."""
    good = assemble(_GOOD)
    assert "does not exist" in _refused(_patch_header(good, _SHT_RELA, _F_INFO, 999))
    assert "does not exist" in _refused(_patch_header(good, _SHT_SYMTAB, _F_LINK, 999))
    _, header = _section(good, _SHT_SYMTAB)
    patched = bytearray(good)
    # the last symbol is a global defined in a section: point it past the section table
    last = header[_F_OFFSET] + header[_F_SIZE] - 24
    struct.pack_into("<H", patched, last + 6, 0x7000)
    assert "past the" in _refused(bytes(patched))


def test_bad_inputs_relocation_symbol_index_out_of_range(assemble: Assemble) -> None:
    """A relocation naming a symbol past the symbol table."""
    good = assemble(_GOOD)
    _, rela = _section(good, _SHT_RELA)
    patched = bytearray(good)
    (info,) = struct.unpack_from("<Q", patched, rela[_F_OFFSET] + 8)
    struct.pack_into("<Q", patched, rela[_F_OFFSET] + 8, (9999 << 32) | (info & 0xFFFFFFFF))
    assert "symbol index 9999" in _refused(bytes(patched), file_level=False)


def test_bad_inputs_unknown_and_unsupported_relocation_types(assemble: Assemble) -> None:
    """A type number no psABI defines, and known types the linker does not support."""
    good = assemble(_GOOD)
    _, rela = _section(good, _SHT_RELA)
    patched = bytearray(good)
    (info,) = struct.unpack_from("<Q", patched, rela[_F_OFFSET] + 8)
    struct.pack_into("<Q", patched, rela[_F_OFFSET] + 8, (info >> 32 << 32) | 200)
    assert "unknown relocation type 200" in _refused(bytes(patched), file_level=False)
    for name in ("R_X86_64_TPOFF64", "R_X86_64_GOT32", "R_X86_64_PLTOFF64", "R_X86_64_TLSDESC"):
        data = assemble(f".data\nx: .reloc x, {name}, y\n.quad 0\n")
        text = _refused(data, file_level=False)
        assert f"unsupported relocation type {name}" in text
        assert ".data+0x0 against 'y'" in text


def test_bad_inputs_relocation_outside_its_section(assemble: Assemble) -> None:
    """A relocation whose field ends past the section it patches."""
    good = assemble(_GOOD)
    _, rela = _section(good, _SHT_RELA)
    patched = bytearray(good)
    struct.pack_into("<Q", patched, rela[_F_OFFSET], 0x10000)
    assert "outside the" in _refused(bytes(patched), file_level=False)


def test_bad_inputs_symbol_past_the_end_of_its_section(assemble: Assemble) -> None:
    """A symbol whose value + size runs past its section (LLVM 22 checks this too)."""
    text = _refused(assemble(".globl x\n.data\nx: .quad 1\n.size x, 64\n"), file_level=False)
    assert "symbol" in text
    assert "(x) at 0x0 (size 0x40) extends 0x38 bytes past the end of section .data" in text


def test_bad_inputs_ifunc_symbol(assemble: Assemble) -> None:
    """STT_GNU_IFUNC needs a resolver call at load time; refused by name."""
    text = _refused(assemble(".text\n.globl f\n.type f,@gnu_indirect_function\nf: ret\n"))
    assert "(f) is STT_GNU_IFUNC" in text


def test_bad_inputs_section_too_large(assemble: Assemble) -> None:
    """A 2.25 GiB .bss cannot stay within the small code model's reach."""
    text = _refused(assemble(".bss\n.zero 0x90000000\n"), file_level=False)
    assert ".bss is too large" in text


def test_bad_inputs_graph_too_large(assemble: Assemble) -> None:
    """Two 1.25 GiB sections are each allowed, but not together in one graph."""
    data = assemble(
        ".globl a\n.bss\na: .zero 0x50000000\n"
        '.globl b\n.section .lbss,"aw",@nobits\nb: .zero 0x50000000\n'
    )
    with pytest.raises(LayoutError) as caught:
        link(read_object(data, "huge.o"), base=BASE, resolve={})
    assert "huge.o: graph needs more than 0x80000000 bytes" in _one_line(caught.value, "huge.o")


def test_bad_inputs_alignment_above_page_size(assemble: Assemble) -> None:
    """A block aligned to 8192 cannot be placed in 4 KiB pages."""
    data = assemble(".globl x\n.data\n.p2align 13\nx: .quad 1\n")
    with pytest.raises(LayoutError) as caught:
        link(read_object(data, "aligned.o"), base=BASE, resolve={})
    text = _one_line(caught.value, "aligned.o")
    assert "segment alignment greater than page size" in text
    assert "8192" in text


def test_bad_inputs_pc32_overflow_names_symbol_type_and_value(assemble: Assemble) -> None:
    """A PC32 reference to a symbol more than 2 GiB away fails, naming all of it."""
    data = assemble(".globl main\n.text\nmain: leaq far_away(%rip), %rax\nretq\n")
    with pytest.raises(FixupOverflowError) as caught:
        link(read_object(data, "far.o"), base=BASE, resolve={"far_away": BASE + (5 << 30)})
    text = _one_line(caught.value, "far.o")
    value = (BASE + (5 << 30)) - 4 - (BASE + 3)
    assert caught.value.symbol == "far_away"
    assert caught.value.relocation == "R_X86_64_PC32"
    assert caught.value.value == value
    assert f"value {value:#x} does not fit a signed 32-bit field" in text
    assert "main+0x3" in text


def test_bad_inputs_missing_symbols_are_all_named(assemble: Assemble) -> None:
    """Every missing strong symbol is named at once, sorted."""
    data = assemble(".globl main\n.text\nmain: call zeta\ncall alpha\nret\n")
    with pytest.raises(UnresolvedSymbolsError) as caught:
        link(read_object(data, "undef.o"), base=BASE, resolve={})
    assert str(caught.value) == "undef.o: symbols not found: [ alpha, zeta ]"
    assert caught.value.names == ("alpha", "zeta")


def test_bad_inputs_tls_is_refused(objects: Objects) -> None:
    """TLS models without support fail at read (TLSLD under -fPIC, TPOFF32 in PIE), naming
    the type and the file."""
    for variant, relocation in (("O0-pic", "R_X86_64_TLSLD"), ("O2", "R_X86_64_TPOFF32")):
        path = objects.get("tls.c", variant)
        text = _refused(path.read_bytes(), path.name, file_level=False)
        assert f"unsupported relocation type {relocation}" in text


def test_bad_inputs_tlsgd_needs_a_tls_runtime(assemble: Assemble) -> None:
    """General-dynamic TLS (TLSGD) links only when a TLS runtime serves it: otherwise the link
    fails naming the variable; with one, the access goes to a 16-byte TLS info entry."""
    source = (
        ".globl main\n.text\nmain:\n.byte 0x66\nleaq tvar@TLSGD(%rip), %rdi\n"
        ".word 0x6666\nrex64 call __tls_get_addr@PLT\nret\n"
        '.globl tvar\n.section .tdata,"awT",@progbits\ntvar: .long 3\n'
    )
    data = assemble(source)
    with pytest.raises(ObjectFormatError) as caught:
        link(read_object(data, "tls.o"), base=BASE, resolve={"__tls_get_addr": BASE + 0x10000})
    text = _one_line(caught.value, "tls.o")
    assert "thread-local variable 'tvar'" in text
    assert "R_X86_64_TLSGD" in text
    graph = read_object(data, "tls.o")
    result = link(
        graph,
        base=BASE,
        resolve={"__tls_get_addr": BASE + 0x10000},
        passes=default_passes(tls_runtime=True),
    )
    ((variable, entry),) = graph.tlsinfo_entries.items()
    assert variable.name == "tvar"
    assert ".tdata" in result.sections
    assert entry.block is not None
    assert entry.block.size == 16


def test_bad_inputs_malformed_eh_frame(assemble: Assemble) -> None:
    """A CIE with a version other than 1 fails the eh-frame pass, naming the record."""
    data = bytearray(assemble(".text\n.globl f\nf:\n.cfi_startproc\nret\n.cfi_endproc\n"))
    offset, header = next(h for h in _headers(bytes(data)) if h[1][1] == 0x70000001)
    data[header[_F_OFFSET] + 8] = 9  # the version byte of the first CIE
    with pytest.raises(ObjectFormatError) as caught:
        link(read_object(bytes(data), "eh.o"), base=BASE, resolve={})
    assert "eh.o: .eh_frame+0x0 (CIE): bad CIE version 9" in _one_line(caught.value, "eh.o")
    assert offset > 0


def test_bad_inputs_errors_share_one_base() -> None:
    """Every linker error is a JITLinkError, so a driver can catch them all at once."""
    for error in (ObjectFormatError, FixupOverflowError, LayoutError, UnresolvedSymbolsError):
        assert issubclass(error, JITLinkError)
