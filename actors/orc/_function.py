"""Calling JIT'd functions from Python: signatures, generated SPS wrappers, `JITFunction`.

``jit.function("add", "int(int, int)")`` gives a callable that runs ``add`` in the executor,
whichever process that is. The executor can only call *wrapper functions* (LLVM's wrapper
ABI, simple-remote-epc.md §7.4: ``CWrapperFunctionResult fn(const char *data, size_t
size)``, the result in rax:rdx), so the JIT compiles one wrapper per signature (`wrapper_ir`)
and calls it with ``call_wrapper``:

- the argument bytes are an SPS tuple: the target's address (u64), then each argument in
  its SPS encoding (integers little-endian at their width, ``bool`` one byte, pointers as
  u64 addresses; ``float``/``double`` as their IEEE-754 bits, 4 and 8 bytes, an extension:
  SPS has no floating-point types);
- the wrapper checks the size, loads the arguments, calls the target through the pointer
  with the C calling convention (small integers sign- or zero-extended, as clang does), and
  returns the result's bytes *inline* in the result struct (every scalar fits in 8 bytes, so
  nothing is allocated; ``void`` returns an empty result). A malformed buffer gets an
  out-of-band error (a ``strdup``'d message).

Because the wrapper calls through a pointer, one wrapper serves every function of a
signature; a lazy function's stub is called like any other (its first call compiles it).

Supported types (`FunctionSignature.parse`): ``void`` (results only), ``bool``, signed and
unsigned integers of 8-64 bits (``i8``..``i64``, ``u8``..``u64``, and the C names: ``char``,
``short``, ``int``, ``long``, ``long long``, ``unsigned ...``, ``size_t``, ``int32_t`` ...),
``float``, ``double``, and pointers (``ptr``, ``void*``, any ``T*``: executor addresses as
ints). Signatures are C-like strings (``"double(double, int)"``) or ctypes function types
(``ctypes.CFUNCTYPE(c_double, c_double, c_int)``).
"""

from __future__ import annotations

import asyncio
import ctypes
import re
import struct
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

import attrs

from actors import RemoteCallError

__all__ = ["FunctionSignature", "JITFunction", "ScalarType", "wrapper_ir"]


@attrs.frozen
class ScalarType:
    """One argument or result type of a `FunctionSignature`.

    Attributes:
        name: the canonical name (``i32``, ``u8``, ``bool``, ``f64``, ``ptr``).
        ir: its LLVM IR type (``i32``, ``i1``, ``double``, ``ptr``).
        size: bytes in the SPS buffer.
        code: its `struct` format character.
        kind: ``int``, ``bool``, ``float`` or ``pointer``.
        extension: the IR parameter attribute for C's promotion rules (``signext``,
            ``zeroext`` or empty).
    """

    name: str
    ir: str
    size: int
    code: str
    kind: str
    extension: str = ""

    @property
    def bits(self) -> int:
        """The value's width in bits (1 for bool)."""
        return 1 if self.kind == "bool" else 8 * self.size

    def check(self, value: object, where: str) -> object:
        """``value`` as the encoder takes it.

        Raises:
            TypeError: not a value of this type (``where`` names the argument).
            OverflowError: an integer out of this type's range.
        """
        kind = self.kind
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"{where} must be a float, not {type(value).__name__}")
            return float(value)
        if kind == "bool":
            if not isinstance(value, bool | int):
                raise TypeError(f"{where} must be a bool, not {type(value).__name__}")
            return bool(value)
        if kind == "pointer" and value is None:
            return 0
        if not isinstance(value, int):
            index = getattr(value, "__index__", None)
            if index is None:
                expected = "an int (an executor address) or None" if kind == "pointer" else "an int"
                raise TypeError(f"{where} must be {expected}, not {type(value).__name__}")
            value = index()
            assert isinstance(value, int)
        low, high = self._range()
        if not low <= value <= high:
            raise OverflowError(f"{where}: {value} does not fit {self.name} ({low}..{high})")
        return value

    def _range(self) -> tuple[int, int]:
        bits = 8 * self.size
        if self.name.startswith("i"):
            return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        return 0, (1 << bits) - 1


def _int(name: str, size: int, signed: bool) -> ScalarType:
    codes = {1: "b", 2: "h", 4: "i", 8: "q"}
    code = codes[size] if signed else codes[size].upper()
    extension = ("signext" if signed else "zeroext") if size < 4 else ""
    return ScalarType(name, f"i{8 * size}", size, code, "int", extension)


