"""The Setup message payload (``SimpleRemoteEPCExecutorInfo``) in its two wire layouts.

The executor sends Setup first and unprompted (opcode 0, SeqNo 0, TagAddr 0). Payload bytes:

```
WITHOUT_MAP (LLVM 14, 15, 16):
  u64 n | n bytes TargetTriple | u64 PageSize
  | u64 s | s x (u64 len | name bytes | addr)                         BootstrapSymbols
WITH_MAP (LLVM 17 and later, e.g. 19, 22; see protocol._versions):
  u64 n | n bytes TargetTriple | u64 PageSize
  | u64 m | m x (u64 len | key bytes | u64 vlen | vlen value bytes)   BootstrapMap
  | u64 s | s x (u64 len | name bytes | addr)                         BootstrapSymbols
```

The two are not compatible, and the executor speaks first, so it must be told which one to use.
A controller that was not told can tell them apart by the payload itself
(`detect_setup_layout`): SPS is self-delimiting and decoding checks for trailing bytes, so a
real executor's Setup decodes in exactly one of the layouts.
Names are UTF-8 (surrogateescape); a name that appears twice in the map or the symbols is a
`DecodeError` (LLVM decodes both into a StringMap and rejects duplicates).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import attrs

from ._errors import DecodeError, EncodeError
from ._sps import Addr, Buffer, BytesLike, Map, String, Tuple, UInt64

__all__ = [
    "ExecutorInfo",
    "SetupLayout",
    "decode_setup",
    "detect_setup_layout",
    "encode_setup",
    "setup_layout_for",
]


def _frozen_mapping(value: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(value))


@attrs.frozen(kw_only=True, eq=True, unsafe_hash=False)
class ExecutorInfo:
    """What the executor tells the controller in Setup.

    The mappings are copied into read-only views; their order is the order on the wire (the real
    executor's order follows a hash map, so controllers look names up and never rely on it).
    Instances compare by value and are not hashable.

    Attributes:
        triple: target triple, e.g. ``"x86_64-pc-linux-gnu"``.
        page_size: the executor's page size in bytes.
        bootstrap_map: LLVM 22 key -> SPS-encoded value bytes (empty on Linux); must be empty
            for the LLVM 14 layout.
        bootstrap_symbols: symbol name -> executor address (or token).
    """

    triple: str
    page_size: int
    bootstrap_map: Mapping[str, bytes] = attrs.field(
        factory=dict,
        converter=_frozen_mapping,
    )
    bootstrap_symbols: Mapping[str, int] = attrs.field(
        factory=dict,
        converter=_frozen_mapping,
    )


class SetupLayout(enum.Enum):
    """Which ``SPSSimpleRemoteEPCExecutorInfo`` layout a controller expects."""

    WITHOUT_MAP = "without-map"
    """LLVM 14-16: triple, page size, bootstrap symbols."""
    WITH_MAP = "with-map"
    """LLVM 17 and later: triple, page size, bootstrap map, bootstrap symbols."""


def setup_layout_for(llvm_major: int) -> SetupLayout:
    """Return the Setup layout spoken by controllers of LLVM major version ``llvm_major``.

    Read from the version table (`protocol.LLVM_PROTOCOLS`): no bootstrap map up to 16
    (checked on 14.0.6, 15.0.6, 16.0.6), a map from 19 on (19.1.7, 22.1.8; 17 and 18 inferred).

    Raises:
        ValueError: ``llvm_major`` is not supported (the message lists what is).
    """
    from ._versions import llvm_protocol  # the table imports this module

    return llvm_protocol(llvm_major).setup_layout


_SYMBOLS: Final = Map(String, Addr)
_VALUES: Final = Map(String, Buffer)
_WITHOUT_MAP: Final = Tuple(String, UInt64, _SYMBOLS)
_WITH_MAP: Final = Tuple(String, UInt64, _VALUES, _SYMBOLS)


def encode_setup(info: ExecutorInfo, layout: SetupLayout) -> bytes:
    """Encode the Setup payload (without the frame header) in ``layout``.

    Called once per session by the executor, before anything else is sent.

    Raises:
        EncodeError: a field is out of range, or ``info.bootstrap_map`` is not empty for the
            LLVM 14 layout (which cannot carry it).
    """
    if layout is SetupLayout.WITHOUT_MAP:
        if info.bootstrap_map:
            raise EncodeError(
                "the LLVM 14 Setup layout has no bootstrap map, but "
                f"{len(info.bootstrap_map)} entries were given"
            )
        return _WITHOUT_MAP.encode((info.triple, info.page_size, info.bootstrap_symbols))
    return _WITH_MAP.encode(
        (info.triple, info.page_size, info.bootstrap_map, info.bootstrap_symbols)
    )


def decode_setup(payload: BytesLike, layout: SetupLayout) -> ExecutorInfo:
    """Decode a Setup payload (without the frame header) in ``layout``.

    Called once per session by a controller (ours is the simulated one, and tests).

    Raises:
        DecodeError: truncated, malformed, duplicate names, or trailing bytes (byte offset).
        LimitExceededError: a count is over the default sequence cap.
    """
    if layout is SetupLayout.WITHOUT_MAP:
        triple, page_size, symbols = _WITHOUT_MAP.decode(payload)
        return ExecutorInfo(triple=triple, page_size=page_size, bootstrap_symbols=symbols)
    triple, page_size, values, symbols = _WITH_MAP.decode(payload)
    return ExecutorInfo(
        triple=triple, page_size=page_size, bootstrap_map=values, bootstrap_symbols=symbols
    )


def detect_setup_layout(payload: BytesLike) -> SetupLayout:
    """Tell which layout a Setup payload (without the frame header) was encoded in.

    Called once per session by a controller that does not know its executor's LLVM major: the
    payload is decoded in both layouts and must fit exactly one. A real executor's Setup always
    does (14's symbol addresses, read as 22's value lengths, overrun the payload; 22's map count
    followed by a symbol table leaves trailing bytes for 14's layout). Pure; any thread.

    Raises:
        DecodeError: the payload fits neither layout (the message gives both reasons), or fits
            both (a contrived payload whose meaning cannot be told; offset 0).
    """
    errors: dict[SetupLayout, DecodeError] = {}
    for layout in SetupLayout:
        try:
            decode_setup(payload, layout)
        except DecodeError as exc:
            errors[layout] = exc
    fits = [layout for layout in SetupLayout if layout not in errors]
    if len(fits) == 1:
        return fits[0]
    if fits:
        raise DecodeError(
            "the Setup payload decodes in both layouts (with and without a bootstrap map); "
            "give the LLVM major version to choose one",
            offset=0,
        )
    without, with_map = errors[SetupLayout.WITHOUT_MAP], errors[SetupLayout.WITH_MAP]
    raise DecodeError(
        "the Setup payload fits neither layout: LLVM 14-16's (without a bootstrap map): "
        f"{without}; LLVM 17+'s (with one): {with_map.what}",
        offset=with_map.offset,
    )
