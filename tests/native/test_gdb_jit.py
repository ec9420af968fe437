"""The GDB JIT interface descriptor, read back from the shim."""

import ctypes

import pytest

import native
from native import DebugObjectRegistrar


def test_gdb_jit_descriptor_is_version_1() -> None:
    """The shim defines __jit_debug_descriptor with version 1 (GDB's required value)."""
    descriptor = native.jit_debug_descriptor()
    assert descriptor.version == 1
    shim = native.load_shim()
    symbol = ctypes.c_uint32.in_dll(ctypes.CDLL(str(shim.path)), "__jit_debug_descriptor")
    assert ctypes.addressof(symbol) == descriptor.address
    assert ctypes.CDLL(str(shim.path)).__jit_debug_register_code is not None


def test_gdb_jit_register_and_deregister_update_the_descriptor() -> None:
    """Registering appends an entry and flags JIT_REGISTER_FN; deregistering unlinks it."""
    objects = [ctypes.create_string_buffer(b"\x7fELF fake object %d" % i) for i in range(3)]
    spans = [(ctypes.addressof(o), len(o)) for o in objects]
    before = native.jit_debug_descriptor().entries
    handles = [native.register_debug_object(*span) for span in spans]
    descriptor = native.jit_debug_descriptor()
    assert descriptor.action_flag == native.JIT_REGISTER_FN
    assert descriptor.relevant_entry == handles[-1]
    assert descriptor.entries == (*before, *spans)
    native.deregister_debug_object(handles[1])
    descriptor = native.jit_debug_descriptor()
    assert descriptor.action_flag == native.JIT_UNREGISTER_FN
    assert descriptor.relevant_entry == handles[1]
    assert descriptor.entries == (*before, spans[0], spans[2])
    native.deregister_debug_object(handles[0])
    native.deregister_debug_object(handles[2])
    assert native.jit_debug_descriptor().entries == before


def test_gdb_jit_bad_arguments_are_refused() -> None:
    """Empty ranges and unknown handles raise ValueError; nothing changes."""
    before = native.jit_debug_descriptor()
    with pytest.raises(ValueError, match="not a non-empty range"):
        native.register_debug_object(0x1000, 0)
    with pytest.raises(ValueError, match="not a non-empty range"):
        native.register_debug_object(0, 16)
    with pytest.raises(ValueError, match="0x1234 is not registered"):
        native.deregister_debug_object(0x1234)
    assert native.jit_debug_descriptor() == before


def test_gdb_jit_registrar_close_withdraws_its_own_entries() -> None:
    """A registrar removes exactly its registrations at close; others stay."""
    data = ctypes.create_string_buffer(64)
    span = (ctypes.addressof(data), 64)
    other = native.register_debug_object(*span)
    registrar = DebugObjectRegistrar()
    first = registrar.register(*span)
    registrar.register(span[0] + 8, 8)
    assert len(registrar.handles()) == 2
    with pytest.raises(ValueError, match="not registered here"):
        registrar.deregister(other)
    registrar.deregister(first)
    registrar.close()
    registrar.close()
    assert registrar.handles() == ()
    assert native.jit_debug_descriptor().entries.count(span) == 1
    native.deregister_debug_object(other)
