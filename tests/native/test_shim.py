"""The shim loader: found next to the package, version-checked, clear errors otherwise."""

import shutil
import subprocess
from pathlib import Path

import pytest

import native
from native import LibraryLoadError
from native._shim import SHIM_ABI_VERSION, load_shim_from, shim_path


def test_shim_loads_once_with_the_expected_version() -> None:
    """load_shim finds the built library next to the package and caches it."""
    shim = native.load_shim()
    assert shim is native.load_shim()
    assert shim.path == shim_path()
    assert shim.path is not None
    assert shim.path.parent == Path(native.__file__).resolve().parent
    assert shim.dispatch_fn_address != 0


def test_shim_missing_says_how_to_build_it() -> None:
    """Without a built shim the error tells the user to run pip install."""
    with pytest.raises(LibraryLoadError, match=r"native shim not built: run pip install \."):
        load_shim_from(None)


def test_shim_from_another_library_is_refused(ehlib_path: Path) -> None:
    """A library that is not the shim is named and refused."""
    with pytest.raises(LibraryLoadError, match="is not an orcrt native shim") as info:
        load_shim_from(ehlib_path)
    assert info.value.path == str(ehlib_path)


def test_shim_with_another_abi_version_is_refused(tmp_path: Path) -> None:
    """A stale shim with a different ABI version is refused with a rebuild hint."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed")
    source = tmp_path / "stale.c"
    source.write_text("unsigned orcrt_shim_abi_version(void) { return 999; }\n")
    library = tmp_path / "libstale.so"
    subprocess.run(
        [gcc, "-shared", "-fPIC", "-o", str(library), str(source)], check=True, timeout=60
    )
    with pytest.raises(LibraryLoadError, match=f"ABI version 999, expected {SHIM_ABI_VERSION}"):
        load_shim_from(library)


def test_shim_unloadable_file_is_refused(tmp_path: Path) -> None:
    """A file that dlopen rejects gives a LibraryLoadError with the OSError as cause."""
    bogus = tmp_path / "bogus.so"
    bogus.write_bytes(b"not a library")
    with pytest.raises(LibraryLoadError, match="cannot be loaded") as info:
        load_shim_from(bogus)
    assert isinstance(info.value.__cause__, OSError)