_TYPES: Final[dict[str, ScalarType]] = {
    "bool": ScalarType("bool", "i1", 1, "?", "bool", "zeroext"),
    "f32": ScalarType("f32", "float", 4, "f", "float"),
    "f64": ScalarType("f64", "double", 8, "d", "float"),
    "ptr": ScalarType("ptr", "ptr", 8, "Q", "pointer"),
    **{f"i{8 * s}": _int(f"i{8 * s}", s, True) for s in (1, 2, 4, 8)},
    **{f"u{8 * s}": _int(f"u{8 * s}", s, False) for s in (1, 2, 4, 8)},
}

_C_NAMES: Final[dict[str, str]] = {
    "_Bool": "bool",
    "char": "i8",
    "signed char": "i8",
    "unsigned char": "u8",
    "short": "i16",
    "short int": "i16",
    "unsigned short": "u16",
    "int": "i32",
    "signed": "i32",
    "signed int": "i32",
    "unsigned": "u32",
    "unsigned int": "u32",
    "long": "i64",
    "long int": "i64",
    "long long": "i64",
    "unsigned long": "u64",
    "unsigned long long": "u64",
    "size_t": "u64",
    "ssize_t": "i64",
    "intptr_t": "i64",
    "uintptr_t": "u64",
    "float": "f32",
    "double": "f64",
    "pointer": "ptr",
    **{f"int{b}_t": f"i{b}" for b in (8, 16, 32, 64)},
    **{f"uint{b}_t": f"u{b}" for b in (8, 16, 32, 64)},
}

# The base classes of ctypes' pointer and function-pointer types (private names, stable
# since Python 2.5; CFUNCTYPE's classes are subclasses of the latter).
_POINTER_BASE: Final[type] = ctypes._Pointer
_FUNCTION_BASE: Final[type] = ctypes.CFUNCTYPE(None).__mro__[1]

_CTYPES_CODES: Final = {"?": "bool", "f": "f32", "d": "f64", "P": "ptr", "z": "ptr", "Z": "ptr"}
_SIGNATURE: Final = re.compile(r"^\s*([^()]*?)\s*\((.*)\)\s*$")


def _named(text: str, spec: object) -> ScalarType | None:
    """The type called ``text`` (None for void)."""
    words = " ".join(text.replace("*", " * ").split())
    words = re.sub(r"\bconst\b\s*", "", words).strip()
    if words.endswith("*"):
        return _TYPES["ptr"]
    if words == "void":
        return None
    canonical = _C_NAMES.get(words, words)
    found = _TYPES.get(canonical)
    if found is None:
        raise ValueError(
            f"signature {spec!r}: unknown type {text.strip()!r} (supported: void, bool, "
            "i8..i64, u8..u64, the C integer names, float, double, pointers)"
        )
    return found


def _from_ctypes(kind: Any, spec: object) -> ScalarType | None:
    if kind is None:
        return None
    if isinstance(kind, type) and issubclass(kind, (_POINTER_BASE, _FUNCTION_BASE)):
        return _TYPES["ptr"]
    code = getattr(kind, "_type_", None)
    if not isinstance(code, str) or not isinstance(kind, type):
        raise ValueError(f"signature {spec!r}: {kind!r} is not a ctypes scalar type")
    if code in _CTYPES_CODES:
        return _TYPES[_CTYPES_CODES[code]]
    if code in "bhilqBHILQ":
        size = ctypes.sizeof(kind)
        return _TYPES[("i" if code.islower() else "u") + str(8 * size)]
    raise ValueError(f"signature {spec!r}: ctypes type {kind.__name__} is not supported")


