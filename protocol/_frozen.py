"""`Frozen`: the base of orcrt's small value records (protocol's records, the executor's options).

Plain slotted classes rather than attrs ones, for the executor's start-up: attrs costs ~10 ms
to import and generates and compiles code for each class (~0.35 ms apiece), and these records
are defined before the executor can send its Setup; a plain class costs ~10 us.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = ["Frozen"]


class Frozen:
    """Base of value records: slotted, immutable by contract, compared and hashed by value.

    A subclass names its fields in order in ``_fields`` (``__slots__ = _fields``), sets each
    once in its ``__init__`` (annotated ``Final``, so the type checker refuses any later
    assignment) and takes them positionally in that order (what `protocol.Record` decodes
    with). Two records are equal when they are of the same class with equal fields; the hash
    follows (a record holding an unhashable value is unhashable). ``repr`` names the fields.
    Any thread; instances are never changed after ``__init__``.
    """

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()

    def _values(self) -> tuple[object, ...]:
        return tuple([getattr(self, name) for name in self._fields])

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Frozen)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((self.__class__, self._values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"
