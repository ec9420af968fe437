"""The asyncio actor system of orcrt: Session, ResourceManagers, ControllerAccess, dispatchers.

Start a Session from a script with `run`, or inside an existing asyncio program with
`open_session`; both give a `Session` handle. The names below are loaded on first use, so
``import actors`` (and the ``orcrt-executor`` start-up path) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._actor import Actor as Actor
    from ._actor import ActorRef as ActorRef
    from ._actor import Ask as Ask
    from ._actor import ErrorReporter as ErrorReporter
    from ._actor import Message as Message
    from ._controller import CallController as CallController
    from ._controller import ControllerAccess as ControllerAccess
    from ._controller import Disconnect as Disconnect
    from ._controller import IncomingCall as IncomingCall
    from ._controller import IncomingResult as IncomingResult
    from ._controller import LinkLost as LinkLost
    from ._dispatcher import Dispatch as Dispatch
    from ._dispatcher import InLoopDispatcher as InLoopDispatcher
    from ._dispatcher import ManualDispatcher as ManualDispatcher
    from ._dispatcher import PendingCount as PendingCount
    from ._dispatcher import RunNext as RunNext
    from ._dispatcher import RunUntilEmpty as RunUntilEmpty
    from ._dispatcher import ShutdownDispatcher as ShutdownDispatcher
    from ._dispatcher import Task as Task
    from ._dispatcher import TaskDispatcher as TaskDispatcher
    from ._dispatcher import ThreadPoolDispatcher as ThreadPoolDispatcher
    from ._errors import ActorClosedError as ActorClosedError
    from ._errors import ActorCrashedError as ActorCrashedError
    from ._errors import ActorError as ActorError
    from ._errors import DisconnectedError as DisconnectedError
    from ._errors import NoControllerError as NoControllerError
    from ._errors import RemoteCallError as RemoteCallError
    from ._errors import SessionShutdownError as SessionShutdownError
    from ._executor import ExecutorSession as ExecutorSession
    from ._executor import open_executor_session as open_executor_session
    from ._inprocess import InProcessControllerAccess as InProcessControllerAccess
    from ._resources import DetachResource as DetachResource
    from ._resources import ResourceManager as ResourceManager
    from ._resources import ShutdownResource as ShutdownResource
    from ._scope import ExecutionScope as ExecutionScope
    from ._scope import ExecutionScopeGuard as ExecutionScopeGuard
    from ._scope import ScopeState as ScopeState
    from ._session import NativeWrapperFactory as NativeWrapperFactory
    from ._session import Session as Session
    from ._session import SessionStatistics as SessionStatistics
    from ._session import WrapperEntry as WrapperEntry
    from ._session import open_session as open_session
    from ._session import run as run
    from ._wrappers import OutOfBandError as OutOfBandError
    from ._wrappers import ReturnFn as ReturnFn
    from ._wrappers import WrapperFunction as WrapperFunction
    from ._wrappers import WrapperResult as WrapperResult
    from ._wrappers import python_wrapper as python_wrapper

# Public name -> the private module that defines it.
_EXPORTS: dict[str, str] = {
    "Actor": "_actor",
    "ActorRef": "_actor",
    "Ask": "_actor",
    "Message": "_actor",
    "ErrorReporter": "_actor",
    "CallController": "_controller",
    "ControllerAccess": "_controller",
    "Disconnect": "_controller",
    "IncomingCall": "_controller",
    "IncomingResult": "_controller",
    "LinkLost": "_controller",
    "Dispatch": "_dispatcher",
    "InLoopDispatcher": "_dispatcher",
    "ManualDispatcher": "_dispatcher",
    "PendingCount": "_dispatcher",
    "RunNext": "_dispatcher",
    "RunUntilEmpty": "_dispatcher",
    "ShutdownDispatcher": "_dispatcher",
    "Task": "_dispatcher",
    "TaskDispatcher": "_dispatcher",
    "ThreadPoolDispatcher": "_dispatcher",
    "ActorClosedError": "_errors",
    "ActorCrashedError": "_errors",
    "ActorError": "_errors",
    "DisconnectedError": "_errors",
    "NoControllerError": "_errors",
    "RemoteCallError": "_errors",
    "SessionShutdownError": "_errors",
    "ExecutorSession": "_executor",
    "open_executor_session": "_executor",
    "InProcessControllerAccess": "_inprocess",
    "DetachResource": "_resources",
    "ResourceManager": "_resources",
    "ShutdownResource": "_resources",
    "ExecutionScope": "_scope",
    "ExecutionScopeGuard": "_scope",
    "ScopeState": "_scope",
    "NativeWrapperFactory": "_session",
    "Session": "_session",
    "SessionStatistics": "_session",
    "WrapperEntry": "_session",
    "open_session": "_session",
    "run": "_session",
    "OutOfBandError": "_wrappers",
    "ReturnFn": "_wrappers",
    "WrapperFunction": "_wrappers",
    "WrapperResult": "_wrappers",
    "python_wrapper": "_wrappers",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'actors' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
