"""A controller process for test_warm_process: one launch under a given process state.

    python tests/executor/_warm_helper.py LAUNCHER PROBE OUT [--umask OCT] [--limit N=SOFT]...

Sets its own umask and soft resource limits (the working directory, environment and stdio
come from whoever runs it), starts ``LAUNCHER filedescs=R,W`` as llvm-jitlink does, writes
the executor's ``probe_state`` to OUT, runs ``probe_echo`` (a line to stdout, one to stderr:
the executor's stdio is this process's), disconnects, and exits with the launcher's status.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from actors.orc import spawn_executor
from tests.executor._warm import Probe


async def _run(launcher: str, probe: Path, out: Path) -> int:
    epc = await spawn_executor([launcher], llvm_major=14)
    try:
        found = await Probe.open(epc, probe)
        await found.state(out)
        await found.run("probe_echo", "echo: ", "to stderr")
    finally:
        await epc.disconnect()
    assert epc.process is not None
    return epc.process.returncode or 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("launcher")
    parser.add_argument("probe", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--umask", type=lambda text: int(text, 8))
    parser.add_argument("--limit", action="append", default=[])
    args = parser.parse_args()
    if args.umask is not None:
        os.umask(args.umask)
    for item in args.limit:
        number, _, soft = item.partition("=")
        hard = resource.getrlimit(int(number))[1]
        resource.setrlimit(int(number), (int(soft), hard))
    return asyncio.run(_run(args.launcher, args.probe, args.out))


if __name__ == "__main__":
    sys.exit(main())
