"""``python -m actors``: the same executor as the ``orcrt-executor`` command."""

from ._cli import entry

entry()
