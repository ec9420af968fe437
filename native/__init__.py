"""Native layer of orcrt: process memory, dynamic libraries, native calls, eh-frames (ctypes)."""

__all__: list[str] = []
