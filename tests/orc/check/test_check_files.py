"""The check files of ``files/``, run by orcrt and by llvm-jitlink 14 and 22.

Each file states (``# LLVM:``) which llvm-jitlink versions agree with orcrt on it; for the
others it names the text their failure must show (``# LLVM-N-FAILS:``), so every intended
difference is pinned and a change on either side shows up. orcrt runs through the harness
(`tests.orc.check._harness`: linker core + slab + checker, no ORC session).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.orc.jitlink import CheckRule, read_check_rules
from tests.orc.check._harness import (
    FILES,
    CheckFile,
    link_session,
    run_llvm_jitlink,
    run_orcrt,
)
from tests.orc.jitlink._toolchains import VERSIONS, find_toolchain

CHECK_FILES = [CheckFile.parse(path) for path in sorted(FILES.glob("*.s"))]
IDS = [check_file.id for check_file in CHECK_FILES]


def _objects(check_file: CheckFile, assembled: dict[Path, Path]) -> list[Path]:
    return [assembled[source] for source in check_file.sources]


def _check_name(check_file: CheckFile) -> str:
    args = list(check_file.args)
    for index, word in enumerate(args):
        name, _, value = word.lstrip("-").partition("=")
        if name == "check-name":
            return value or args[index + 1]
    return "jitlink-check"


@pytest.mark.parametrize("check_file", CHECK_FILES, ids=IDS)
def test_check_file_orcrt(check_file: CheckFile, assembled: dict[Path, Path]) -> None:
    """orcrt's linker passes every rule of the file (or refuses it as the file says)."""
    run = run_orcrt(_objects(check_file, assembled), check_file.checks, check_file.args)
    if check_file.orcrt_fails is not None:
        assert run.status == 1
        assert check_file.orcrt_fails in run.stderr
    else:
        assert run.status == 0, run.stderr
        assert run.stderr == ""


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("check_file", CHECK_FILES, ids=IDS)
def test_check_file_llvm_jitlink(
    check_file: CheckFile, version: int, assembled: dict[Path, Path]
) -> None:
    """llvm-jitlink passes the files it agrees on and fails the others as documented."""
    tools = find_toolchain(version)
    if isinstance(tools, str):
        pytest.skip(tools)
    run = run_llvm_jitlink(
        tools.jitlink, _objects(check_file, assembled), check_file.checks, check_file.args, version
    )
    if version in check_file.llvm:
        assert run.status == 0, run.stderr
    else:
        expected = check_file.llvm_fails.get(version)
        assert expected is not None, f"{check_file.id}: no '# LLVM-{version}-FAILS:' line"
        assert run.status != 0
        assert expected in run.stdout + run.stderr


@pytest.mark.parametrize(
    "check_file", [f for f in CHECK_FILES if f.orcrt_fails is None], ids=lambda f: f.id
)
def test_check_file_rules_can_fail(check_file: CheckFile, assembled: dict[Path, Path]) -> None:
    """Every rule is evaluated for real: with its right side plus one, each one fails."""
    session = link_session(_objects(check_file, assembled), check_file.args)
    rules: list[CheckRule] = []
    for path in check_file.checks:
        rules += read_check_rules(
            path.read_text(), file=path.name, check_name=_check_name(check_file)
        )
    assert rules
    for rule in rules:
        left, _, right = rule.expression.partition("=")
        mutated = CheckRule(rule.file, rule.line, f"{left.strip()} = ({right.strip()})+1")
        result = session.checker.check(mutated)
        assert not result.passed, rule
        assert "is false" in (result.message or ""), result.message


def test_check_files_directives_are_complete() -> None:
    """Each file says which LLVM versions agree, and how the others fail; inputs exist."""
    assert len(CHECK_FILES) >= 20
    for check_file in CHECK_FILES:
        for version in VERSIONS:
            if version not in check_file.llvm:
                assert version in check_file.llvm_fails, (check_file.id, version)
        for path in check_file.inputs:
            assert path.is_file(), path
        assert check_file.args, check_file.id


@pytest.mark.parametrize("name", ["debug_sections", "debug_compressed", "debug_tls"])
def test_check_file_debug_sections_get_no_memory(name: str, assembled: dict[Path, Path]) -> None:
    """Debug sections are neither recorded nor given slab memory."""
    check_file = next(f for f in CHECK_FILES if f.id == name)
    session = link_session(_objects(check_file, assembled), check_file.args)
    sections = session.addresses.files[f"{name}.o"].sections
    assert ".text" in sections
    assert not any(section.startswith(".debug") for section in sections)
    for result in session.results:
        assert not any(section.startswith(".debug") for section in result.sections)
    used = sum(allocation.size for allocation in session.slab.allocations())
    assert used == sum(result.size for result in session.results)
