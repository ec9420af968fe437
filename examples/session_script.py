"""Spawn the orcrt actor system from a script.

`actors.run` starts an event loop (uvloop when installed), opens a Session, runs `main`, and
shuts the Session down. Here a Python wrapper function gets an executor address, a simulated
controller calls it, and the executor calls back into the controller through a handler tag.

    python examples/session_script.py
"""

from __future__ import annotations

import actors
from actors.testing import SimulatedController

GREETING_TAG = 0x1000


async def main(session: actors.Session) -> int:
    async def shout(args: bytes) -> bytes:
        # A wrapper may call the controller while it runs, as JIT'd code does.
        greeting = await session.call_controller(GREETING_TAG, args)
        return greeting.upper()

    address = await session.register_wrapper(shout)
    controller = await SimulatedController.attach(session)
    await controller.register_handler(GREETING_TAG, lambda name: b"hello, " + name)
    reply = await controller.call(address, b"orcrt", timeout=5)
    print(f"wrapper at {address:#x} answered {reply.decode()}")
    stats = await session.statistics()
    print(f"wrapper calls: {stats.wrapper_calls}, resource managers: {stats.resource_managers}")
    return 0 if reply == b"HELLO, ORCRT" else 1


if __name__ == "__main__":
    raise SystemExit(actors.run(main))
