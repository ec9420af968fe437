"""Exceptions of the native layer: what the OS or native code refused.

Everything raised for input that came from the controller (addresses, sizes, handles, names)
is a `NativeError`, so the actors layer can turn any of them into an error value on the wire
with `str(exc)`; the message is the complete, LLVM-style text. Misuse by the caller in Python
(wrong types, calls after close) raises `TypeError`/`ValueError`/`RuntimeError` instead.

```
NativeError
├─ LibraryLoadError(.path)              dlopen refused a library
├─ SymbolNotFoundError(.name)           a required symbol is missing
├─ MemoryMapError(.address, .size)      mmap/mprotect/munmap refused, or memory bookkeeping
│  └─ MemoryAccessError                 a checked read/write hit memory that is not accessible
├─ EhFrameError(.address)               an eh-frame section cannot be (de)registered
└─ NativeCallError(.message)            a native wrapper returned an out-of-band error
```
"""

__all__ = [
    "EhFrameError",
    "LibraryLoadError",
    "MemoryAccessError",
    "MemoryMapError",
    "NativeCallError",
    "NativeError",
    "SymbolNotFoundError",
]


class NativeError(Exception):
    """Base of every native-layer failure; `str()` is the full message for the controller."""


class LibraryLoadError(NativeError):
    """dlopen failed for `path` (the dlerror text is the message)."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path


class SymbolNotFoundError(NativeError):
    """A symbol that had to exist was not found."""

    def __init__(self, message: str, *, name: str) -> None:
        super().__init__(message)
        self.name = name


class MemoryMapError(NativeError):
    """The OS refused a memory operation (OSError as `__cause__`) or a bookkeeping check failed.

    `address` and `size` name the memory concerned (0 when not applicable).
    """

    def __init__(self, message: str, *, address: int, size: int) -> None:
        super().__init__(message)
        self.address = address
        self.size = size


class MemoryAccessError(MemoryMapError):
    """A checked memory read or write touched memory that is unmapped or lacks the permission."""


class EhFrameError(NativeError):
    """An eh-frame section at `address` is malformed, unreadable, or not (de)registrable."""

    def __init__(self, message: str, *, address: int) -> None:
        super().__init__(message)
        self.address = address


class NativeCallError(NativeError):
    """A native wrapper function returned an out-of-band error carrying `message`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
