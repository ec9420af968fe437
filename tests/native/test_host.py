"""native.prepare_cxx_host & co: a Python process set up as a C++ host for JIT'd code.

`prepare_cxx_host` changes process-wide state (signals, locale, C stdio, the environment), so
each test runs it in a fresh interpreter and reports what it sees as JSON.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Mapping

import native

_TIMEOUT = 60.0

# Reads the state JIT'd code would see, from C: signals, mask, locale, stdio buffering.
_PROBE = textwrap.dedent(
    """
    import ctypes, json, os, signal, sys, threading
    import native

    libc = ctypes.CDLL(None)
    libc.setlocale.restype = ctypes.c_char_p
    libc.setlocale.argtypes = (ctypes.c_int, ctypes.c_char_p)
    libc.__fbufsize.restype = ctypes.c_size_t
    stdout_file = ctypes.c_void_p.in_dll(libc, "stdout")

    def probe():
        return {
            "mask": sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, ())),
            "handlers": {
                str(int(n)): str(signal.getsignal(n)) for n in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT)
            },
            "locale": libc.setlocale(6, None).decode(),  # LC_ALL
            "lc_ctype_env": os.environ.get("LC_CTYPE"),
            "stdout_buffer": libc.__fbufsize(stdout_file),
        }

    before = probe()
    state = native.prepare_cxx_host()
    after = probe()
    seen = {}

    def worker():
        native.enter_jit_thread()
        seen["mask"] = sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, ()))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    libc.printf(b"from C stdio\\n")  # buffered: C stdout is a pipe here
    native.flush_standard_streams()
    print(json.dumps({"before": before, "after": after, "jit_thread_mask": seen["mask"],
                      "again": native.prepare_cxx_host() is state,
                      "uncoerced": state.uncoerced_lc_ctype,
                      "restored": state.restored_stdio_streams}), flush=True)
    """
)

# Writes through std::cout (constructed by the host) without a flush, then exits like a C++
# program: ~ios_base::Init flushes std::cout before exit flushes C stdio.
_COUT = textwrap.dedent(
    """
    import ctypes, sys
    import native

    native.prepare_cxx_host()
    libc = ctypes.CDLL(None)
    sync_with_stdio = libc._ZNSt8ios_base15sync_with_stdioEb
    sync_with_stdio.argtypes = (ctypes.c_bool,)
    sync_with_stdio(False)  # std::cout keeps its own buffer, as after sync_with_stdio(false)
    write = libc._ZNSo5writeEPKcl
    write.argtypes = (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_long)
    cout = ctypes.addressof(ctypes.c_char.in_dll(libc, "_ZSt4cout"))
    libc.printf(b"C stdio, written first\\n")
    write(cout, b"std::cout, written last\\n", 24)
    sys.stdout.flush()
    native.exit_process(int(sys.argv[1]))
    """
)


def _python(
    code: str, *args: str, env: Mapping[str, str | None] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ)
    for key, value in (env or {}).items():
        if value is None:
            environment.pop(key, None)
        else:
            environment[key] = value
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        env=environment,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def _probe(env: Mapping[str, str | None]) -> tuple[str, dict[str, object]]:
    result = _python(_PROBE, env=env)
    assert result.returncode == 0, result.stderr
    first, _, last = result.stdout.rpartition("\n{")
    return first, json.loads("{" + last)


def test_host_prepare_gives_signals_locale_and_stdio_of_a_cxx_host() -> None:
    """Python's ignored/caught signals go back to default, SIGPIPE is blocked on the preparing
    thread only, the locale is "C", C stdout gets its buffer back, a second call is a no-op."""
    c_output, report = _probe({"PYTHONUNBUFFERED": "1", "LANG": "C.UTF-8", "LC_ALL": None})
    before, after = report["before"], report["after"]
    assert isinstance(before, dict)
    assert isinstance(after, dict)
    pipe, xfsz, sigint = (str(int(s)) for s in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT))
    assert before["handlers"][pipe] == str(signal.SIG_IGN)
    assert before["stdout_buffer"] == 1  # unbuffered: Python's -u
    assert before["locale"] != "C"
    assert after["handlers"] == {number: str(signal.SIG_DFL) for number in (pipe, xfsz, sigint)}
    assert int(signal.SIGPIPE) in after["mask"]
    jit_thread_mask = report["jit_thread_mask"]
    assert isinstance(jit_thread_mask, list)
    assert int(signal.SIGPIPE) not in jit_thread_mask
    assert after["locale"] == "C"
    assert after["stdout_buffer"] > 1  # a real buffer again (the pipe's block size)
    assert report["restored"] == 2
    assert report["again"] is True
    assert c_output == "from C stdio"  # flush_standard_streams flushed C stdio


def test_host_prepare_undoes_the_interpreters_locale_coercion() -> None:
    """Started without any locale variable, Python sets LC_CTYPE=C.UTF-8 (PEP 538): removed."""
    _, report = _probe({"LANG": None, "LC_ALL": None, "LC_CTYPE": None})
    before, after = report["before"], report["after"]
    assert isinstance(before, dict)
    assert isinstance(after, dict)
    assert before["lc_ctype_env"] == "C.UTF-8"
    assert after["lc_ctype_env"] is None
    assert report["uncoerced"] is True


def test_host_prepare_keeps_an_inherited_lc_ctype() -> None:
    """LC_CTYPE given by the parent stays in the environment (only the C locale is set)."""
    _, report = _probe({"LANG": None, "LC_ALL": None, "LC_CTYPE": "C.UTF-8"})
    after = report["after"]
    assert isinstance(after, dict)
    assert after["lc_ctype_env"] == "C.UTF-8"
    assert after["locale"] == "C"
    assert report["uncoerced"] is False


def test_host_exit_flushes_std_cout_before_c_stdio_and_keeps_the_status() -> None:
    """exit_process runs ~ios_base::Init (std::cout's buffer out first), then C stdio's flush."""
    result = _python(_COUT, "7")
    assert (result.returncode, result.stdout, result.stderr) == (
        7,
        "std::cout, written last\nC stdio, written first\n",
        "",
    )


def test_host_jit_thread_setup_is_a_no_op_until_prepared() -> None:
    """In a process that never prepared a host (this one), enter_jit_thread changes nothing."""
    before = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    native.enter_jit_thread()
    assert signal.pthread_sigmask(signal.SIG_BLOCK, ()) == before
    native.flush_standard_streams()  # only C stdio: no C++ streams were set up here
