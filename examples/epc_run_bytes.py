"""Spawn LLVM's executor, write six bytes of x86-64 code into it, run them: prints 42.

The README's ExecutorProcessControl example (there without this docstring and blank lines).
"""

import asyncio

from actors.orc import Segment, spawn_executor
from protocol import MemProt

CODE = bytes.fromhex("b82a000000c3")  # x86-64: mov eax, 42; ret


async def main() -> None:
    async with spawn_executor("/usr/lib/llvm-14/bin/llvm-jitlink-executor") as epc:
        base = await epc.memory_manager.reserve(epc.page_size)
        await epc.memory_manager.finalize(
            [Segment(MemProt.READ | MemProt.EXEC, base, len(CODE), CODE)]
        )
        print(await epc.run_as_main(base))


asyncio.run(main())
