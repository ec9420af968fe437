"""Loader of the compiled C shim (native/_shim.c) and its process-wide callback thunks.

`load_shim()` finds `_orcrt_shim<EXT_SUFFIX>` next to this file (built by `pip install .`),
checks `orcrt_shim_abi_version()`, configures every prototype, and creates the three ctypes
callback thunks that the shim calls back into. It runs at most once per process; the returned
`Shim` is immutable afterwards, so all Sessions share it without locks.

Per-context state never lives here: dispatch contexts and async channels carry their own
Python callable as the opaque `user` pointer. The thunks only forward to that callable:

- `dispatch_entry(user, tag, data, size, out)` calls `user(tag, data, size, out)`;
- `async_entry(user, call_id, data, size, error)` calls `user(call_id, data, size, error)`;
- `release_entry(user)` drops the reference the context owned on `user` (see `own`).
"""

from __future__ import annotations

import ctypes
import functools
import importlib.machinery
import os
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from pathlib import Path

from ._errors import LibraryLoadError

__all__ = [
    "SHIM_ABI_VERSION",
    "Shim",
    "WrapperResult",
    "load_shim",
    "load_shim_from",
    "shim_path",
]

SHIM_ABI_VERSION: Final = 2
_SHIM_STEM: Final = "_orcrt_shim"


class WrapperResult(ctypes.Structure):
    """`CWrapperFunctionResult` / `orc_rt_WrapperFunctionBuffer`: 8-byte data union + size_t.

    The union is read as a raw u64 (`data`); inline results are its first `size` bytes.
    """

    _fields_ = (("data", ctypes.c_uint64), ("size", ctypes.c_size_t))


_DispatchEntry = ctypes.CFUNCTYPE(
    None, ctypes.py_object, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p
)
_AsyncEntry = ctypes.CFUNCTYPE(
    None, ctypes.py_object, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p
)
_ReleaseEntry = ctypes.CFUNCTYPE(None, ctypes.py_object)

_py_incref: Any = ctypes.pythonapi.Py_IncRef
_py_incref.argtypes = (ctypes.py_object,)
_py_incref.restype = None
_py_decref: Any = ctypes.pythonapi.Py_DecRef
_py_decref.argtypes = (ctypes.py_object,)
_py_decref.restype = None


def _dispatch_entry(user: Any, tag: int, data: int | None, size: int, out: int | None) -> None:
    user(tag, data, size, out)


def _async_entry(user: Any, call_id: int, data: int | None, size: int, error: bytes | None) -> None:
    user(call_id, data, size, error)


def _release_entry(user: object) -> None:
    # Drops the reference taken by Shim.own(); ctypes still holds its own for this call.
    _py_decref(user)


# The thunks are module constants so they live as long as the process: native contexts keep
# their addresses and may call them at any time, so they must never be freed (not even if two
# threads race to create a Shim on first use).
_DISPATCH_THUNK: Final = _DispatchEntry(_dispatch_entry)
_ASYNC_THUNK: Final = _AsyncEntry(_async_entry)
_RELEASE_THUNK: Final = _ReleaseEntry(_release_entry)


def _shim_file() -> str | None:
    # os.path, not pathlib: importing pathlib costs the executor's start-up several ms.
    here = os.path.dirname(os.path.realpath(__file__))
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = os.path.join(here, f"{_SHIM_STEM}{suffix}")
        if os.path.isfile(candidate):
            return candidate
    return None


def shim_path() -> Path | None:
    """The compiled shim next to this package, or None if it was never built."""
    from pathlib import Path

    found = _shim_file()
    return None if found is None else Path(found)


