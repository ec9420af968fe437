"""Testing kit for users of orcrt: simulated controllers and pytest fixtures.

`SimulatedController` attaches to a Session in this process and plays the controller's part.
`WireController` drives a real executor process over SimpleRemoteEPC (pipes or TCP), as LLVM's
controller would, for tests without LLVM; `ListeningExecutor` starts one in listen mode. With pytest and
pytest-asyncio installed, the ``orcrt`` plugin (registered on install) provides the fixtures
``orcrt_session`` (a fresh Session) and ``simulated_controller`` (a controller attached to it).
"""

from ._simulated import ControllerStatistics as ControllerStatistics
from ._simulated import Handler as Handler
from ._simulated import SimulatedController as SimulatedController
from ._wire import CallSignature as CallSignature
from ._wire import ExecutorExit as ExecutorExit
from ._wire import ListeningExecutor as ListeningExecutor
from ._wire import UnansweredCall as UnansweredCall
from ._wire import WireController as WireController
from ._wire import executor_command as executor_command

__all__ = [
    "CallSignature",
    "ControllerStatistics",
    "ExecutorExit",
    "Handler",
    "ListeningExecutor",
    "SimulatedController",
    "UnansweredCall",
    "WireController",
    "executor_command",
]