@attrs.frozen
class FunctionSignature:
    """A function's result and parameter types (module docstring: what is supported).

    Attributes:
        result: the result type, or None for void.
        params: the parameter types, in order.
    """

    result: ScalarType | None
    params: tuple[ScalarType, ...]

    @classmethod
    def parse(cls, spec: str | Any) -> FunctionSignature:
        """A signature from a C-like string (``"i64(ptr, double)"``, ``"void()"``) or a
        ctypes function type (``CFUNCTYPE(c_int, c_int)``).

        Raises:
            ValueError: the string is malformed or names an unsupported type (named), or a
                parameter is void.
            TypeError: ``spec`` is neither a string nor a ctypes function type.
        """
        if isinstance(spec, FunctionSignature):
            return spec
        if isinstance(spec, str):
            match = _SIGNATURE.match(spec)
            if match is None or not match.group(1):
                raise ValueError(
                    f"signature {spec!r}: expected 'result(param, ...)', e.g. 'int(int, int)'"
                )
            result = _named(match.group(1), spec)
            inner = match.group(2).strip()
            names = [] if inner in ("", "void") else inner.split(",")
            params = []
            for text in names:
                param = _named(text, spec)
                if param is None:
                    raise ValueError(f"signature {spec!r}: a parameter cannot be void")
                params.append(param)
            return cls(result, tuple(params))
        if isinstance(spec, type) and issubclass(spec, _FUNCTION_BASE):
            result = _from_ctypes(getattr(spec, "_restype_", None), spec)
            params = []
            for kind in getattr(spec, "_argtypes_", ()) or ():
                param = _from_ctypes(kind, spec)
                assert param is not None
                params.append(param)
            return cls(result, tuple(params))
        raise TypeError(
            "a signature is a string like 'int(int, int)' or a ctypes function type "
            f"(ctypes.CFUNCTYPE(...)), not {type(spec).__name__}"
        )

    def __str__(self) -> str:
        result = "void" if self.result is None else self.result.name
        return f"{result}({', '.join(p.name for p in self.params)})"

    @property
    def key(self) -> str:
        """A symbol-safe name for the signature (``i32.i32_i32``, ``f64.void``)."""
        result = "void" if self.result is None else self.result.name
        return f"{result}.{'_'.join(p.name for p in self.params) or 'void'}"

    @property
    def argument_size(self) -> int:
        """Bytes of a call's argument buffer: the target address, then the arguments."""
        return 8 + sum(p.size for p in self.params)

    def encode(self, function: str, target: int, args: Sequence[object]) -> bytes:
        """The argument buffer for calling ``target`` with ``args``.

        Raises:
            TypeError: wrong number or type of arguments (``function`` names the callee).
            OverflowError: an integer does not fit its parameter.
        """
        if len(args) != len(self.params):
            raise TypeError(
                f"{function}() takes {len(self.params)} argument"
                f"{'' if len(self.params) == 1 else 's'} ({len(args)} given); "
                f"signature {self}"
            )
        values = [
            param.check(value, f"{function}() argument {index + 1} ({param.name})")
            for index, (param, value) in enumerate(zip(self.params, args, strict=True))
        ]
        layout = "<Q" + "".join(p.code for p in self.params)
        return struct.pack(layout, target, *values)

    def decode(self, function: str, data: bytes) -> Any:
        """The call's result from the wrapper's result bytes.

        Raises:
            RemoteCallError: the result is not the expected size (an empty one is an
                out-of-band error of the wrapper: a wire executor loses its text).
        """
        result = self.result
        want = 0 if result is None else result.size
        if len(data) != want:
            raise RemoteCallError(
                f"{function}(): the call's wrapper answered {len(data)} bytes, expected {want}"
                + (" (an out-of-band error; see the executor's stderr)" if not data else "")
            )
        if result is None:
            return None
        (value,) = struct.unpack("<" + result.code, data)
        return value


def _escape(text: str) -> str:
    return "".join(
        chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\{b:02X}" for b in text.encode()
    )


def wrapper_ir(signature: FunctionSignature, name: str) -> str:
    """IR text of the wrapper function ``name`` for ``signature`` (module docstring).

    The module has no triple or data layout (the IR layer adds the executor's); the wrapper
    is hidden (looked up with MatchAllSymbols).
    """
    message = f"orcrt: {name}: malformed argument buffer (signature {signature})"
    data = _escape(message)
    length = len(message.encode()) + 1
    lines = [
        f'@"{name}.msg" = private constant [{length} x i8] c"{data}\\00"',
        "declare ptr @strdup(ptr)",
        "",
        f'define hidden {{ i64, i64 }} @"{name}"(ptr %data, i64 %size) {{',
        "entry:",
        f"  %ok = icmp eq i64 %size, {signature.argument_size}",
        "  br i1 %ok, label %call, label %bad",
        "bad:",
        f'  %message = call ptr @strdup(ptr @"{name}.msg")',
        "  %address = ptrtoint ptr %message to i64",
        "  %error = insertvalue { i64, i64 } zeroinitializer, i64 %address, 0",
        "  ret { i64, i64 } %error",
        "call:",
        "  %target = load ptr, ptr %data, align 1",
    ]
    args = []
    offset = 8
    for index, param in enumerate(signature.params):
        lines.append(f"  %p{index} = getelementptr i8, ptr %data, i64 {offset}")
        if param.kind == "bool":
            lines.append(f"  %b{index} = load i8, ptr %p{index}, align 1")
            lines.append(f"  %a{index} = icmp ne i8 %b{index}, 0")
        else:
            lines.append(f"  %a{index} = load {param.ir}, ptr %p{index}, align 1")
        attribute = f" {param.extension}" if param.extension else ""
        args.append(f"{param.ir}{attribute} %a{index}")
        offset += param.size
    call_args = ", ".join(args)
    result = signature.result
    if result is None:
        lines.append(f"  call void %target({call_args})")
        lines.append("  ret { i64, i64 } zeroinitializer")
    else:
        attribute = f"{result.extension} " if result.extension else ""
        lines.append(f"  %r = call {attribute}{result.ir} %target({call_args})")
        if result.kind == "float":
            lines.append(f"  %bits = bitcast {result.ir} %r to i{result.bits}")
            widened = "%bits"
            bits = result.bits
        elif result.kind == "pointer":
            lines.append("  %bits = ptrtoint ptr %r to i64")
            widened = "%bits"
            bits = 64
        else:
            widened = "%r"
            bits = result.bits
        if bits < 64:
            lines.append(f"  %wide = zext i{bits} {widened} to i64")
            widened = "%wide"
        lines.append(
            f"  %value = insertvalue {{ i64, i64 }} {{ i64 0, i64 {result.size} }}, i64 {widened}, 0"
        )
        lines.append("  ret { i64, i64 } %value")
    lines.append("}")
    return "\n".join(lines) + "\n"


