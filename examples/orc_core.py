"""The controller half's core: JITDylibs, absolute symbols and a custom MaterializationUnit.

    python examples/orc_core.py

A ``libc`` JITDylib holds absolute symbols (addresses known up front). A ``main`` JITDylib
links against it and holds a custom unit that "compiles" two functions when one of them is
first looked up: it resolves its symbols, looks up what they call (``puts``) as a linker
would, and emits them depending on it. A hundred lookups run concurrently; the unit is
materialized exactly once and every lookup gets the same addresses.
"""

from __future__ import annotations

import asyncio

from actors.orc import (
    ExecutorSymbolDef,
    JITDylib,
    JITSymbolFlags,
    MaterializationResponsibility,
    MaterializationUnit,
    SymbolDependenceGroup,
    SymbolState,
    absolute_symbols,
    open_execution_session,
)

CALLABLE = JITSymbolFlags.EXPORTED | JITSymbolFlags.CALLABLE


class Compiler(MaterializationUnit):
    """Pretends to compile one function per name, each calling ``puts``."""

    def __init__(self, functions: list[str], base: int) -> None:
        super().__init__({name: CALLABLE for name in functions})
        self.base = base
        self.runs = 0

    @property
    def name(self) -> str:
        return "greeter.o"

    async def materialize(self, mr: MaterializationResponsibility) -> None:
        self.runs += 1
        await asyncio.sleep(0.01)  # the "compilation"; lookups of other symbols go on meanwhile
        addresses = {name: self.base + 16 * i for i, name in enumerate(mr.symbols)}
        await mr.notify_resolved({n: ExecutorSymbolDef(a, CALLABLE) for n, a in addresses.items()})
        # Like a linker: find the externals in the link order (this materializes them)...
        es, jd = mr.session, mr.target_jitdylib
        order = await jd.link_order()
        await es.lookup(order, ["puts"], required_state=SymbolState.RESOLVED)
        owner: JITDylib = order[-1][0]
        # ... and emit: our functions are Ready once puts is.
        await mr.notify_emitted([SymbolDependenceGroup(set(mr.symbols), {owner: {"puts"}})])


async def main() -> int:
    async with open_execution_session(name="demo") as es:
        libc = await es.create_jitdylib("libc")
        await libc.define(absolute_symbols({"puts": ExecutorSymbolDef(0x7F00_0000_1000, CALLABLE)}))
        main_jd = await es.create_jitdylib("main")
        await main_jd.add_to_link_order(libc)
        compiler = Compiler(["hello", "goodbye"], base=0x10_0000)
        await main_jd.define(compiler)

        lookups = [es.lookup([main_jd, libc], ["hello", "goodbye", "puts"]) for _ in range(100)]
        results = await asyncio.gather(*lookups)
        first = {str(name): hex(d.address) for name, d in results[0].items()}
        print(f"{len(results)} lookups, unit materialized {compiler.runs} time(s): {first}")
        print(await main_jd.dump(), end="")
        same = all(result == results[0] for result in results)
        return 0 if same and compiler.runs == 1 else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
