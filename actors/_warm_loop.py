"""The warm-start server's loop: connections from launchers, executor children, the standby.

One thread, no event loop (the server forks, and a process forks safely only with one thread):
a `selectors` loop over the listening socket, each launcher's connection and a pidfd per child.

- A connection: its peer's uid must be ours (SO_PEERCRED), else it is closed. It gets a
  greeting, then sends one request (`actors._warm_wire`).
- A launch request is checked (`WarmLoop._why_not`: the server's modules unchanged on disk,
  one thread, the resource limits settable), then handed to the *standby*: a child forked in
  advance that waits for exactly this (`actors._warm_child.standby`), so a launch costs no
  fork; without a standby the server forks one on the spot. The launcher learns the pid. A
  new standby is forked when an executor has ended (forking earlier would compete for the
  CPUs with the executor's own start).
- A child's pidfd becomes readable when it exits: its wait status goes to its launcher.
- A launcher's connection that closes (or speaks) while its executor runs means the launcher
  died: the executor is killed (SIGKILL), as it would have died with the process it is part of.
- Retiring (a newer server of this installation asked, or the modules changed): stop listening
  and unlink the socket, exit once every executor has ended. Idle (no connection, no executor)
  for the idle timeout: exit. Either way the standby is killed first.
"""

from __future__ import annotations

import array
import contextlib
import os
import selectors
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Sequence
from typing import Final, NoReturn

from . import _warm_wire as wire

__all__ = ["WarmLoop", "fingerprint", "fingerprint_paths", "log"]

_PROG: Final = "orcrt-warm-server"
_MAX_FDS: Final = 253  # SCM_MAX_FD
_PEERCRED: Final = struct.Struct("3i")
_WIRE_INFINITY: Final = 2**64 - 1  # RLIM_INFINITY as the launcher sends it


