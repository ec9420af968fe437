"""Fixtures for tests/native: test-time C libraries compiled once per session with gcc."""

import ctypes
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

import native

CSRC = Path(__file__).resolve().parent / "csrc"


def _compile(out_dir: Path, source: str, name: str) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed: the native tests compile C test libraries with it")
    output = out_dir / name
    subprocess.run(
        [gcc, "-O1", "-g0", "-shared", "-fPIC", "-pthread", "-o", str(output), str(CSRC / source)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return output


@pytest.fixture(scope="session")
def native_build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory for the session's compiled test libraries."""
    return tmp_path_factory.mktemp("native-build")


@pytest.fixture(scope="session")
def testlib_path(native_build_dir: Path) -> Path:
    """Path of the compiled csrc/nativetest.c."""
    return _compile(native_build_dir, "nativetest.c", "libnativetest.so")


@pytest.fixture(scope="session")
def ehlib_path(native_build_dir: Path) -> Path:
    """Path of the compiled csrc/ehtest.c."""
    return _compile(native_build_dir, "ehtest.c", "libehtest.so")


class CLib:
    """The loaded test library: addresses of its functions and typed helpers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lib = ctypes.CDLL(str(path))
        self.lib.read_action_log.restype = ctypes.c_size_t
        self.lib.read_action_log.argtypes = (ctypes.c_char_p, ctypes.c_size_t)
        self.lib.last_main_record.restype = ctypes.c_char_p
        self.lib.void_call_count.restype = ctypes.c_int
        self.lib.dispatch_once.restype = ctypes.c_long
        self.lib.dispatch_once.argtypes = (
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.c_uint64,
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_char_p,
            ctypes.c_size_t,
        )
        self.lib.dispatch_from_threads.restype = ctypes.c_int
        self.lib.dispatch_from_threads.argtypes = (
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.c_uint64,
            ctypes.c_int,
        )

    def address(self, name: str) -> int:
        value = ctypes.cast(getattr(self.lib, name), ctypes.c_void_p).value
        assert value is not None
        return value

    def reset_action_log(self) -> None:
        self.lib.reset_action_log()

    def action_log(self) -> bytes:
        buffer = ctypes.create_string_buffer(256)
        size = self.lib.read_action_log(buffer, 256)
        return buffer.raw[:size]

    def run_action(self, fn: int, args: bytes) -> str | None:
        """A real run_action: call the wrapper natively and decode its SPSError result."""
        try:
            result = native.call_wrapper(fn, args)
        except native.NativeCallError as exc:
            return exc.message
        if result == b"\x00":
            return None
        if result[:1] == b"\x01" and len(result) >= 9:
            length = int.from_bytes(result[1:9], "little")
            return result[9 : 9 + length].decode()
        return f"undecodable action result {result!r}"


@pytest.fixture(scope="session")
def testlib(testlib_path: Path) -> CLib:
    """The compiled csrc/nativetest.c, loaded."""
    return CLib(testlib_path)


@pytest.fixture
def action_runner(testlib: CLib) -> Callable[[int, bytes], str | None]:
    """run_action for MemoryMap, with the action log cleared first."""
    testlib.reset_action_log()
    return testlib.run_action
