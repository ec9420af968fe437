"""`DylibManager`: dlopen/dlsym for the controller's symbol lookups (simple-remote-epc.md §7.1).

Semantics follow LLVM's SimpleExecutorDylibManager:

- ``open("")`` is the process itself (``dlopen(NULL)``): lookups search the global scope (the
  program, its libraries, and everything loaded RTLD_GLOBAL).
- ``open(path)`` loads a library with ``RTLD_NOW | RTLD_GLOBAL``. LLVM uses RTLD_LAZY; we bind
  eagerly so an unresolvable library fails here, as an error the controller sees, instead of
  killing the process at its first call of a missing function. RTLD_GLOBAL (as LLVM) makes
  its symbols visible to later process-handle lookups.
- A non-zero mode is refused with LLVM's message "open: non-zero mode bits not yet supported".
- Names are looked up exactly as written (ELF: no underscore stripping).
- Handles are the dlopen handles (opaque unique tokens, which 22 expects; a 14 controller
  accepts any u64 too).

The executor's own bootstrap names that dlsym cannot find in a Python process (LLVM 14 looks
up ``llvm_orc_registerEHFrameSectionWrapper`` & co. on handles it opened) are the actors layer's
job: it answers them from its own token table before asking this manager.

Calls may run library constructors (dlopen) and so may block; the owner runs them on a worker
thread. Not thread-safe: owned by one actor.
"""

from typing import Final

from ._errors import LibraryLoadError, NativeError, SymbolNotFoundError
from ._libc import RTLD_GLOBAL, RTLD_NOLOAD, RTLD_NOW, libc

__all__ = ["CXX_RUNTIME_LIBRARIES", "DylibManager"]

CXX_RUNTIME_LIBRARIES: Final = ("libstdc++.so.6", "libgcc_s.so.1", "libm.so.6")
"""Loaded RTLD_GLOBAL by `DylibManager.load_cxx_runtime` so C++ JIT'd code resolves."""


class DylibManager:
    """Opens dynamic libraries and resolves symbols; closes what it opened at `close()`."""

    def __init__(self) -> None:
        """Create a manager holding no handles."""
        self._opened: list[int] = []  # dlopen results to dlclose, in opening order
        self._valid: set[int] = set()  # handles lookups accept
        self._permanent: list[int] = []  # C++ runtime handles, never closed
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"<DylibManager {state} libraries={len(self._opened)} "
            f"cxx_runtime={'loaded' if self._permanent else 'not loaded'}>"
        )

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("DylibManager used after close")

    def _dlopen(self, path: str | None, what: str) -> int:
        encoded = None if path is None else path.encode()
        if encoded is not None and b"\0" in encoded:
            raise LibraryLoadError(f"{what}: path {path!r} contains a NUL byte", path=path or "")
        handle = libc().dlopen(encoded, RTLD_NOW | RTLD_GLOBAL)
        if not handle:
            raise LibraryLoadError(f"{what}: {libc().dlerror_text()}", path=path or "")
        return int(handle)

    def open(self, path: str, mode: int = 0) -> int:
        """Open `path` ("" = the process itself) and return its handle for `lookup`.

        Opening the same library twice returns the same handle (dlopen counts references;
        `close` drops each one).

        Raises:
            LibraryLoadError: mode is non-zero ("open: non-zero mode bits not yet supported"),
                or dlopen failed (the dlerror text, prefixed "open: ").
            RuntimeError: after `close`.
        """
        self._check_open()
        if mode != 0:
            raise LibraryLoadError("open: non-zero mode bits not yet supported", path=path)
        handle = self._dlopen(path or None, "open")
        self._opened.append(handle)
        self._valid.add(handle)
        return handle

    def lookup(self, handle: int, name: str) -> int | None:
        """The address of `name` in `handle`'s scope, or None if it is not defined.

        Raises:
            NativeError: `handle` was not returned by this manager's `open`.
            RuntimeError: after `close`.
        """
        self._check_open()
        if handle not in self._valid:
            raise NativeError(f"lookup: unknown dylib handle {handle:#x}")
        encoded = name.encode()
        if not encoded or b"\0" in encoded:
            return None
        address = libc().dlsym(handle, encoded)
        return int(address) if address else None

    def require(self, handle: int, name: str) -> int:
        """Like `lookup`, for a symbol that must exist (LLVM 14's Required lookups).

        Raises:
            SymbolNotFoundError: "Missing definition for NAME".
            NativeError: `handle` was not returned by this manager's `open`.
            RuntimeError: after `close`.
        """
        address = self.lookup(handle, name)
        if address is None:
            raise SymbolNotFoundError(f"Missing definition for {name}", name=name)
        return address

    def load_cxx_runtime(self, *, if_present: bool = False) -> bool:
        """Make libstdc++, libgcc_s and libm RTLD_GLOBAL so C++ programs resolve through the
        process handle (``__cxa_throw``, ``_Unwind_Resume``, ``_ZTISt13runtime_error``, ...).

        Idempotent. These libraries are never unloaded: once JIT'd code may reference them,
        unloading them could pull code from under it (like LLVM's permanent libraries).
        With ``if_present`` nothing is loaded (RTLD_NOLOAD, so no library constructor runs and
        the call is quick enough for the event loop): the libraries are only made global if
        the process has all of them already (e.g. after `native.prepare_cxx_host`).

        Returns:
            True once the libraries are global; False only with ``if_present`` when one of
            them is not loaded yet.

        Raises:
            LibraryLoadError: one of them cannot be loaded.
            RuntimeError: after `close`.
        """
        self._check_open()
        if self._permanent:
            return True
        if if_present:
            handles = []
            for name in CXX_RUNTIME_LIBRARIES:
                handle = libc().dlopen(name.encode(), RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD)
                if not handle:
                    return False  # the handles taken so far stay open: these are never closed
                handles.append(int(handle))
        else:
            handles = [self._dlopen(name, "load_cxx_runtime") for name in CXX_RUNTIME_LIBRARIES]
        self._permanent = handles
        return True

    def close(self) -> None:
        """dlclose every handle `open` returned, newest first. Idempotent.

        Raises:
            LibraryLoadError: dlclose failures (all handles are still attempted).
        """
        if self._closed:
            return
        self._closed = True
        errors = []
        while self._opened:
            handle = self._opened.pop()
            if libc().dlclose(handle) != 0:
                errors.append(f"close of handle {handle:#x}: {libc().dlerror_text()}")
        self._valid.clear()
        if errors:
            raise LibraryLoadError("\n".join(errors), path="")
