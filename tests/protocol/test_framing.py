"""SimpleRemoteEPC frames: header encoding, the incremental decoder, EOF, limits, poisoning."""

from __future__ import annotations

import struct
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import (
    DEFAULT_MAX_FRAME_SIZE,
    HEADER_SIZE,
    DecodeError,
    EncodeError,
    Frame,
    FrameDecoder,
    LimitExceededError,
    Opcode,
    encode_frame,
)
from tests.protocol.helpers import decode_error_of

HEADER = struct.Struct("<QQQQ")

# LLVM 14 hello #22/#23 (traces/llvm14-hello.txt): run_as_main call and its result.
CALL = bytes.fromhex(
    "3000000000000000"
    "0300000000000000"
    "0a00000000000000"
    "4060440000000000"
    "0000e862bf7f0000"
    "0000000000000000"
)
RESULT = bytes.fromhex(
    "280000000000000002000000000000000a0000000000000000000000000000002a00000000000000"
)
CALL_FRAME = Frame(Opcode.CALL_WRAPPER, 10, 0x446040, bytes.fromhex("0000e862bf7f0000") + bytes(8))
RESULT_FRAME = Frame(Opcode.RESULT, 10, 0, b"\x2a" + bytes(7))


def test_encode_frame_golden() -> None:
    """encode_frame reproduces real frames byte for byte, as one bytes object."""
    wire = encode_frame(Opcode.CALL_WRAPPER, 10, 0x446040, CALL_FRAME.payload)
    assert wire == CALL
    assert type(wire) is bytes
    assert encode_frame(2, 10, 0, bytearray(RESULT_FRAME.payload)) == RESULT
    assert encode_frame(Opcode.SETUP, 0, 0, memoryview(b"")) == HEADER.pack(32, 0, 0, 0)


def test_encode_frame_rejects_bad_fields() -> None:
    """Unknown opcodes, out-of-range numbers and non-bytes payloads raise EncodeError."""
    with pytest.raises(EncodeError, match="unknown opcode 4"):
        encode_frame(4, 0, 0, b"")
    with pytest.raises(EncodeError, match="seq_no=-1"):
        encode_frame(Opcode.RESULT, -1, 0, b"")
    with pytest.raises(EncodeError, match="tag=18446744073709551616"):
        encode_frame(Opcode.RESULT, 0, 2**64, b"")
    with pytest.raises(EncodeError, match="payload must be bytes-like"):
        encode_frame(Opcode.RESULT, 0, 0, "text")  # type: ignore[arg-type]  # the point


def test_frame_decoder_whole_frames() -> None:
    """Whole frames in one chunk come out in order, via feed_frames and via feed/next_frame."""
    assert FrameDecoder().feed_frames(CALL + RESULT) == [CALL_FRAME, RESULT_FRAME]
    decoder = FrameDecoder()
    decoder.feed(CALL + RESULT)
    assert decoder.next_frame() == CALL_FRAME
    assert decoder.next_frame() == RESULT_FRAME
    assert decoder.next_frame() is None
    assert decoder.offset == len(CALL + RESULT)


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_frame_decoder_one_byte_at_a_time(kind: type) -> None:
    """Fed one byte per call, the decoder yields each frame exactly when its last byte arrives."""
    wire = CALL + RESULT
    decoder = FrameDecoder()
    got: list[tuple[int, Frame]] = []
    for index in range(len(wire)):
        got.extend((index, frame) for frame in decoder.feed_frames(kind(wire[index : index + 1])))
    assert got == [(len(CALL) - 1, CALL_FRAME), (len(wire) - 1, RESULT_FRAME)]
    decoder.feed_eof()


def test_frame_decoder_trailing_partial_frame_waits() -> None:
    """A whole frame followed by part of the next returns the first and keeps the rest."""
    decoder = FrameDecoder()
    assert decoder.feed_frames(CALL + RESULT[:5]) == [CALL_FRAME]
    assert decoder.next_frame() is None
    assert decoder.feed_frames(RESULT[5:]) == [RESULT_FRAME]


def test_frame_decoder_empty_payload_frame() -> None:
    """A 32-byte frame has an empty payload."""
    assert FrameDecoder().feed_frames(HEADER.pack(32, 1, 0, 0)) == [Frame(Opcode.HANGUP, 0, 0, b"")]


def test_frame_decoder_opcodes_are_enum_members() -> None:
    """Decoded opcodes are Opcode members, usable in match statements."""
    (frame,) = FrameDecoder().feed_frames(RESULT)
    assert frame.opcode is Opcode.RESULT


def test_frame_decoder_eof_at_boundary_is_clean() -> None:
    """EOF at a frame boundary is fine (also on a fresh decoder), and buffered frames remain."""
    FrameDecoder().feed_eof()
    decoder = FrameDecoder()
    decoder.feed(CALL)
    decoder.feed_eof()
    decoder.feed_eof()
    assert decoder.next_frame() == CALL_FRAME
    assert decoder.next_frame() is None


@pytest.mark.parametrize("cut", [1, 31, 32, 40])
def test_frame_decoder_eof_inside_frame_is_an_error(cut: int) -> None:
    """EOF inside a header or a body raises DecodeError at the stream's end offset."""
    decoder = FrameDecoder()
    decoder.feed_frames(RESULT + CALL[:cut])
    with pytest.raises(DecodeError, match="unexpected end of stream inside a frame") as info:
        decoder.feed_eof()
    assert info.value.offset == len(RESULT) + cut
    assert f"starts at offset {len(RESULT)}" in str(info.value)
    with pytest.raises(DecodeError):
        decoder.next_frame()


