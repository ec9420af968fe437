"""Static archives: `read_archive` (members, symbol index, long names), and
StaticLibraryDefinitionGenerator adding only the members a lookup needs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from actors.orc import StaticLibraryDefinitionGenerator
from actors.orc.jitlink import ObjectFormatError, is_archive, read_archive
from tests.orc.jitlink._toolchains import find_toolchain

from . import _objects as src
from .conftest import Assemble, open_harness

LONG_NAME = "a_member_name_longer_than_sixteen_characters.o"


def _llvm_ar() -> Path:
    tools = find_toolchain(22)
    if isinstance(tools, str):
        pytest.skip(tools)
    return tools.clang.parent / "llvm-ar"


def _archive(directory: Path, members: dict[str, bytes], *, index: bool = True) -> bytes:
    """``llvm-ar rcs`` (or ``rcS``: no symbol index) of ``members``, in order."""
    paths = []
    for name, data in members.items():
        path = directory / name
        path.write_bytes(data)
        paths.append(path.name)
    output = directory / "lib.a"
    output.unlink(missing_ok=True)
    flags = "rcs" if index else "rcS"
    subprocess.run([str(_llvm_ar()), flags, str(output), *paths], check=True, cwd=directory)
    return output.read_bytes()


@pytest.mark.parametrize("index", [True, False], ids=["index", "no-index"])
def test_archive_members_and_symbol_index(assemble: Assemble, tmp_path: Path, index: bool) -> None:
    """Members keep their (long) names and bytes; every global symbol maps to its member,
    from the archive's index or, without one, from the members' symbol tables."""
    lib, weak = assemble(src.LIB), assemble(src.WEAK_ONE)
    data = _archive(tmp_path, {LONG_NAME: lib, "weak.o": weak}, index=index)
    assert is_archive(data)
    archive = read_archive(data, "lib.a")
    assert [(m.name, m.data) for m in archive.members] == [(LONG_NAME, lib), ("weak.o", weak)]
    first, second = archive.members
    assert dict(archive.symbols) == {
        "lib_add1": first.offset,
        "lib_value": first.offset,
        "pick": second.offset,
    }
    assert archive.object_name(first) == f"lib.a({LONG_NAME})"


def test_archive_bad_inputs_are_refused_naming_the_file(assemble: Assemble, tmp_path: Path) -> None:
    data = _archive(tmp_path, {"lib.o": assemble(src.LIB)})
    cases = {
        b"not an archive": "not an archive",
        b"!<thin>\n": "thin archives are not supported",
        data[:-7]: "truncated",
        data[:8] + b"x" * 60: "bad member header",
    }
    for bad, says in cases.items():
        with pytest.raises(ObjectFormatError, match=rf"^lib\.a: .*{says}"):
            read_archive(bad, "lib.a")


@pytest.mark.asyncio
async def test_archive_generator_adds_only_the_members_needed(
    assemble: Assemble, tmp_path: Path
) -> None:
    """main needs lib_add1 and lib_value: only their member is added and linked (one
    reservation); the other member stays out; each member is added once."""
    data = _archive(tmp_path, {"lib.o": assemble(src.LIB), "unused.o": assemble(src.DUP)})
    async with open_harness() as h:
        generator = StaticLibraryDefinitionGenerator.from_bytes(h.layer, data, "lib.a")
        await h.main.add_generator(generator)
        await h.layer.add(h.main, assemble(src.MAIN_USES_LIB), "main.o")
        assert await h.run_main() == 42
        assert len(h.memory.reserved) == 2
        assert "added=1" in repr(generator)
        dump = await h.main.dump()
        assert '"lib_value"' in dump
        assert '"dup"' not in dump
