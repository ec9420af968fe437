"""InProcessControllerAccess: a controller link to a controller actor in the same process.

The controller on the other end is any actor that takes `ControllerSideMessage`s (the
simulated controller in `actors.testing` is one). Frames become messages:

| direction              | message on the other side            | answered by                  |
|------------------------|--------------------------------------|------------------------------|
| executor -> controller | `ExecutorCall(seq_no, tag, args)`    | `IncomingResult` to us       |
| controller -> executor | a `WrapperCall` straight to the Session | `WrapperResultSent(ref, result)` |
| either side closes     | `LinkClosed()` to the controller / `LinkLost` to us | —            |
"""

from __future__ import annotations

import contextlib
from typing import Final

from ._actor import ActorRef, Message
from ._controller import ControllerAccess, ControllerAccessMessage
from ._errors import ActorClosedError, DisconnectedError
from ._wrappers import WrapperResult

__all__ = [
    "ControllerSideMessage",
    "ExecutorCall",
    "InProcessControllerAccess",
    "LinkClosed",
    "LinkOpened",
    "WrapperResultSent",
]


class LinkOpened(Message):
    """To the controller: the executor side is up; ``access`` is where to send calls."""

    __slots__ = ("access", "session_name")

    def __init__(self, *, access: ActorRef[ControllerAccessMessage], session_name: str) -> None:
        self.access: Final = access
        self.session_name: Final = session_name


class ExecutorCall(Message):
    """To the controller: the executor calls handler ``tag``; answer with ``IncomingResult``."""

    __slots__ = ("args", "seq_no", "tag")

    def __init__(self, *, seq_no: int, tag: int, args: bytes) -> None:
        self.seq_no: Final = seq_no
        self.tag: Final = tag
        self.args: Final = args


class WrapperResultSent(Message):
    """To the controller: the result of its call ``ref`` of an executor wrapper."""

    __slots__ = ("ref", "result")

    def __init__(self, *, ref: int, result: WrapperResult) -> None:
        self.ref: Final = ref
        self.result: Final = result


class LinkClosed(Message):
    """To the controller: the executor side closed the link (no further calls either way)."""

    __slots__ = ("reason",)

    def __init__(self, *, reason: BaseException | None = None) -> None:
        self.reason: Final = reason


ControllerSideMessage = LinkOpened | ExecutorCall | WrapperResultSent | LinkClosed


class InProcessControllerAccess(ControllerAccess):
    """Controller access whose controller is an actor in this process (see the module table).

    Create with the controller's ref and attach with ``await session.attach(access)``.
    """

    def __init__(self, controller: ActorRef[ControllerSideMessage]) -> None:
        super().__init__()
        self._controller = controller

    async def on_connect(self) -> None:
        """Tell the controller where we are."""
        self._controller.tell(LinkOpened(access=self.ref, session_name=self.session.name))

    async def send_call(self, seq_no: int, tag: int, args: bytes) -> None:
        """Pass an executor -> controller call to the controller actor."""
        try:
            self._controller.tell(ExecutorCall(seq_no=seq_no, tag=tag, args=args))
        except ActorClosedError as exc:
            raise DisconnectedError("disconnected: the controller actor is closed") from exc

    async def send_result(self, ref: int, result: WrapperResult) -> None:
        """Pass a wrapper's result back to the controller actor."""
        try:
            self._controller.tell(WrapperResultSent(ref=ref, result=result))
        except ActorClosedError:
            self.session.report_error(
                DisconnectedError(f"result of call {ref} dropped: the controller actor is closed")
            )

    async def close_link(self, reason: BaseException | None) -> None:
        """Tell the controller the link is closed."""
        # A closed controller actor means the link is as closed as it gets.
        with contextlib.suppress(ActorClosedError):
            self._controller.tell(LinkClosed(reason=reason))
