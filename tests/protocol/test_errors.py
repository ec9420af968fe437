"""The protocol error hierarchy: what callers can catch and what each error carries."""

from __future__ import annotations

import pytest

from protocol import (
    DecodeError,
    EncodeError,
    ExecutorAddrRange,
    LimitExceededError,
    ProtocolError,
)


def test_errors_hierarchy() -> None:
    """Decode and encode errors are ProtocolErrors and ValueErrors; limits are decode errors."""
    assert issubclass(DecodeError, ProtocolError)
    assert issubclass(DecodeError, ValueError)
    assert issubclass(EncodeError, ProtocolError)
    assert issubclass(EncodeError, ValueError)
    assert issubclass(LimitExceededError, DecodeError)
    assert not issubclass(EncodeError, DecodeError)


def test_decode_error_message_and_offset() -> None:
    """The message names what and where; the offset is an attribute."""
    error = DecodeError("bad thing", offset=7)
    assert str(error) == "bad thing (at byte offset 7)"
    assert (error.what, error.offset) == ("bad thing", 7)


def test_decode_error_with_context_keeps_type_offset_and_limit() -> None:
    """Adding context prefixes the message and keeps the class, offset and limit."""
    error = LimitExceededError("too many", offset=3, limit=10).with_context("argument 1")
    assert type(error) is LimitExceededError
    assert str(error) == "argument 1: too many (at byte offset 3)"
    assert (error.offset, error.limit) == (3, 10)
    plain = DecodeError("x", offset=1).with_context("outer")
    assert type(plain) is DecodeError
    assert plain.what == "outer: x"


def test_executor_addr_range_validates_and_measures() -> None:
    """Ranges know their size and refuse an end below the start."""
    assert ExecutorAddrRange(0x1000, 0x1034).size == 0x34
    with pytest.raises(ValueError, match="end 0x1 is below its start 0x2"):
        ExecutorAddrRange(2, 1)