class Shim:
    """Typed access to the shim's entry points; construct only through `load_shim()`."""

    def __init__(self, lib: ctypes.CDLL, path: str) -> None:
        self._path = path
        self._lib = lib
        vp, sz, u64 = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint64
        result_ptr = ctypes.POINTER(WrapperResult)
        counts = ctypes.POINTER(ctypes.c_uint64)
        self.free: Any = self._fn("orcrt_free", None, vp)
        self.wfr_set_bytes: Any = self._fn("orcrt_wfr_set_bytes", ctypes.c_int, vp, vp, sz)
        self.wfr_set_error: Any = self._fn("orcrt_wfr_set_error", ctypes.c_int, vp, ctypes.c_char_p)
        self.call_wrapper: Any = self._fn("orcrt_call_wrapper", None, vp, vp, sz, result_ptr)
        self.run_as_main: Any = self._fn(
            "orcrt_run_as_main", ctypes.c_int, vp, ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)
        )
        self.run_as_void: Any = self._fn("orcrt_run_as_void", None, vp)
        self.run_as_int: Any = self._fn("orcrt_run_as_int", ctypes.c_int, vp, ctypes.c_int)
        self.flush_icache: Any = self._fn("orcrt_flush_icache", None, vp, sz)
        self.write_segment: Any = self._fn(
            "orcrt_write_segment", ctypes.c_int, vp, ctypes.c_char_p, sz, sz, ctypes.c_int, sz
        )
        self.cxx_streams_init: Any = self._fn(
            "orcrt_cxx_streams_init",
            ctypes.c_int,
            vp,
            vp,
            ctypes.POINTER(vp),
            ctypes.POINTER(vp),
            sz,
        )
        self.flush_standard_streams: Any = self._fn("orcrt_flush_standard_streams", None)
        self.restore_stdio_buffering: Any = self._fn("orcrt_restore_stdio_buffering", ctypes.c_int)
        self.dispatch_ctx_create: Any = self._fn(
            "orcrt_dispatch_ctx_create", vp, _DispatchEntry, ctypes.py_object, _ReleaseEntry
        )
        self.dispatch_ctx_close: Any = self._fn("orcrt_dispatch_ctx_close", ctypes.c_int, vp)
        self.dispatch_ctx_counts: Any = self._fn("orcrt_dispatch_ctx_counts", None, vp, counts)
        self.async_channel_create: Any = self._fn(
            "orcrt_async_channel_create", vp, _AsyncEntry, ctypes.py_object, _ReleaseEntry
        )
        self.async_channel_close: Any = self._fn("orcrt_async_channel_close", ctypes.c_int, vp)
        self.async_channel_counts: Any = self._fn("orcrt_async_channel_counts", None, vp, counts)
        self.call_async_wrapper: Any = self._fn(
            "orcrt_call_async_wrapper", ctypes.c_int, vp, vp, u64, vp, sz
        )
        self.gdb_register: Any = self._fn("orcrt_gdb_register", vp, vp, u64)
        self.gdb_deregister: Any = self._fn("orcrt_gdb_deregister", ctypes.c_int, vp)
        self.gdb_descriptor: Any = self._fn("orcrt_gdb_descriptor", vp)
        self.gdb_entries: Any = self._fn("orcrt_gdb_entries", sz, counts, sz)
        self.dispatch_fn_address: int = self._address("orcrt_dispatch_fn")
        self.async_return_address: int = self._address("orcrt_async_return")
        self.dispatch_entry = _DISPATCH_THUNK
        self.async_entry = _ASYNC_THUNK
        self.release_entry = _RELEASE_THUNK

    @property
    def path(self) -> Path:
        """Where the shim was loaded from."""
        from pathlib import Path

        return Path(self._path)

    def _fn(self, name: str, restype: Any, *argtypes: Any) -> Any:
        try:
            function = getattr(self._lib, name)
        except AttributeError as exc:
            raise LibraryLoadError(
                f"native shim at {self._path} lacks {name}: rebuild it with pip install .",
                path=self._path,
            ) from exc
        function.restype = restype
        function.argtypes = argtypes
        return function

    def _address(self, name: str) -> int:
        address = ctypes.cast(getattr(self._lib, name), ctypes.c_void_p).value
        assert address is not None
        return address

    @staticmethod
    def own(user: object) -> None:
        """Take the reference a native context keeps on `user`; `release_entry` drops it."""
        _py_incref(user)

    @staticmethod
    def disown(user: object) -> None:
        """Drop a reference taken by `own` (when the context's close says the owner must)."""
        _py_decref(user)


@functools.cache
def load_shim() -> Shim:
    """Load and check the C shim once per process (any thread; cached afterwards).

    Raises:
        LibraryLoadError: the shim was never built, cannot be loaded, or has another ABI
            version (the message says to run ``pip install .``).
    """
    return load_shim_from(_shim_file())


def load_shim_from(path: str | os.PathLike[str] | None) -> Shim:
    """Load the shim at `path` (None: not built) without caching; `load_shim` uses this.

    Raises:
        LibraryLoadError: as for `load_shim`.
    """
    if path is None:
        suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
        here = os.path.dirname(os.path.realpath(__file__))
        expected = os.path.join(here, f"{_SHIM_STEM}{suffix}")
        raise LibraryLoadError(
            f"native shim not built: run pip install . (looked for {expected})",
            path=expected,
        )
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as exc:
        raise LibraryLoadError(
            f"native shim at {path} cannot be loaded ({exc}): run pip install .",
            path=str(path),
        ) from exc
    # Check the version before configuring prototypes: an old shim may lack newer symbols.
    try:
        version_fn = lib.orcrt_shim_abi_version
    except AttributeError:
        raise LibraryLoadError(
            f"{path} is not an orcrt native shim (no orcrt_shim_abi_version): "
            "run pip install . to build it",
            path=str(path),
        ) from None
    version_fn.restype = ctypes.c_uint32
    version_fn.argtypes = ()
    version = int(version_fn())
    if version != SHIM_ABI_VERSION:
        raise LibraryLoadError(
            f"native shim at {path} has ABI version {version}, expected {SHIM_ABI_VERSION}: "
            "run pip install . to rebuild it",
            path=str(path),
        )
    return Shim(lib, os.fspath(path))
