"""Errors raised by the actor layer, grouped by what the caller can do about them.

```
ActorError
├─ ActorClosedError     the actor was closed before it took the message (or refuses new ones)
├─ ActorCrashedError    the actor's task died; the original exception is the __cause__
├─ DisconnectedError    the controller link is gone ("disconnected")
├─ NoControllerError    no controller is attached ("no controller attached")
├─ RemoteCallError      a wrapper call ended with an out-of-band error (.message)
└─ SessionShutdownError the Session is shutting down or has shut down
```
Misuse (wrong types, unbalanced releases) raises the built-in TypeError/ValueError/RuntimeError.
"""

from __future__ import annotations

__all__ = [
    "ActorClosedError",
    "ActorCrashedError",
    "ActorError",
    "DisconnectedError",
    "NoControllerError",
    "RemoteCallError",
    "SessionShutdownError",
]


class ActorError(Exception):
    """Base of every error the actor layer raises for runtime conditions (not misuse)."""


class ActorClosedError(ActorError):
    """The actor was closed before it took the message; the message was not handled.

    Raised by `ActorRef.tell`/`ask` on a closed actor, and set on every ask that was still
    queued when the actor closed.
    """


class ActorCrashedError(ActorError):
    """The actor's task ended with an exception; the exception is chained as ``__cause__``."""


class DisconnectedError(ActorError):
    """The controller link is gone: the call was pending, or made while disconnecting.

    The message is exactly ``"disconnected"`` unless a reason is known, matching orc-rt's
    canonical out-of-band error for calls failed by a disconnect.
    """

    def __init__(self, message: str = "disconnected") -> None:
        super().__init__(message)


class NoControllerError(ActorError):
    """An executor -> controller call was made while no controller is attached.

    The message is exactly ``"no controller attached"`` (orc-rt's wording).
    """

    def __init__(self, message: str = "no controller attached") -> None:
        super().__init__(message)


class RemoteCallError(ActorError):
    """A wrapper-function call failed with an out-of-band error; ``message`` keeps its text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SessionShutdownError(ActorError):
    """The Session is shutting down or has shut down, so the request was refused."""
