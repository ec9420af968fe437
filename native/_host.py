"""The process state a C++ host gives JIT'd code, set up in a Python process.

LLVM's ``llvm-jitlink-executor`` is a C++ program, and JIT'd C++ code relies on what such a
program has before ``main`` and does at ``exit``. A Python interpreter starts differently.
`prepare_cxx_host` makes the executor process look like a C++ host to JIT'd code; the executor
(``orcrt-executor``) calls it once on its main thread before it serves, and ends with
`exit_process`. Nothing here runs by itself: a program that embeds a Session decides.

| state                        | C++ host               | Python interpreter         | prepared             |
|------------------------------|------------------------|----------------------------|----------------------|
| libstdc++, libgcc_s, libm    | loaded, global scope   | not loaded                 | loaded RTLD_GLOBAL   |
| std::cout, cin, cerr, clog,  | constructed before     | not constructed: the first | constructed (one     |
| and the wide streams         | main (ios_base::Init)  | use crashes                | ios_base::Init)      |
| their flush at exit          | ~Init, before C stdio  | never                      | ~Init, before stdio  |
| C locale (setlocale)         | "C", every category    | LC_CTYPE from environment  | "C"                  |
| LC_CTYPE in environ          | as inherited           | C.UTF-8 if locale was C    | as inherited         |
|                              |                        | (PEP 538 coercion)         |                      |
| C stdin/stdout buffering     | line (tty) or full     | none with -u or            | line or full         |
|                              |                        | PYTHONUNBUFFERED           |                      |
| SIGPIPE, SIGXFSZ             | default                | ignored (children inherit  | default              |
|                              |                        | "ignored" across exec)     |                      |
| SIGINT                       | default                | Python's handler           | default              |
| exit                         | exit(): atexit and     | interpreter teardown       | exit() after Python  |
|                              | __cxa_atexit handlers, |                            | streams are flushed  |
|                              | library destructors,   |                            |                      |
|                              | C stdio flush          |                            |                      |

With SIGPIPE at its default, a write of the executor's own to a controller that went away would
kill it; so SIGPIPE stays blocked on the thread that prepares the host (the event-loop thread,
whose writes then fail with EPIPE), and `enter_jit_thread` unblocks it on the threads that run
JIT'd code. Threads inherit their creator's signal mask, so every thread the executor starts for
JIT'd code must call it first (the executor's thread pools use it as their initializer).

Nothing to set up, because libstdc++ and libc do it themselves once loaded: exception support
(personality routine, libgcc_s's unwinder; the memory manager registers JIT'd eh-frames), the
default verbose terminate handler, thread-safe statics (``__cxa_guard_*``), threads. JIT'd code
cannot register ``atexit``/``__cxa_atexit`` handlers without the ORC runtime in any executor
(neither ``atexit`` nor ``__dso_handle`` resolves); with it, the runtime runs them when the
controller deinitializes the program, before the session ends.

After each JIT'd entry point returns, `flush_standard_streams` flushes the standard C++ output
streams and then C stdio, in exit's order, so output appears as soon as ``main`` returns
(TCP sessions may serve many programs before the process exits) without changing its order.
"""

import ctypes
import os
import signal
import threading
from typing import Final, NoReturn

from ._dylib import CXX_RUNTIME_LIBRARIES
from ._errors import LibraryLoadError
from ._libc import RTLD_GLOBAL, RTLD_NOW, libc
from ._shim import Shim, load_shim

__all__ = [
    "HostState",
    "enter_jit_thread",
    "exit_process",
    "flush_standard_streams",
    "prepare_cxx_host",
]

_IOS_INIT_CTOR: Final = b"_ZNSt8ios_base4InitC1Ev"
_IOS_INIT_DTOR: Final = b"_ZNSt8ios_base4InitD1Ev"
# (stream, its flush member) in the order std::ios_base::Init::~Init flushes them.
_NARROW_FLUSH: Final = b"_ZNSo5flushEv"
_WIDE_FLUSH: Final = b"_ZNSt13basic_ostreamIwSt11char_traitsIwEE5flushEv"
_STD_STREAMS: Final = (
    (b"_ZSt4cout", _NARROW_FLUSH),
    (b"_ZSt4cerr", _NARROW_FLUSH),
    (b"_ZSt4clog", _NARROW_FLUSH),
    (b"_ZSt5wcout", _WIDE_FLUSH),
    (b"_ZSt5wcerr", _WIDE_FLUSH),
    (b"_ZSt5wclog", _WIDE_FLUSH),
)
_RESET_SIGNALS: Final = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT)


class HostState:
    """What `prepare_cxx_host` did; immutable. ``jit_signal_mask`` is the signal mask JIT'd
    threads get (the process's mask before SIGPIPE was blocked on the preparing thread)."""

    __slots__ = ("jit_signal_mask", "restored_stdio_streams", "uncoerced_lc_ctype")

    def __init__(
        self,
        jit_signal_mask: frozenset[int],
        restored_stdio_streams: int,
        uncoerced_lc_ctype: bool,
    ) -> None:
        self.jit_signal_mask: Final = jit_signal_mask
        self.restored_stdio_streams: Final = restored_stdio_streams
        self.uncoerced_lc_ctype: Final = uncoerced_lc_ctype

    def __repr__(self) -> str:
        return (
            f"<HostState jit_signal_mask={sorted(self.jit_signal_mask)} "
            f"restored_stdio_streams={self.restored_stdio_streams} "
            f"uncoerced_lc_ctype={self.uncoerced_lc_ctype}>"
        )