def test_frame_decoder_feed_after_eof_is_misuse() -> None:
    """Feeding after feed_eof is a caller bug."""
    decoder = FrameDecoder()
    decoder.feed_eof()
    with pytest.raises(RuntimeError, match="after feed_eof"):
        decoder.feed(b"x")
    with pytest.raises(RuntimeError, match="after feed_eof"):
        decoder.feed_frames(b"x")


@pytest.mark.parametrize(
    ("header", "error", "offset", "fragment"),
    [
        (HEADER.pack(31, 2, 0, 0), DecodeError, 0, "MsgSize 31 is smaller than the 32-byte"),
        (HEADER.pack(0, 2, 0, 0), DecodeError, 0, "MsgSize 0"),
        (HEADER.pack(40, 4, 0, 0), DecodeError, 8, "unknown frame opcode 4"),
        (HEADER.pack(40, 2**64 - 1, 0, 0), DecodeError, 8, "unknown frame opcode"),
        (HEADER.pack(2**64 - 1, 2, 0, 0), LimitExceededError, 0, "exceeds the limit"),
    ],
)
@pytest.mark.parametrize("prefix", [b"", RESULT])
@pytest.mark.parametrize("bulk", [True, False])
def test_frame_decoder_bad_header(
    header: bytes,
    error: type[DecodeError],
    offset: int,
    fragment: str,
    prefix: bytes,
    bulk: bool,
) -> None:
    """Bad headers fail as soon as their 32 bytes arrive, at stream offsets, and poison."""
    decoder = FrameDecoder()
    if prefix:
        assert decoder.feed_frames(prefix) == [RESULT_FRAME]
    feed = decoder.feed_frames if bulk else decoder.feed
    with pytest.raises(error) as info:
        feed(header)
    assert type(info.value) is error
    assert info.value.offset == len(prefix) + offset
    assert fragment in str(info.value)
    # Poisoned: every method raises the same error again.
    for call in (decoder.next_frame, decoder.feed_eof, partial(decoder.feed, CALL)):
        with pytest.raises(error) as again:
            call()
        assert again.value is info.value
    assert "poisoned" in repr(decoder)


def test_frame_decoder_bad_header_detected_before_body() -> None:
    """An oversized declaration fails on its header alone, byte by byte too."""
    decoder = FrameDecoder(max_frame_size=64)
    header = HEADER.pack(65, 3, 0, 0)
    for byte in header[:-1]:
        decoder.feed(bytes([byte]))
    with pytest.raises(LimitExceededError) as info:
        decoder.feed(header[-1:])
    assert info.value.limit == 64


@pytest.mark.parametrize("limit", [32, 33, 100])
def test_frame_decoder_limit_at_n_and_n_plus_one(limit: int) -> None:
    """MsgSize equal to the cap is accepted; one more is LimitExceededError."""
    ok = encode_frame(Opcode.CALL_WRAPPER, 1, 2, bytes(limit - HEADER_SIZE))
    assert len(FrameDecoder(max_frame_size=limit).feed_frames(ok)) == 1
    too_big = encode_frame(Opcode.CALL_WRAPPER, 1, 2, bytes(limit + 1 - HEADER_SIZE))
    with pytest.raises(LimitExceededError) as info:
        FrameDecoder(max_frame_size=limit).feed_frames(too_big)
    assert info.value.limit == limit


def test_frame_decoder_rejects_cap_below_header_size() -> None:
    """A cap that no frame could meet is a programming error."""
    with pytest.raises(ValueError, match="max_frame_size must be >= 32"):
        FrameDecoder(max_frame_size=31)
    assert FrameDecoder().max_frame_size == DEFAULT_MAX_FRAME_SIZE


def test_frame_decoder_compacts_large_consumed_prefix() -> None:
    """Many frames fed in one go are returned one by one without losing bytes."""
    frames = [Frame(Opcode.RESULT, i, 0, bytes([i % 256]) * 1000) for i in range(200)]
    wire = b"".join(encode_frame(*frame) for frame in frames)
    decoder = FrameDecoder()
    decoder.feed(wire[:-1])
    got = []
    while (frame := decoder.next_frame()) is not None:
        got.append(frame)
    decoder.feed(wire[-1:])
    last = decoder.next_frame()
    assert last is not None
    got.append(last)
    assert got == frames
    assert decoder.offset == len(wire)
    assert "open" in repr(decoder)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(list(Opcode)),
            st.integers(0, 2**64 - 1),
            st.integers(0, 2**64 - 1),
            st.binary(max_size=80),
        ),
        max_size=8,
    ),
    st.data(),
)
def test_frame_decoder_any_chunking(
    specs: list[tuple[Opcode, int, int, bytes]], data: st.DataObject
) -> None:
    """However the transport splits the stream, the same frames come out."""
    wire = b"".join(encode_frame(*spec) for spec in specs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=12)))
    bulk = data.draw(st.booleans())
    decoder = FrameDecoder()
    got: list[Frame] = []
    for start, end in zip([0, *cuts], [*cuts, len(wire)], strict=True):
        chunk = wire[start:end]
        if bulk:
            got.extend(decoder.feed_frames(chunk))
        else:
            decoder.feed(bytearray(chunk))
            while (frame := decoder.next_frame()) is not None:
                got.append(frame)
    decoder.feed_eof()
    assert got == [Frame(*spec) for spec in specs]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.integers(1, 50))
def test_frame_decoder_random_bytes_raise_only_protocol_errors(wire: bytes, step: int) -> None:
    """Random streams yield frames or DecodeErrors with offsets inside the stream; no hangs."""
    decoder = FrameDecoder(max_frame_size=128)

    def run() -> None:
        for start in range(0, len(wire), step):
            decoder.feed_frames(wire[start : start + step])
        decoder.feed_eof()

    error = decode_error_of(run)
    assert error is None or 0 <= error.offset <= len(wire)
