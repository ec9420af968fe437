"""The three packages depend in one direction only: actors -> protocol, native."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "protocol": {"actors", "native", "asyncio", "socket", "threading", "ctypes", "time", "logging"},
    "native": {"actors", "protocol", "asyncio"},
    # The JIT linker's pure core: bytes in, bytes out (architecture.md, "The controller half").
    "actors/orc/jitlink": {"asyncio", "socket", "threading", "ctypes", "native", "concurrent"},
}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layering_package_imports_only_what_it_may(package: str) -> None:
    """protocol/ stays sans-IO and pure; native/ never reaches up into actors/ or protocol/."""
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = _imported_roots(path) & FORBIDDEN[package]
        if bad:
            offenders.append(f"{path.relative_to(ROOT)}: {sorted(bad)}")
    assert offenders == []


def test_layering_controller_uses_only_public_names() -> None:
    """actors/orc meets the executor only through public names (issue #8: its own package)."""
    offenders = []
    for path in sorted((ROOT / "actors" / "orc").rglob("*.py")):
        depth = len(path.relative_to(ROOT / "actors" / "orc").parts) - 1
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level == 0:
                    names = [node.module or ""]
                elif node.level > depth + 1:  # climbs out of actors/orc into actors/
                    names = ["actors." + (node.module or "_")]
            for name in names:
                parts = name.split(".")
                inside = parts[:2] == ["actors", "orc"]
                private = any(part.startswith("_") for part in parts[1:])
                if parts[0] in {"actors", "protocol", "native"} and not inside and private:
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []
