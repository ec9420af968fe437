"""Plain records satisfying native's structural Segment / WrapperCall / ActionPair protocols."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Seg:
    prot: int
    addr: int
    size: int
    content: bytes


@dataclasses.dataclass(frozen=True)
class Call:
    fn: int
    args: bytes


@dataclasses.dataclass(frozen=True)
class Pair:
    finalize: Call
    dealloc: Call
