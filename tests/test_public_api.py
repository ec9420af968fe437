"""The public API of each package is pinned, resolvable and documented."""

from __future__ import annotations

import importlib
import inspect

import pytest

ACTORS_API = {
    "Actor", "ActorClosedError", "ActorCrashedError", "ActorError", "ActorRef",
    "Ask", "CallController", "ControllerAccess", "DetachResource",
    "Disconnect", "DisconnectedError", "Dispatch", "ErrorReporter", "ExecutionScope", "ExecutorSession",
    "ExecutionScopeGuard", "InLoopDispatcher", "InProcessControllerAccess", "IncomingCall",
    "IncomingResult", "LinkLost", "ManualDispatcher", "Message", "NativeWrapperFactory", "NoControllerError", "OutOfBandError",
    "PendingCount", "RemoteCallError", "ResourceManager", "ReturnFn", "RunNext",
    "RunUntilEmpty", "ScopeState", "Session", "SessionShutdownError", "SessionStatistics",
    "ShutdownDispatcher", "ShutdownResource", "Task", "TaskDispatcher", "ThreadPoolDispatcher",
    "WrapperEntry", "WrapperFunction", "WrapperResult", "open_executor_session", "open_session",
    "python_wrapper", "run",
}  # fmt: skip

TESTING_API = {
    "CallSignature", "ControllerStatistics", "ExecutorExit", "Handler", "ListeningExecutor",
    "SimulatedController", "UnansweredCall", "WireController", "executor_command",
}  # fmt: skip


ORC_API = {
    "BlockingPortal",
    # ORC core (issue #8)
    "DefinitionGenerator", "DuplicateDefinitionError", "ExecutionSession",
    "ExecutionSessionBlocking", "ExecutorSymbolDef", "FailedToMaterializeError", "JITDylib",
    "JITDylibBlocking", "JITDylibDefunctError", "JITDylibLookupFlags", "JITSymbolFlags",
    "LookupKind", "LookupState", "MaterializationResponsibility",
    "MaterializationResponsibilityBlocking", "MaterializationUnit", "MaterializeOn",
    "MissingSymbolDefinitionsError", "Name", "OrcError", "ReexportsGenerator", "ResourceManager",
    "ResourceTracker", "ResourceTrackerBlocking", "ResourceTrackerDefunctError", "SearchOrderItem",
    "SymbolAliasMapEntry", "SymbolDependenceGroup", "SymbolLookupFlags", "SymbolLookupSet",
    "SymbolState", "SymbolStringPool", "SymbolsCouldNotBeRemovedError", "SymbolsNotFoundError",
    "UnexpectedSymbolDefinitionsError", "UnsatisfiedSymbolDependenciesError", "absolute_symbols",
    "open_execution_session", "reexports", "symbol_aliases",
    # ExecutorProcessControl (issue #9)
    "CallSignature", "EPCDylibManager", "EPCMemoryAccess", "EPCMemoryManager", "EPCOpener",
    "ExecutorCallError", "ExecutorExit", "ExecutorProcess", "ExecutorProcessControl", "Handler",
    "InProcessEPC", "JITDispatchInfo", "MissingBootstrapSymbolError", "Segment",
    "SimpleRemoteEPC", "UnansweredCall", "connect_executor", "open_inprocess_executor",
    "spawn_executor", "sps_handler",
    # The slab memory manager of -noexec -slab-allocate (issue #14)
    "DEFAULT_SLAB_ADDRESS", "SlabAllocation", "SlabExhaustedError", "SlabMemoryManager",
    "parse_slab_size",
    # ObjectLinkingLayer and the link driver (issue #10): PLAN.md contract 4
    "DebugObjectPlugin", "EHFrameRegistrationPlugin", "EPCDynamicLibrarySearchGenerator",
    "GraphDumpPlugin",
    "LinkPlugin", "LinkedGraph", "MemoryManager", "ObjectLinkingLayer",
    "ObjectMaterializationUnit", "StaticLibraryDefinitionGenerator",
    "register_jit_dispatch_handlers",
    # IR, lazy compilation, LLJIT (issue #11)
    "CompileOnDemandLayer", "IRCompileLayer", "IRCompiler", "IRLayer", "IRMaterializationUnit",
    "IRModule", "IRTarget", "IRTransformLayer", "LazyReexportsManager", "ModuleTransform",
    "ObjectEmitter", "PartitionFunction", "compile_requested", "compile_whole_module",
    "lazy_reexports", "optimize",
    "FunctionSignature", "GenericPlatform", "JITFunction", "JITOpener", "LLJIT", "LLJITBlocking",
    "LLJITBuilder", "LLLazyJIT", "LLLazyJITBuilder", "ScalarType", "open_lljit",
    "open_lllazyjit",
}  # fmt: skip

