"""The ``orcrt`` pytest plugin: fixtures for testing code against a simulated controller.

Registered through the ``pytest11`` entry point. The fixtures need pytest-asyncio; without it
the plugin defines nothing rather than break the user's test run.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator

__all__: list[str] = []

if importlib.util.find_spec("pytest_asyncio") is not None:
    import pytest_asyncio

    from actors._session import Session, open_session

    from ._simulated import SimulatedController

    @pytest_asyncio.fixture
    async def orcrt_session() -> AsyncIterator[Session]:
        """A fresh Session on the test's event loop, shut down after the test."""
        async with open_session(name="test-session") as session:
            yield session

    @pytest_asyncio.fixture
    async def simulated_controller(orcrt_session: Session) -> SimulatedController:
        """A simulated controller attached to ``orcrt_session``."""
        return await SimulatedController.attach(orcrt_session)
