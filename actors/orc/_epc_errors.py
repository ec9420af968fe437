"""The errors an ExecutorProcessControl raises beyond the executor's own (``actors``) errors.

What a caller can do about each:

| error                          | meaning                                              | what to do         |
|--------------------------------|------------------------------------------------------|--------------------|
| `ExecutorCallError`            | a bootstrap wrapper answered with an error value     | fix the request    |
| `MissingBootstrapSymbolError`  | the executor's Setup lacks a symbol a feature needs  | another executor   |
| ``actors.RemoteCallError``     | an out-of-band error (empty result, no handler, ...) | see the executor   |
| ``actors.DisconnectedError``   | the link is gone; the message names why              | start a new EPC    |
"""

from __future__ import annotations

__all__ = ["ExecutorCallError", "MissingBootstrapSymbolError"]


class ExecutorCallError(Exception):
    """The executor answered a call with an error value (an ``SPSError`` or ``SPSExpected``).

    ``str()`` is the executor's message verbatim, as LLVM prints it.

    Attributes:
        message: the executor's message.
        function: the wrapper function's symbol name (or ``"wrapper at 0x…"``).
    """

    message: str
    function: str

    def __init__(self, message: str, *, function: str) -> None:
        super().__init__(message)
        self.message = message
        self.function = function


class MissingBootstrapSymbolError(KeyError):
    """The executor did not advertise bootstrap symbol ``name`` in its Setup.

    Raised at start-up for the symbols a controller of that LLVM generation needs, and later
    by features that need more (memory reads on an LLVM 14 executor, say); no call is sent.
    ``str()`` begins with LLVM's text: ``Symbol "<name>" not found in bootstrap symbols map``.
    A `KeyError`, so code that looks names up in a mapping can catch it as usual.

    Attributes:
        name: the missing symbol.
        detail: what needed it, if said ("" otherwise).
    """

    name: str
    detail: str

    def __init__(self, name: str, detail: str = "") -> None:
        super().__init__(name)
        self.name = name
        self.detail = detail

    def __str__(self) -> str:
        text = f'Symbol "{self.name}" not found in bootstrap symbols map'
        return f"{text} ({self.detail})" if self.detail else text
