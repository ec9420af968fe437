"""`DispatchContext`: the native entry point JIT'd code calls to reach the controller.

JIT'd code (the ORC runtime) calls
``CWrapperFunctionResult __orc_rt_jit_dispatch(void *Ctx, const void *FnTag, const char *ArgData,
size_t ArgSize)`` (simple-remote-epc.md §8); the executor advertises the function as
``__llvm_orc_SimpleRemoteEPC_dispatch_fn`` and `Ctx` as ``__llvm_orc_SimpleRemoteEPC_dispatch_ctx``.
A ctypes callback cannot return that 16-byte struct, so the function is the C shim's
``orcrt_dispatch_fn``: it calls back into Python with an out-parameter and returns it by value.

Threading: the handler runs on the calling native thread, holding the GIL only while Python
code runs; many threads may be inside at once. The actors layer's handler sends the call to the
controller and blocks this thread on a future the event loop resolves (never call it on the
loop thread).

Lifetime: after `close()`, calls return the out-of-band error
"jit_dispatch not available (EPC server shut down)" without entering Python. The native
context is never freed, because JIT'd code may keep calling with its address; the reference to
the handler is dropped when the last in-flight call leaves (or at close if none is in flight).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import TYPE_CHECKING

from ._shim import load_shim

if TYPE_CHECKING:
    from ._records import DispatchStatistics

__all__ = ["DispatchContext", "DispatchHandler"]

DispatchHandler = Callable[[int, bytes], bytes]
"""`handler(tag, arg_bytes) -> result_bytes`; raising any Exception makes the call return an
out-of-band error whose message is ``str(exc)`` (or the exception's type name if empty)."""


class DispatchContext:
    """One Session's dispatch entry: JIT'd code calls `fn_address` with `ctx_address`.

    Create one per Session (several may coexist; they share nothing). `close()` at shutdown.
    """

    def __init__(self, handler: DispatchHandler) -> None:
        """Create the native context forwarding to `handler` (see `DispatchHandler`).

        Raises:
            MemoryError: the native context could not be allocated.
        """
        shim = load_shim()
        self._handler = handler
        self._entry = self._invoke  # the bound method the native context owns a reference to
        shim.own(self._entry)
        address = shim.dispatch_ctx_create(shim.dispatch_entry, self._entry, shim.release_entry)
        if not address:
            shim.disown(self._entry)
            raise MemoryError("cannot allocate a dispatch context")
        self._address: int = address
        self._closed = False

    def __repr__(self) -> str:
        return f"<DispatchContext {self._address:#x} {self.statistics()}>"

    @property
    def ctx_address(self) -> int:
        """Value for the ``__llvm_orc_SimpleRemoteEPC_dispatch_ctx`` bootstrap symbol."""
        return self._address

    @property
    def fn_address(self) -> int:
        """Value for ``__llvm_orc_SimpleRemoteEPC_dispatch_fn`` (the shim's dispatch entry)."""
        return load_shim().dispatch_fn_address

    def _invoke(self, tag: int, data: int | None, size: int, out: int | None) -> None:
        shim = load_shim()
        try:
            if size and not data:
                raise ValueError(f"jit_dispatch called with {size} bytes at a null pointer")
            result = self._handler(tag, ctypes.string_at(data or 0, size) if size else b"")
            if not isinstance(result, bytes | bytearray | memoryview):
                raise TypeError(f"jit_dispatch handler returned {type(result).__name__}, not bytes")
            payload = bytes(result)
        except Exception as exc:  # becomes the caller's out-of-band error, by contract
            message = str(exc) or type(exc).__name__
            if shim.wfr_set_error(out, message.encode("utf-8", "replace").replace(b"\0", b"")):
                raise MemoryError("cannot allocate a dispatch error message") from exc
            return
        if shim.wfr_set_bytes(out, payload, len(payload)) != 0:
            shim.wfr_set_error(out, b"jit_dispatch result too large to allocate")

    def close(self) -> None:
        """Refuse further calls with the shutdown error. Idempotent.

        Calls already inside the handler finish normally; the caller is responsible for
        unblocking them (the actors layer fails pending controller calls on detach).
        """
        if self._closed:
            return
        self._closed = True
        shim = load_shim()
        if shim.dispatch_ctx_close(self._address):
            shim.disown(self._entry)

    @property
    def closed(self) -> bool:
        """Whether `close()` was called."""
        return self._closed

    def statistics(self) -> DispatchStatistics:
        """Counters read atomically from the native context."""
        counts = (ctypes.c_uint64 * 4)()
        load_shim().dispatch_ctx_counts(self._address, counts)
        from ._records import DispatchStatistics

        return DispatchStatistics(
            in_flight=counts[0], calls=counts[1], refused=counts[2], closed=bool(counts[3])
        )
