"""The libc functions the native layer calls, with their ctypes prototypes built once.

`libc()` loads the C library at most once per process and configures every prototype then;
the returned object is never mutated afterwards, so sharing it between Sessions and threads is
safe. All calls go through `ctypes.CDLL`, which releases the GIL for the duration of the call.
"""

import ctypes
import functools
from typing import Any, Final

__all__ = [
    "MAP_ANONYMOUS",
    "MAP_FAILED",
    "MAP_PRIVATE",
    "RTLD_GLOBAL",
    "RTLD_NOLOAD",
    "RTLD_NOW",
    "IoVec",
    "Libc",
    "libc",
]

MAP_PRIVATE: Final = 0x02
MAP_ANONYMOUS: Final = 0x20
MAP_FAILED: Final = (1 << 64) - 1
RTLD_NOW: Final = 0x002
RTLD_NOLOAD: Final = 0x004
RTLD_GLOBAL: Final = 0x100


class IoVec(ctypes.Structure):
    """`struct iovec` for process_vm_readv/process_vm_writev."""

    _fields_ = (("base", ctypes.c_void_p), ("length", ctypes.c_size_t))


class Libc:
    """Typed access to the libc entry points; construct only through `libc()`."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self._lib = lib
        vp, sz = ctypes.c_void_p, ctypes.c_size_t
        self.mmap: Any = self._fn(
            "mmap", vp, vp, sz, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long
        )
        self.munmap: Any = self._fn("munmap", ctypes.c_int, vp, sz)
        self.mprotect: Any = self._fn("mprotect", ctypes.c_int, vp, sz, ctypes.c_int)
        self.strnlen: Any = self._fn("strnlen", sz, vp, sz)
        self.dlopen: Any = self._fn("dlopen", vp, ctypes.c_char_p, ctypes.c_int)
        self.dlsym: Any = self._fn("dlsym", vp, vp, ctypes.c_char_p)
        self.dlclose: Any = self._fn("dlclose", ctypes.c_int, vp)
        self.dlerror: Any = self._fn("dlerror", ctypes.c_char_p)
        iov = ctypes.POINTER(IoVec)
        self.process_vm_readv: Any = self._fn(
            "process_vm_readv",
            ctypes.c_ssize_t,
            ctypes.c_int,
            iov,
            ctypes.c_ulong,
            iov,
            ctypes.c_ulong,
            ctypes.c_ulong,
        )
        self.process_vm_writev: Any = self._fn(
            "process_vm_writev",
            ctypes.c_ssize_t,
            ctypes.c_int,
            iov,
            ctypes.c_ulong,
            iov,
            ctypes.c_ulong,
            ctypes.c_ulong,
        )

    def _fn(self, name: str, restype: Any, *argtypes: Any) -> Any:
        function = getattr(self._lib, name)
        function.restype = restype
        function.argtypes = argtypes
        return function

    def dlerror_text(self) -> str:
        """The pending dlerror() message (thread-local in glibc), or a generic text."""
        message = self.dlerror()
        if message is None:
            return "unknown dlopen error"
        return bytes(message).decode("utf-8", "replace")


@functools.cache
def libc() -> Libc:
    """Load libc once per process (errno captured for OSError translation)."""
    return Libc(ctypes.CDLL("libc.so.6", use_errno=True))
