"""Embed an orcrt Session in an existing asyncio application.

The application is a small line-based TCP service on 127.0.0.1. It already has its own
event loop and its own server; the Session joins that loop with `actors.open_session` (no
private loop, nothing blocking). Each request line names a wrapper function that the
service's simulated controller calls inside the Session, and the reply goes back on the
socket. The script starts the server, runs a client against it, and exits.

    python examples/embedded_tcp_server.py
"""

from __future__ import annotations

import asyncio

import actors
from actors.testing import SimulatedController


async def serve(session: actors.Session, controller: SimulatedController) -> asyncio.Server:
    wrappers = {
        b"reverse": await session.register_wrapper(lambda data: data[::-1]),
        b"length": await session.register_wrapper(lambda data: str(len(data)).encode()),
    }

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                name, _, payload = line.rstrip(b"\n").partition(b" ")
                address = wrappers.get(name)
                if address is None:
                    writer.write(b"error: unknown wrapper " + name + b"\n")
                else:
                    reply = await controller.call(address, payload, timeout=5)
                    writer.write(reply + b"\n")
                await writer.drain()
        finally:
            writer.close()
            await writer.wait_closed()

    return await asyncio.start_server(on_client, "127.0.0.1", 0)


async def client(port: int) -> list[bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answers = []
    for request in (b"reverse stressed", b"length hello", b"nonsense x"):
        writer.write(request + b"\n")
        await writer.drain()
        answers.append((await reader.readline()).rstrip(b"\n"))
    writer.close()
    await writer.wait_closed()
    return answers


async def application() -> int:
    async with actors.open_session(name="embedded") as session:
        controller = await SimulatedController.attach(session)
        server = await serve(session, controller)
        port = server.sockets[0].getsockname()[1]
        async with server:
            answers = await asyncio.wait_for(client(port), 10)
        for answer in answers:
            print(answer.decode())
    expected = [b"desserts", b"5", b"error: unknown wrapper nonsense"]
    return 0 if answers == expected else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(application()))