# The JIT linker's pure core (issue #10): PLAN.md contract 3.
JITLINK_API = {
    "AllocationRequest", "Block", "COMMON_SECTION", "DEFAULT_PAGE_SIZE", "DefinedSymbol",
    "EH_FRAME_SECTION", "Edge", "EdgeKind", "FixupOverflowError", "GOT_SECTION", "GOT_SYMBOL",
    "GraphLinker", "InitSection", "JITLinkError", "LayoutError", "Lifetime", "LinkGraph",
    "LinkPhase", "LinkResult", "Linkage", "MAX_ALLOCATION_SIZE", "MAX_SECTION_SIZE", "MemProt",
    "ObjectFormatError", "ObjectInterface", "Pass", "PassConfiguration", "STUBS_SECTION",
    "Scope", "Section", "Segment", "SegmentRequest", "Symbol", "SymbolFlags", "SymbolKind",
    "TLSINFO_SECTION", "UnresolvedSymbolsError", "apply_fixups", "build_tables",
    "default_passes", "define_section_bounds", "dump_graph", "fixup_value",
    "is_initializer_section", "keep_bounded_sections_alive", "keep_initializers_alive", "link",
    "mark_live", "object_interface", "optimize_got_and_stubs", "prune", "read_object",
    "relocation_name", "split_eh_frame", "DependenceGroup", "dependence_groups",
    # Reading an object once for both its interface and its graph (issue #10)
    "ElfObject", "build_graph", "elf_interface", "read_elf",
    # The -check language (issue #14)
    "AddressLookup", "CapstoneDecoder", "CheckExpressionError", "CheckFileReport",
    "CheckRegistrationError", "CheckResult", "CheckRule", "Checker", "DEFAULT_CHECK_NAME",
    "DecodedInstruction", "DecoderUnavailableError", "InstructionDecoder", "LinkedAddresses",
    "LinkedFile", "MemoryReader", "MemoryRegion", "Operand", "read_check_rules",
    "ARCHIVE_MAGIC", "Archive", "ArchiveMember", "is_archive", "read_archive",
}  # fmt: skip


@pytest.mark.parametrize(
    ("package", "expected"),
    [
        ("actors", ACTORS_API),
        ("actors.testing", TESTING_API),
        ("actors.orc", ORC_API),
        ("actors.orc.jitlink", JITLINK_API),
    ],
)
def test_public_api_is_pinned(package: str, expected: set[str]) -> None:
    """__all__ lists exactly the agreed names."""
    assert set(importlib.import_module(package).__all__) == expected


@pytest.mark.parametrize(
    "package",
    ["actors", "actors.testing", "actors.orc", "actors.orc.jitlink", "protocol", "native"],
)
def test_public_api_names_resolve_and_are_documented(package: str) -> None:
    """Every public name resolves, and every public class or function has a docstring."""
    module = importlib.import_module(package)
    undocumented = []
    for name in module.__all__:
        value = getattr(module, name)
        if (inspect.isclass(value) or inspect.isfunction(value)) and not inspect.getdoc(value):
            undocumented.append(name)
    assert undocumented == []


def test_public_api_actors_import_is_lazy() -> None:
    """Importing actors loads no submodule until a name is used (keeps start-up lean)."""
    import subprocess
    import sys

    code = "import sys, actors; print(sorted(m for m in sys.modules if m.startswith('actors.')))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    assert out == "[]"
