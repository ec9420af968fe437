"""Test your own executor-side code against orcrt's simulated controller.

The ``orcrt`` pytest plugin (installed with orcrt) provides two fixtures: ``orcrt_session``, a
fresh Session, and ``simulated_controller``, a controller attached to it. Run with

    python -m pytest examples/test_user_code.py
"""

from __future__ import annotations

import json

import pytest

import actors
from actors.testing import SimulatedController

LOG_TAG = 0x2000


class Inventory:
    """User code: an executor-side service that reports changes to the controller."""

    def __init__(self, session: actors.Session) -> None:
        self.session = session
        self.items: dict[str, int] = {}

    async def add(self, args: bytes) -> bytes:
        request = json.loads(args)
        self.items[request["name"]] = self.items.get(request["name"], 0) + request["count"]
        await self.session.call_controller(LOG_TAG, f"added {request['name']}".encode())
        return json.dumps(self.items).encode()


@pytest.mark.asyncio
async def test_inventory_reports_each_addition(
    orcrt_session: actors.Session, simulated_controller: SimulatedController
) -> None:
    """Each call updates the inventory and logs one line to the controller."""
    logged: list[bytes] = []

    def log_line(line: bytes) -> bytes:
        logged.append(line)
        return b""

    await simulated_controller.register_handler(LOG_TAG, log_line)
    address = await orcrt_session.register_wrapper(Inventory(orcrt_session).add)
    request = json.dumps({"name": "bolt", "count": 3}).encode()
    assert json.loads(await simulated_controller.call(address, request, timeout=5)) == {"bolt": 3}
    assert json.loads(await simulated_controller.call(address, request, timeout=5)) == {"bolt": 6}
    assert logged == [b"added bolt", b"added bolt"]


@pytest.mark.asyncio
async def test_inventory_survives_a_failing_controller(
    orcrt_session: actors.Session, simulated_controller: SimulatedController
) -> None:
    """When the controller's log handler fails, the call reports the failure by message."""
    await simulated_controller.fail_handler(LOG_TAG, "log is full")
    address = await orcrt_session.register_wrapper(Inventory(orcrt_session).add)
    with pytest.raises(actors.RemoteCallError, match="log is full"):
        await simulated_controller.call(address, b'{"name": "nut", "count": 1}', timeout=5)
