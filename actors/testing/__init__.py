"""Testing kit for users of orcrt: the simulated controller and its pytest fixtures.

`SimulatedController` attaches to a Session and plays the controller's part. With pytest and
pytest-asyncio installed, the ``orcrt`` plugin (registered on install) provides the fixtures
``orcrt_session`` (a fresh Session) and ``simulated_controller`` (a controller attached to it).
"""

from ._simulated import ControllerStatistics as ControllerStatistics
from ._simulated import Handler as Handler
from ._simulated import SimulatedController as SimulatedController

__all__ = ["ControllerStatistics", "Handler", "SimulatedController"]
