"""`GraphDumpPlugin`: print each linked graph, as ``llvm-jitlink -show-graph`` does.

After the fixups (a post-fixup pass, where llvm-jitlink dumps), the graph is rendered by
`actors.orc.jitlink.dump_graph` under the title ``Link graph "<name>" post-fixup:``. A
pattern limits it to graphs whose name it matches (22's ``-show-graphs=<regex>``).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from ._link_plugin import LinkPlugin

if TYPE_CHECKING:
    from ._materialization import MaterializationResponsibility
    from .jitlink import LinkGraph, PassConfiguration

__all__ = ["GraphDumpPlugin"]


def _write_stdout(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


class GraphDumpPlugin(LinkPlugin):
    """Hands each matching graph's dump to ``write`` after its fixups.

    Args:
        pattern: a regular expression searched in the graph's name (None: every graph).
        write: receives each dump (a string ending in a newline); default: stdout. It is
            called on the worker thread running the graph's passes.

    Raises:
        re.error: ``pattern`` is not a valid regular expression.
    """

    def __init__(
        self, pattern: str | None = None, write: Callable[[str], object] | None = None
    ) -> None:
        self._pattern = None if pattern is None else re.compile(pattern)
        self._write = write or _write_stdout

    def __repr__(self) -> str:
        shown = "all graphs" if self._pattern is None else repr(self._pattern.pattern)
        return f"<GraphDumpPlugin {shown}>"

    def modify_pass_config(
        self, mr: MaterializationResponsibility, graph: LinkGraph, config: PassConfiguration
    ) -> None:
        """Add the dumping pass after the fixups, if the graph's name matches."""
        if self._pattern is not None and self._pattern.search(graph.name) is None:
            return
        config.post_fixup.append(self._dump)

    def _dump(self, graph: LinkGraph) -> None:
        from .jitlink import dump_graph

        self._write(dump_graph(graph, f'Link graph "{graph.name}" post-fixup:') + "\n")