# The process's host state, once prepared: process-global by nature (one C runtime, one set of
# signal dispositions per process), written once on the main thread, read-only afterwards.
_prepared: list[HostState] = []


def prepare_cxx_host() -> HostState:
    """Give this process the state a C++ host has for JIT'd code (see the module table).

    Call once per process, on the main thread (the event-loop thread), before any thread that
    runs JIT'd code is started and before JIT'd code runs; later calls return the first
    result. It changes process-wide state (locale, signals, C stdio, the environment), so only
    a program that is an executor should call it.

    Raises:
        LibraryLoadError: libstdc++ (or libgcc_s, libm) cannot be loaded, or lacks
            ``std::ios_base::Init``.
        ValueError: called from a thread other than the main thread (signal dispositions).
    """
    if _prepared:
        return _prepared[0]
    if threading.current_thread() is not threading.main_thread():
        raise ValueError("prepare_cxx_host must run on the main thread (it sets signal handling)")
    # Signals first: threads started from here on inherit the mask.
    jit_mask = frozenset(signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGPIPE}))
    for number in _RESET_SIGNALS:
        signal.signal(number, signal.SIG_DFL)
    uncoerced = _undo_locale_coercion()
    _set_c_locale()
    shim = load_shim()
    restored = int(shim.restore_stdio_buffering())
    if restored < 0:
        raise OSError("could not give C stdin/stdout their buffering back (out of memory)")
    _load_cxx_runtime(shim)
    state = HostState(jit_mask, restored, uncoerced)
    _prepared.append(state)
    return state


def enter_jit_thread() -> None:
    """Give the calling thread the signal mask JIT'd code expects (SIGPIPE not blocked).

    The initializer of every thread that runs JIT'd code; a no-op until `prepare_cxx_host`
    ran. Any thread, any number of times.
    """
    if _prepared:
        signal.pthread_sigmask(signal.SIG_SETMASK, _prepared[0].jit_signal_mask)


def flush_standard_streams() -> None:
    """Flush std::cout/cerr/clog and the wide streams (once `prepare_cxx_host` constructed
    them), then every C stdio stream: exit's order. Any thread; after each JIT'd entry point."""
    load_shim().flush_standard_streams()


def exit_process(status: int) -> NoReturn:
    """End the process as a C++ program ends: C ``exit(status)``.

    exit() runs the ``atexit``/``__cxa_atexit`` handlers in reverse order of registration (the
    standard streams' ``~Init`` among them), the destructors of loaded libraries, and flushes
    C stdio. The Python interpreter is not finalized (nothing it holds outlives the process);
    flush Python's own streams first. The GIL stays held, so no other Python thread runs
    while the handlers do. Never returns.
    """
    exit_fn = ctypes.PyDLL(None).exit
    exit_fn.argtypes = (ctypes.c_int,)
    exit_fn.restype = None
    exit_fn(status)
    os._exit(status)  # not reached: exit() does not return


def _undo_locale_coercion() -> bool:
    """Remove LC_CTYPE from the environment if the interpreter set it (PEP 538): it is absent
    from the environment this process was started with. Returns whether it did."""
    if "LC_CTYPE" not in os.environ:
        return False
    try:
        with open("/proc/self/environ", "rb") as initial:
            started_with = initial.read().split(b"\0")
    except OSError:
        return False  # cannot tell: leave the environment as it is
    if any(entry.startswith(b"LC_CTYPE=") for entry in started_with):
        return False
    del os.environ["LC_CTYPE"]  # also unsetenv()s it for JIT'd code
    return True


def _set_c_locale() -> None:
    import _locale  # the C module: the locale module would import more than it needs here

    _locale.setlocale(_locale.LC_ALL, "C")


def _symbol(name: bytes) -> int:
    address = libc().dlsym(None, name)
    if not address:
        raise LibraryLoadError(
            f"the C++ runtime lacks {name.decode()}: {libc().dlerror_text()}",
            path=CXX_RUNTIME_LIBRARIES[0],
        )
    return int(address)


def _load_cxx_runtime(shim: Shim) -> None:
    for name in CXX_RUNTIME_LIBRARIES:
        if not libc().dlopen(name.encode(), RTLD_NOW | RTLD_GLOBAL):
            raise LibraryLoadError(
                f"cannot load the C++ runtime: {libc().dlerror_text()}", path=name
            )
    ctor, dtor = _symbol(_IOS_INIT_CTOR), _symbol(_IOS_INIT_DTOR)
    pointers = ctypes.c_void_p * len(_STD_STREAMS)
    objects = pointers(*(_symbol(stream) for stream, _ in _STD_STREAMS))
    flushes = pointers(*(_symbol(flush) for _, flush in _STD_STREAMS))
    if shim.cxx_streams_init(ctor, dtor, objects, flushes, len(_STD_STREAMS)) != 0:
        raise LibraryLoadError(
            "could not register the standard streams' destructor with __cxa_atexit",
            path=CXX_RUNTIME_LIBRARIES[0],
        )
