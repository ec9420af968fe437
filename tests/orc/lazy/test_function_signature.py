"""Signatures of ``jit.function``: the C-like text and ctypes forms, and their errors."""

from __future__ import annotations

import ctypes

import pytest

from actors.orc import FunctionSignature


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("int", "expected 'result\\(param, ...\\)'"),
        ("(int)", "expected 'result\\(param, ...\\)'"),
        ("int(long double)", "unknown type 'long double'"),
        ("int(void, int)", "a parameter cannot be void"),
        ("quux()", "unknown type 'quux'"),
    ],
)
def test_function_signature_errors(spec: str, message: str) -> None:
    """Malformed or unsupported signatures are refused with ValueError naming the problem."""
    with pytest.raises(ValueError, match=message):
        FunctionSignature.parse(spec)


def test_function_signature_forms() -> None:
    """C names, fixed-width names, pointers and ctypes prototypes all parse to the same
    canonical types."""
    text = FunctionSignature.parse("unsigned long long(const char *, short, _Bool, float)")
    assert str(text) == "u64(ptr, i16, bool, f32)"
    proto = ctypes.CFUNCTYPE(
        ctypes.c_double,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_int),
        ctypes.c_ubyte,
        ctypes.c_size_t,
        ctypes.c_bool,
        ctypes.c_void_p,
    )
    assert str(FunctionSignature.parse(proto)) == "f64(i32, ptr, u8, u64, bool, ptr)"
    assert str(FunctionSignature.parse("void(void)")) == "void()"
    with pytest.raises(ValueError, match="c_longdouble is not supported"):
        FunctionSignature.parse(ctypes.CFUNCTYPE(ctypes.c_longdouble))
    with pytest.raises(TypeError, match="not int"):
        FunctionSignature.parse(3)
