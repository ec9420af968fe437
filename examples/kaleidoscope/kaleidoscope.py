"""A Kaleidoscope REPL on orcrt's LLLazyJIT: LLVM's tutorial language, compiled lazily into
an executor process.

    $ python examples/kaleidoscope/kaleidoscope.py --executor llvm14
    ready> def fib(n) if n < 3 then 1 else fib(n - 1) + fib(n - 2)
    ready> fib(25)
    75025.0
    ready> extern sin(x)
    ready> sin(1) * 2
    1.682941969615793

What happens to each line: it is parsed here, in Python (``kaleidoscope_syntax``), and turned
into LLVM IR with ``llvmlite.ir``. A ``def`` becomes a module added with ``add_lazy_ir``:
nothing compiles until the function is first called, and then only that function's body
(its stub in the executor calls back to this process, which compiles and links it). An
``extern`` only records the prototype: the call links against the executor's own symbols
(its libm: ``sin``, ``pow``, ``exp`` ...). An expression becomes ``double
__anon_expr.N()`` in a module of its own, compiled, called from Python with
``jit.function(..., "double()")`` (a wrapper call into the executor), printed, and removed
again (its resource tracker frees the executor memory).

The tutorial's helpers are there too: ``putchard(c)`` writes a character and ``printd(x)`` a
number to the executor's stdout.

Options: ``--executor`` ``inprocess`` (default; this process runs the code), ``orcrt``,
``llvm14``, ``llvm22`` or an executor's path; ``--connect HOST:PORT`` for one listening on
TCP; ``--eager`` compiles each ``def`` when it is added; ``--opt N`` runs LLVM's ``-O<N>``
pipeline on each module; ``--show-ir`` prints the IR to stderr.

Results go to stdout, one per line; prompts (on a terminal) and errors to stderr. The exit
status is 0, or 1 if any input failed (for scripts piped in).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import TextIO

import llvmlite.ir as ir
from kaleidoscope_syntax import (
    Binary,
    Call,
    Definition,
    Expression,
    Extern,
    For,
    If,
    Incomplete,
    Number,
    Prototype,
    SyntaxProblem,
    TopLevel,
    Unary,
    Variable,
    parse,
)

from actors.orc import BlockingPortal, LLLazyJIT, OrcError, open_lllazyjit

DOUBLE = ir.DoubleType()

RUNTIME = r"""
declare i32 @putchar(i32)
declare i32 @printf(ptr, ...)
declare i32 @fflush(ptr)
@format = private constant [4 x i8] c"%f\0A\00"

define double @putchard(double %x) {
  %c = fptosi double %x to i32
  %r = call i32 @putchar(i32 %c)
  %f = call i32 @fflush(ptr null)
  ret double 0.0
}