class JITFunction:
    """A JIT'd function callable from Python (made by ``LLJIT.function``).

    ``await f(*args)`` runs the function in the executor and returns its result (an int,
    float, bool, an address as int, or None for void); ``f.blocking(*args)`` does the same
    from a thread that is not the JIT's event loop. The first call looks the function up
    (linking it, or just its stub if it is lazy) and makes the signature's wrapper; later
    calls cost one ``call_wrapper`` round trip each. Calls may run concurrently (each on its
    own executor thread). After the JIT is closed calls raise ``actors.DisconnectedError``
    (or the session's shutdown error).

    Args:
        name: the function's name (errors name it).
        signature: its signature.
        lookup: ``await lookup()`` -> the function's address (awaited until it succeeds
            once).
        wrapper: ``await wrapper()`` -> the address of the signature's wrapper (likewise).
        call_wrapper: the EPC's ``call_wrapper``.
        loop: the JIT's event loop (for `blocking`).
    """

    def __init__(
        self,
        name: str,
        signature: FunctionSignature,
        lookup: Callable[[], Awaitable[int]],
        wrapper: Callable[[], Awaitable[int]],
        call_wrapper: Callable[[int, bytes], Awaitable[bytes]],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._name = name
        self._signature = signature
        self._lookup = lookup
        self._wrapper = wrapper
        self._call_wrapper = call_wrapper
        self._loop = loop
        self._target: int | None = None
        self._wrapper_address: int | None = None

    def __repr__(self) -> str:
        where = "" if self._target is None else f" at {self._target:#x}"
        return f"<JITFunction {self._name}: {self._signature}{where}>"

    @property
    def name(self) -> str:
        """The function's name."""
        return self._name

    @property
    def signature(self) -> FunctionSignature:
        """Its signature."""
        return self._signature

    async def address(self) -> int:
        """The function's executor address (looked up on first need: this links it, or
        just its stub if it is lazy)."""
        if self._target is None:
            self._target = await self._lookup()
        return self._target

    async def __call__(self, *args: object) -> Any:
        """Run the function with ``args`` in the executor; its result.

        Raises:
            TypeError, OverflowError: the arguments do not fit the signature (nothing runs).
            SymbolsNotFoundError, FailedToMaterializeError: the function cannot be found or
                linked.
            RemoteCallError: the wrapper failed out of band.
            actors.DisconnectedError: the executor went away (it crashed in the function,
                say).
        """
        self._signature.encode(self._name, 0, args)  # check before any lookup
        target = await self.address()
        wrapper = self._wrapper_address
        if wrapper is None:
            wrapper = self._wrapper_address = await self._wrapper()
        payload = self._signature.encode(self._name, target, args)
        result = await self._call_wrapper(wrapper, payload)
        return self._signature.decode(self._name, result)

    def blocking(self, *args: object) -> Any:
        """`__call__` from another thread: blocks it until the result is there.

        Not from the event loop's default executor (``asyncio.to_thread``): the JIT compiles
        and links on those threads, so callers blocking all of them would wait forever.

        Raises:
            RuntimeError: called on the JIT's event-loop thread (that would deadlock).
            As `__call__` otherwise.
        """
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            raise RuntimeError(
                f"{self._name}.blocking() on the JIT's event-loop thread would deadlock; "
                f"await {self._name}(...) instead"
            )
        return asyncio.run_coroutine_threadsafe(self(*args), self._loop).result()
