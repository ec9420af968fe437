"""Shared helpers for the protocol tests."""

from __future__ import annotations

from collections.abc import Callable

from protocol import DecodeError

__all__ = ["decode_error_of"]


def decode_error_of(action: Callable[[], object]) -> DecodeError | None:
    """Run ``action``; return the DecodeError it raised, or None if it succeeded.

    Anything else propagates, which is what the fuzz tests check: only protocol errors come out.
    """
    try:
        action()
    except DecodeError as exc:
        return exc
    return None