define double @printd(double %x) {
  %r = call i32 (ptr, ...) @printf(ptr @format, double %x)
  %f = call i32 @fflush(ptr null)
  ret double 0.0
}
"""


class CodegenError(ValueError):
    """The program is well-formed but meaningless (an unknown name, a wrong arity)."""


class _Function:
    """Generates one function's body (allocas for variables: LLVM's mem2reg would clean
    them up with ``--opt``)."""

    def __init__(self, module: ir.Module, known: dict[str, Prototype], prototype: Prototype):
        self.module = module
        self.known = known
        self.function = _declare(module, prototype)
        entry = self.function.append_basic_block("entry")
        self.builder = ir.IRBuilder(entry)
        self.variables: dict[str, ir.AllocaInstr] = {}
        for param, arg in zip(prototype.params, self.function.args, strict=True):
            arg.name = param
            slot = self.builder.alloca(DOUBLE, name=f"{param}.addr")
            self.builder.store(arg, slot)
            self.variables[param] = slot

    def emit(self, body: Expression) -> None:
        self.builder.ret(self.expr(body))

    def expr(self, node: Expression) -> ir.Value:
        b = self.builder
        match node:
            case Number(value):
                return ir.Constant(DOUBLE, value)
            case Variable(name):
                if name not in self.variables:
                    raise CodegenError(f"unknown variable {name!r}")
                return b.load(self.variables[name], name=name)
            case Unary("-", operand):
                return b.fneg(self.expr(operand))
            case Binary(op, left, right):
                lhs, rhs = self.expr(left), self.expr(right)
                if op == "+":
                    return b.fadd(lhs, rhs)
                if op == "-":
                    return b.fsub(lhs, rhs)
                if op == "*":
                    return b.fmul(lhs, rhs)
                if op == "/":
                    return b.fdiv(lhs, rhs)
                test = b.fcmp_unordered("<" if op == "<" else ">", lhs, rhs)
                return b.uitofp(test, DOUBLE)
            case Call(callee, args):
                prototype = self.known.get(callee)
                if prototype is None:
                    raise CodegenError(f"unknown function {callee!r} (def or extern it first)")
                if len(args) != len(prototype.params):
                    raise CodegenError(
                        f"{callee} takes {len(prototype.params)} argument(s), not {len(args)}"
                    )
                target = self.module.globals.get(callee) or _declare(self.module, prototype)
                return b.call(target, [self.expr(a) for a in args])
            case If(condition, then_, else_):
                test = b.fcmp_ordered("!=", self.expr(condition), ir.Constant(DOUBLE, 0.0))
                with b.if_else(test) as (then_block, else_block):
                    with then_block:
                        then_value = self.expr(then_)
                        then_end = b.block
                    with else_block:
                        else_value = self.expr(else_)
                        else_end = b.block
                phi = b.phi(DOUBLE)
                phi.add_incoming(then_value, then_end)
                phi.add_incoming(else_value, else_end)
                return phi
            case For(variable, start, end, step, body):
                slot = b.alloca(DOUBLE, name=variable)
                b.store(self.expr(start), slot)
                loop = self.function.append_basic_block("loop")
                after = self.function.append_basic_block("after")
                shadowed = self.variables.get(variable)
                self.variables[variable] = slot
                b.branch(loop)
                b.position_at_end(loop)
                self.expr(body)
                increment = self.expr(step) if step is not None else ir.Constant(DOUBLE, 1.0)
                b.store(b.fadd(b.load(slot), increment), slot)
                more = b.fcmp_ordered("!=", self.expr(end), ir.Constant(DOUBLE, 0.0))
                b.cbranch(more, loop, after)
                b.position_at_end(after)
                if shadowed is None:
                    del self.variables[variable]
                else:
                    self.variables[variable] = shadowed
                return ir.Constant(DOUBLE, 0.0)
        raise CodegenError(f"cannot compile {node!r}")


def _declare(module: ir.Module, prototype: Prototype) -> ir.Function:
    kind = ir.FunctionType(DOUBLE, [DOUBLE] * len(prototype.params))
    return ir.Function(module, kind, name=prototype.name)


def function_module(
    name: str, known: dict[str, Prototype], prototype: Prototype, body: Expression
) -> ir.Module:
    """The module defining ``prototype`` with ``body`` (``known`` may include it: recursion)."""
    module = ir.Module(name=name)
    _Function(module, known, prototype).emit(body)
    return module


class Repl:
    """Reads Kaleidoscope, runs it in the JIT, prints the values (module docstring).

    Args:
        jit: the JIT (an LLLazyJIT on a BlockingPortal's loop: the REPL blocks on it).
        eager: compile definitions when added instead of on first call.
        show_ir: print each module's IR to ``errors``.
        out: where values go; errors: where problems (and the IR) go.
    """

    def __init__(
        self,
        jit: LLLazyJIT,
        *,
        eager: bool = False,
        show_ir: bool = False,
        out: TextIO = sys.stdout,
        errors: TextIO = sys.stderr,
    ) -> None:
        self.jit = jit
        self.eager = eager
        self.show_ir = show_ir
        self.out = out
        self.errors = errors
        self.known: dict[str, Prototype] = {
            "putchard": Prototype("putchard", ("c",)),
            "printd": Prototype("printd", ("x",)),
        }
        self.defined: set[str] = set()
        self.serials = itertools.count()
        self.failures = 0
        jit.blocking.add_ir(RUNTIME, name="kaleidoscope-runtime")

    def run(self, lines: Iterable[str], prompt: bool) -> int:
        """Handle every complete item of ``lines``; 0, or 1 if something failed."""
        pending = ""
        if prompt:
            self.errors.write("ready> ")
            self.errors.flush()
        for line in lines:
            pending += line
            try:
                items = parse(pending)
            except Incomplete:
                if prompt:
                    self.errors.write("  ...> ")
                    self.errors.flush()
                continue
            except SyntaxProblem as exc:
                self.problem(f"syntax error: {exc}")
                items = []
            pending = ""
            for item in items:
                self.handle(item)
            if prompt:
                self.errors.write("ready> ")
                self.errors.flush()
        if pending.strip():
            self.problem("syntax error: the input ends in the middle of an item")
        return 1 if self.failures else 0

    def handle(self, item: TopLevel) -> None:
        """Define, declare or evaluate one item; problems are printed, not raised."""
        try:
            match item:
                case Definition(prototype, body):
                    self.define(prototype, body)
                case Extern(prototype):
                    self.declare(prototype)
                case _:
                    value = self.evaluate(item)
                    self.out.write(f"{value!r}\n")
                    self.out.flush()
        except (CodegenError, OrcError, ValueError) as exc:
            self.problem(f"error: {exc}")

    def problem(self, message: str) -> None:
        self.failures += 1
        self.out.flush()
        self.errors.write(message + "\n")
        self.errors.flush()

    def declare(self, prototype: Prototype) -> None:
        known = self.known.get(prototype.name)
        if known is not None and known != prototype:
            raise CodegenError(f"{prototype.name} is already declared as {_show(known)}")
        self.known[prototype.name] = prototype

    def define(self, prototype: Prototype, body: Expression) -> None:
        if prototype.name in self.defined or prototype.name in ("putchard", "printd"):
            raise CodegenError(f"{prototype.name} is already defined")
        previous = self.known.get(prototype.name)
        self.known[prototype.name] = prototype
        try:
            module = function_module(f"def.{prototype.name}", self.known, prototype, body)
            self.trace(module)
            if self.eager:
                self.jit.blocking.add_ir(module)
            else:
                self.jit.blocking.add_lazy_ir(module)
        except BaseException:
            if previous is None:
                del self.known[prototype.name]
            else:
                self.known[prototype.name] = previous
            raise
        self.defined.add(prototype.name)

    def evaluate(self, expression: Expression) -> float:
        name = f"__anon_expr.{next(self.serials)}"
        module = function_module(name, self.known, Prototype(name, ()), expression)
        self.trace(module)
        main = self.jit.main_jitdylib
        tracker = main.blocking.create_resource_tracker()
        try:
            self.jit.blocking.add_ir(module, tracker)
            value = self.jit.function(name, "double()").blocking()
        finally:
            tracker.blocking.remove()
        assert isinstance(value, float)
        return value

    def trace(self, module: ir.Module) -> None:
        if self.show_ir:
            self.errors.write(str(module))
            self.errors.flush()


def _show(prototype: Prototype) -> str:
    return f"{prototype.name}({' '.join(prototype.params)})"


def _lines(stream: TextIO) -> Iterator[str]:
    while line := stream.readline():
        yield line


def main(argv: Sequence[str] | None = None) -> int:
    """Run the REPL on stdin (module docstring); the exit status."""
    parser = argparse.ArgumentParser(description="Kaleidoscope on orcrt's LLLazyJIT")
    parser.add_argument(
        "--executor", default="inprocess", help="inprocess, orcrt, llvm14, llvm22 or a path"
    )
    parser.add_argument("--connect", metavar="HOST:PORT", help="an executor listening on TCP")
    parser.add_argument("--eager", action="store_true", help="compile each def when added")
    parser.add_argument(
        "--opt", type=int, choices=range(4), metavar="N", help="IR optimization level"
    )
    parser.add_argument("--show-ir", action="store_true", help="print the IR to stderr")
    args = parser.parse_args(argv)
    with BlockingPortal() as portal:
        try:
            jit = portal.enter(
                open_lllazyjit(
                    executor=None if args.connect else args.executor,
                    connect=args.connect,
                    optimize=args.opt,
                    name="kaleidoscope",
                    error_reporter=lambda error: print(f"JIT error: {error}", file=sys.stderr),
                )
            )
        except (OSError, ValueError) as exc:
            print(f"kaleidoscope: cannot start the JIT: {exc}", file=sys.stderr)
            return 2
        repl = Repl(jit, eager=args.eager, show_ir=args.show_ir)
        try:
            return repl.run(_lines(sys.stdin), prompt=sys.stdin.isatty())
        except KeyboardInterrupt:
            return 130


if __name__ == "__main__":
    raise SystemExit(main())
