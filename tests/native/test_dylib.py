"""DylibManager with real dlopen/dlsym."""

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import native
from native import DylibManager, LibraryLoadError, SymbolNotFoundError


@pytest.fixture
def manager() -> Iterator[DylibManager]:
    dylibs = DylibManager()
    yield dylibs
    dylibs.close()


def test_dylib_process_handle_finds_libc_symbols(manager: DylibManager) -> None:
    """open("") is the process: puts and malloc resolve to their libc addresses."""
    handle = manager.open("")
    puts = manager.lookup(handle, "puts")
    assert puts is not None
    assert manager.lookup(handle, "malloc") is not None
    assert manager.open("") == handle  # dlopen(NULL) is one handle
    assert manager.require(handle, "puts") == puts


def test_dylib_missing_symbol_is_none(manager: DylibManager) -> None:
    """A name that is not defined resolves to None; empty or NUL names too."""
    handle = manager.open("")
    assert manager.lookup(handle, "this_function_does_not_exist") is None
    assert manager.lookup(handle, "") is None
    assert manager.lookup(handle, "pu\0ts") is None


def test_dylib_require_missing_symbol_raises(manager: DylibManager) -> None:
    """A required symbol that is missing raises with LLVM 14's message."""
    handle = manager.open("")
    with pytest.raises(SymbolNotFoundError) as info:
        manager.require(handle, "this_function_does_not_exist")
    assert str(info.value) == "Missing definition for this_function_does_not_exist"
    assert info.value.name == "this_function_does_not_exist"


def test_dylib_open_library_path(manager: DylibManager, testlib_path: Path) -> None:
    """A library opened by path resolves its own symbols, through its handle and globally."""
    handle = manager.open(str(testlib_path))
    assert manager.lookup(handle, "echo_wrapper") is not None
    assert manager.lookup(handle, "echo_wrapper") == manager.lookup(
        manager.open(""), "echo_wrapper"
    )


def test_dylib_bad_path_raises_with_dlerror(manager: DylibManager, tmp_path: Path) -> None:
    """A library that cannot be loaded raises LibraryLoadError naming the path."""
    missing = tmp_path / "libmissing.so"
    with pytest.raises(LibraryLoadError, match=r"libmissing\.so") as info:
        manager.open(str(missing))
    assert info.value.path == str(missing)
    not_elf = tmp_path / "notelf.so"
    not_elf.write_bytes(b"plain text")
    with pytest.raises(LibraryLoadError, match="open: "):
        manager.open(str(not_elf))


def test_dylib_nonzero_mode_is_refused(manager: DylibManager) -> None:
    """Mode bits are not supported, with LLVM's message."""
    with pytest.raises(LibraryLoadError) as info:
        manager.open("", 1)
    assert str(info.value) == "open: non-zero mode bits not yet supported"


def test_dylib_unknown_handle_is_refused(manager: DylibManager) -> None:
    """lookup on a handle this manager did not return raises instead of crashing in dlsym."""
    with pytest.raises(native.NativeError, match="unknown dylib handle 0x1234"):
        manager.lookup(0x1234, "puts")


def test_dylib_close_is_idempotent_and_final(testlib_path: Path) -> None:
    """close drops every handle; later use is a RuntimeError."""
    dylibs = DylibManager()
    handle = dylibs.open(str(testlib_path))
    dylibs.close()
    dylibs.close()
    with pytest.raises(RuntimeError, match="after close"):
        dylibs.lookup(handle, "echo_wrapper")
    with pytest.raises(RuntimeError, match="after close"):
        dylibs.open("")
    assert "closed" in repr(dylibs)


CXX_CHECK = """
import json, native
names = ["__cxa_throw", "_Unwind_Resume", "_ZTISt13runtime_error", "__gxx_personality_v0"]
dylibs = native.DylibManager()
process = dylibs.open("")
before = [dylibs.lookup(process, name) is not None for name in names]
absent = dylibs.load_cxx_runtime(if_present=True)  # not loaded: loads nothing
still = [dylibs.lookup(process, name) is not None for name in names]
dylibs.load_cxx_runtime()
dylibs.load_cxx_runtime()
after = [dylibs.lookup(process, name) is not None for name in names]
other = native.DylibManager()
present = other.load_cxx_runtime(if_present=True)
dylibs.close()
print(json.dumps({"before": before, "absent": absent, "still": still, "after": after,
                  "present": present}))
"""


def test_dylib_load_cxx_runtime_makes_cxx_symbols_global() -> None:
    """After load_cxx_runtime the process handle resolves libstdc++/libgcc_s symbols; with
    if_present it loads nothing, and succeeds only once the libraries are in the process.

    Runs in a fresh interpreter so that nothing else loaded libstdc++ beforehand.
    """
    completed = subprocess.run(
        [sys.executable, "-c", CXX_CHECK], capture_output=True, text=True, timeout=60, check=True
    )
    result = json.loads(completed.stdout)
    assert result == {
        "before": [False] * 4,
        "absent": False,
        "still": [False] * 4,
        "after": [True] * 4,
        "present": True,
    }
