"""In-process figures for the actor runtime (issue #5, part 3), on asyncio and on uvloop.

    python tests/benchmarks/bench_actors.py [--seconds 1.0]

Prints, for each event loop:
- ``ask`` round trip between two actors (one actor asks another, awaits the reply): p50 in us;
- ``tell`` throughput into one actor: messages/s handled (the message object is built once: the
  figure is the runtime's cost, not attrs'), into an ``async def handle`` actor and into a
  plain ``def handle`` one;
- wrapper calls/s through the simulated controller (10,000 concurrent calls of a sync wrapper)
  and its sequential round trip.
Targets (issue #5, uvloop): ask <= 4 us, tell >= 1,000,000/s, >= 100,000 wrapper calls/s.
A script, not a test: pytest does not collect it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import assert_never

import attrs

import actors
from actors.testing import SimulatedController


@attrs.frozen
class Ping(actors.Ask[int]):
    value: int


@attrs.frozen
class Count:
    pass


@attrs.frozen
class Total(actors.Ask[int]):
    pass


_Message = Ping | Count | Total


class Echo(actors.Actor[_Message]):
    """An actor with an ``async def handle`` (the usual kind)."""

    def __init__(self) -> None:
        self.count = 0

    async def handle(self, message: _Message) -> object:
        match message:
            case Ping(value=value):
                return value
            case Count():
                self.count += 1
                return None
            case Total():
                return self.count
            case _:
                assert_never(message)


class SyncEcho(actors.Actor[_Message]):
    """The same actor with a plain ``def handle`` (for actors that never await)."""

    def __init__(self) -> None:
        self.count = 0

    def handle(self, message: _Message) -> object:
        match message:
            case Ping(value=value):
                return value
            case Count():
                self.count += 1
                return None
            case Total():
                return self.count
            case _:
                assert_never(message)


@attrs.frozen
class Run(actors.Ask[list[float]]):
    target: actors.ActorRef[_Message]
    rounds: int


class Asker(actors.Actor[Run]):
    """Asks the echo actor ``rounds`` times from its own task; replies with the timings."""

    async def handle(self, message: Run) -> object:
        timings = []
        clock = time.perf_counter
        target = message.target
        for i in range(message.rounds):
            start = clock()
            await target.ask(Ping(i))
            timings.append(clock() - start)
        return timings


async def measure(session: actors.Session, seconds: float) -> dict[str, float]:
    echo = session.spawn(Echo())
    asker = session.spawn(Asker())
    await asker.ask(Run(target=echo, rounds=2000))  # warm-up
    timings = await asker.ask(Run(target=echo, rounds=max(2000, int(seconds * 100_000))))
    ask_p50 = statistics.median(timings) * 1e6

    count = max(100_000, int(seconds * 1_000_000))
    message = Count()

    async def tell_rate_into(target: actors.ActorRef[_Message]) -> float:
        start = time.perf_counter()
        for _ in range(count):
            target.tell(message)
        await target.ask(Total())
        return count / (time.perf_counter() - start)

    tell_rate = await tell_rate_into(echo)
    tell_sync_rate = await tell_rate_into(session.spawn(SyncEcho()))

    address = await session.register_wrapper(lambda data: data)
    controller = await SimulatedController.attach(session)
    for _ in range(1000):
        await controller.call(address, b"x")
    rounds = 5000
    start = time.perf_counter()
    for _ in range(rounds):
        await controller.call(address, b"x")
    sequential_us = (time.perf_counter() - start) / rounds * 1e6
    calls = 10_000
    start = time.perf_counter()
    await asyncio.gather(*[controller.call_nowait(address, b"x") for _ in range(calls)])
    wrapper_rate = calls / (time.perf_counter() - start)
    return {
        "ask_p50_us": ask_p50,
        "tell_per_s": tell_rate,
        "tell_sync_per_s": tell_sync_rate,
        "wrapper_calls_per_s": wrapper_rate,
        "wrapper_round_trip_us": sequential_us,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="rough length of each figure")
    args = parser.parse_args()
    print(
        f"{'loop':8} {'ask p50 (us)':>13} {'tell, async (msg/s)':>20} {'tell, sync (msg/s)':>19}"
        f" {'wrapper calls/s':>16} {'wrapper RT (us)':>16}"
    )
    for loop_name in ("asyncio", "uvloop"):

        async def body(session: actors.Session) -> dict[str, float]:
            return await measure(session, args.seconds)

        figures = actors.run(body, use_uvloop=loop_name == "uvloop")
        print(
            f"{loop_name:8} {figures['ask_p50_us']:13.2f} {figures['tell_per_s']:20,.0f} "
            f"{figures['tell_sync_per_s']:19,.0f} {figures['wrapper_calls_per_s']:16,.0f} "
            f"{figures['wrapper_round_trip_us']:16.1f}"
        )
    print("targets (uvloop): ask <= 4 us, tell >= 1,000,000/s, wrapper calls >= 100,000/s")


if __name__ == "__main__":
    main()