def log(message: str) -> None:
    """One line to the server's log (its stderr: the log file beside the socket)."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"{stamp} {_PROG}[{os.getpid()}]: {message}", file=sys.stderr, flush=True)


def fingerprint_paths() -> list[str]:
    """The files of every imported module outside the standard library (which an upgrade of
    orcrt or of a package it uses changes; the interpreter itself is in the socket's name)."""
    stdlib = os.path.dirname(os.__file__) + os.sep
    paths = []
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not isinstance(path, str):
            continue
        if path.startswith(stdlib) and "-packages" + os.sep not in path[len(stdlib) :]:
            continue
        paths.append(path)
    return sorted(paths)


def fingerprint(paths: Sequence[str]) -> list[tuple[int, int]]:
    """(mtime, size) of each of ``paths``; (-1, -1) for a file that is gone."""
    prints = []
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            prints.append((-1, -1))
        else:
            prints.append((info.st_mtime_ns, info.st_size))
    return prints


class _Connection:
    """One launcher: reading its request, then waiting for its executor."""

    __slots__ = ("child", "data", "fds", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.data = bytearray()
        self.fds: list[int] = []
        self.child: _Child | None = None

    def drop_fds(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds.clear()


class _Child:
    """A forked child: the standby (``channel`` set, no connection) or an executor."""

    __slots__ = ("channel", "connection", "pid", "pidfd")

    def __init__(self, pid: int, channel: socket.socket | None = None) -> None:
        self.pid = pid
        self.pidfd = os.pidfd_open(pid)
        self.channel = channel
        self.connection: _Connection | None = None


class WarmLoop:
    """The server's loop over ``listener`` (bound to ``path``, listening, non-blocking).

    Created once by the server's start-up on its main thread, which then calls `serve` (the
    rest of the process's life). Not thread-safe; there are no other threads.
    """

    def __init__(self, path: str, listener: socket.socket, idle_timeout: float) -> None:
        self._path = path
        self._inode = os.stat(path).st_ino
        self._listener: socket.socket | None = listener
        self._idle_timeout = idle_timeout
        self._selector = selectors.DefaultSelector()
        self._selector.register(listener, selectors.EVENT_READ, self._accept)
        self._connections: dict[int, _Connection] = {}
        self._children: dict[int, _Child] = {}  # by pidfd
        self._standby: _Child | None = None
        self._module_files = fingerprint_paths()
        self._fingerprint = fingerprint(self._module_files)
        self._retiring = False
        self._idle_since = time.monotonic()

    # -- life cycle -------------------------------------------------------------------------

    def serve(self) -> int:
        """Serve until idle or retired with no executor left; returns 0."""
        try:
            self._fork_standby()
            while True:
                busy = bool(self._connections) or len(self._children) > (self._standby is not None)
                if not busy and (self._retiring or self._idle_left() <= 0):
                    return 0
                timeout = None if busy else max(0.0, self._idle_left())
                for key, _ in self._selector.select(timeout):
                    key.data(key.fileobj)
        finally:
            self._stop_listening()
            self._drop_standby()
            for child in self._children.values():
                os.close(child.pidfd)
                log(f"leaving executor {child.pid} running")

    def _idle_left(self) -> float:
        return self._idle_since + self._idle_timeout - time.monotonic()

    def _retire(self, why: str) -> None:
        if not self._retiring:
            log(f"retiring: {why}")
            self._retiring = True
            self._stop_listening()
            self._drop_standby()

    def _stop_listening(self) -> None:
        if self._listener is None:
            return
        self._selector.unregister(self._listener)
        self._listener.close()
        self._listener = None
        try:
            if os.stat(self._path).st_ino == self._inode:
                os.unlink(self._path)  # still ours: a newer server may have taken the name
        except OSError:
            pass

    # -- connections ------------------------------------------------------------------------

    def _accept(self, listener: object) -> None:
        assert isinstance(listener, socket.socket)
        while True:
            try:
                sock, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log(f"accept failed: {exc}")
                return
            self._idle_since = time.monotonic()
            _pid, uid, _gid = _PEERCRED.unpack(
                sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
            )
            if uid != os.getuid():
                log(f"refused a connection from uid {uid}")
                sock.close()
                continue
            sock.setblocking(False)
            try:
                sock.send(wire.greeting(os.getpid()))
            except OSError:
                sock.close()
                continue
            self._connections[sock.fileno()] = _Connection(sock)
            self._selector.register(sock, selectors.EVENT_READ, self._readable)

    def _close(self, connection: _Connection) -> None:
        connection.drop_fds()
        self._selector.unregister(connection.sock)
        del self._connections[connection.sock.fileno()]
        connection.sock.close()
        if connection.child is not None:
            connection.child.connection = None
        self._idle_since = time.monotonic()

    def _readable(self, sock: object) -> None:
        assert isinstance(sock, socket.socket)
        connection = self._connections[sock.fileno()]
        try:
            data, ancillary, flags, _ = sock.recvmsg(
                1 << 16, socket.CMSG_SPACE(_MAX_FDS * 4), socket.MSG_CMSG_CLOEXEC
            )
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data, ancillary, flags = b"", [], 0
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                usable = len(payload) - len(payload) % 4
                connection.fds.extend(struct.unpack(f"{usable // 4}i", payload[:usable]))
        if connection.child is not None:
            # A launcher whose executor runs only waits: EOF (or anything) means it is gone.
            self._kill(connection.child)
            self._close(connection)
            return
        if not data or flags & socket.MSG_CTRUNC:
            self._close(connection)
            return
        connection.data += data
        self._maybe_handle(connection)

    def _maybe_handle(self, connection: _Connection) -> None:
        if len(connection.data) < wire.HEADER.size:
            return
        magic, kind, size = wire.HEADER.unpack_from(connection.data)
        if magic != wire.REQUEST_MAGIC or size > wire.MAX_BODY:
            log("dropped a connection that does not speak the warm-start protocol")
            self._close(connection)
            return
        end = wire.HEADER.size + size
        if len(connection.data) < end:
            return
        if len(connection.data) > end:
            self._refuse(connection, "bytes after the request")
        elif kind == wire.KIND_RETIRE:
            self._close(connection)
            self._retire("a newer server of this installation started")
        elif kind in wire.LAUNCH_KINDS:
            self._launch(connection, kind)
        else:
            self._refuse(connection, f"unknown request kind {kind}")

    def _refuse(self, connection: _Connection, reason: str) -> None:
        with contextlib.suppress(OSError):
            connection.sock.send(wire.refused(reason))
        self._close(connection)

    # -- launching --------------------------------------------------------------------------

    def _why_not(self, request: wire.LaunchRequest, fds: Sequence[int]) -> str | None:
        """Why this launch cannot be served (the launcher then starts cold), or None."""
        if self._retiring:
            return "stale"
        if fingerprint(self._module_files) != self._fingerprint:
            self._retire("its modules changed on disk")
            return "stale"
        if len(fds) != len(request.fd_numbers) + 1:
            return f"{len(fds)} descriptors came with a request naming {len(request.fd_numbers)}"
        reason = _why_not_fork()
        if reason is not None:
            return reason
        if os.geteuid() != 0:
            import resource

            for number, (_soft, hard) in enumerate(request.limits):
                try:
                    ours = resource.getrlimit(number)[1]
                except ValueError:
                    return f"resource limit {number} is unknown here"
                if ours != resource.RLIM_INFINITY and (hard == _WIRE_INFINITY or hard > ours):
                    return f"resource limit {number} asks for a hard limit above the server's"
        return None

    def _launch(self, connection: _Connection, kind: int) -> None:
        raw = bytes(connection.data)
        try:
            request = wire.decode_launch(raw[wire.HEADER.size :], kind)
        except wire.WireError as exc:
            self._refuse(connection, str(exc))
            return
        reason = self._why_not(request, connection.fds)
        if reason is not None:
            self._refuse(connection, reason)
            return
        fds, connection.fds = connection.fds, []
        try:
            child = self._hand_to_standby(raw, fds) or self._fork(request, fds)
        finally:
            for fd in fds:
                os.close(fd)
        child.connection = connection
        connection.child = child
        try:
            connection.sock.send(wire.started(child.pid))
        except OSError:
            self._kill(child)
            self._close(connection)

    def _hand_to_standby(self, raw: bytes, fds: Sequence[int]) -> _Child | None:
        standby, self._standby = self._standby, None
        if standby is None:
            return None
        channel = standby.channel
        assert channel is not None
        standby.channel = None
        try:
            rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))]
            sent = channel.sendmsg([raw], rights)
            if sent < len(raw):
                # Never an empty sendall: it still sends (nothing), and fails with EPIPE once
                # the standby, which has it all, closed its end.
                channel.sendall(raw[sent:])
        except OSError as exc:
            # Refused before the whole request was there: the standby cannot have started.
            log(f"standby {standby.pid} is gone ({exc}); forking instead")
            self._kill(standby)
            return None
        finally:
            channel.close()
        return standby

    def _fork(self, request: wire.LaunchRequest, fds: list[int]) -> _Child:
        pid = os.fork()
        if pid == 0:
            self._in_child(lambda: _become(request, fds))
        return self._track(_Child(pid))

    def _fork_standby(self) -> None:
        if self._retiring or _why_not_fork() is not None:
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            ours.detach()
            self._in_child(lambda: _wait_as_standby(theirs))
        theirs.close()
        self._standby = self._track(_Child(pid, ours))

    def _in_child(self, then: object) -> NoReturn:
        """In a fresh child: let go of the server's sockets, then run ``then()``."""
        try:
            # Detach (not close) the server's socket objects: the child closes the numbers in
            # one sweep, and an object closing its number later could hit the executor's.
            if self._listener is not None:
                self._listener.detach()
            for connection in self._connections.values():
                connection.sock.detach()
            if self._standby is not None and self._standby.channel is not None:
                self._standby.channel.detach()
            self._selector.close()
            assert callable(then)
            then()
        finally:
            os._exit(70)

    def _track(self, child: _Child) -> _Child:
        self._children[child.pidfd] = child
        self._selector.register(child.pidfd, selectors.EVENT_READ, self._reap)
        return child

    def _kill(self, child: _Child) -> None:
        with contextlib.suppress(ProcessLookupError):  # exited: its pidfd is readable already
            os.kill(child.pid, signal.SIGKILL)

    def _drop_standby(self) -> None:
        standby, self._standby = self._standby, None
        if standby is None:
            return
        self._kill(standby)
        os.waitpid(standby.pid, 0)
        self._selector.unregister(standby.pidfd)
        del self._children[standby.pidfd]
        os.close(standby.pidfd)
        if standby.channel is not None:
            standby.channel.close()

    def _reap(self, pidfd: object) -> None:
        assert isinstance(pidfd, int)
        child = self._children.pop(pidfd)
        _, status = os.waitpid(child.pid, 0)
        self._selector.unregister(pidfd)
        os.close(pidfd)
        self._idle_since = time.monotonic()
        if child is self._standby:
            log(f"standby {child.pid} ended (status {status:#x})")
            self._standby = None
            if child.channel is not None:
                child.channel.close()
            return
        connection = child.connection
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.sock.send(wire.ended(status))
            self._close(connection)
        if self._standby is None:
            # Now, not right after handing the last one over: a fork then would compete for
            # the CPUs with the executor's start (and the controller's), on the launch's path.
            self._fork_standby()


def _why_not_fork() -> str | None:
    threads = len(os.listdir("/proc/self/task"))
    if threading.active_count() != 1 or threads != 1:
        return f"the server runs {threads} threads; it forks only with one"
    return None


def _become(request: wire.LaunchRequest, fds: list[int]) -> None:
    from ._warm_child import become_program

    become_program(request, fds)


def _wait_as_standby(channel: socket.socket) -> None:
    from ._warm_child import standby

    standby(channel)
