"""Builds the one program of orcrt that is not Python: the launcher, installed twice.

Everything else is declared in pyproject.toml; setuptools reads both. ``orcrt-executor`` is what
``llvm-jitlink -oop-executor=`` runs, and ``orcrt-jitlink`` what a test suite runs, once per
JIT'd program: a tiny C program (``actors/_warm_launcher.c``, one binary under both names; the
name says which program it is) that either execs the Python program (``orcrt-executor-py`` or
``orcrt-jitlink-py``, the cold start) or, with ``ORCRT_WARM`` set, hands the launch to an
already-running server that has imported everything (the warm start). A Python launcher could
not do that fast: starting the interpreter alone costs ~12 ms and ``import actors`` (typing)
another ~13 ms, against ~1 ms for the C program, and the warm start's whole budget is a few
milliseconds over LLVM's own executor. So the ``build_scripts`` step compiles it, and it is
installed beside the console scripts (bin/), where it finds them.
"""

import os
import shutil

import setuptools

# setuptools provides distutils (its own copy) once imported.
from distutils.ccompiler import new_compiler  # noqa: E402
from distutils.command.build_scripts import build_scripts  # noqa: E402
from distutils.sysconfig import customize_compiler  # noqa: E402

LAUNCHER_SOURCE = "actors/_warm_launcher.c"
LAUNCHERS = ["orcrt-executor", "orcrt-jitlink"]


class BuildLauncher(build_scripts):
    """``build_scripts`` that compiles the launcher into the scripts directory, once per name."""

    def get_source_files(self) -> list[str]:
        return [LAUNCHER_SOURCE]

    def run(self) -> None:
        compiler = new_compiler()
        customize_compiler(compiler)
        self.mkpath(self.build_dir)
        temporary = os.path.join(self.build_dir, "_launcher_objects")
        objects = compiler.compile(
            [LAUNCHER_SOURCE], output_dir=temporary, extra_postargs=["-O2", "-Wall"]
        )
        first, *others = LAUNCHERS
        compiler.link_executable(objects, first, output_dir=self.build_dir)
        for name in others:  # copies, not links: wheels and installers keep plain files
            shutil.copy2(os.path.join(self.build_dir, first), os.path.join(self.build_dir, name))
        shutil.rmtree(temporary)


setuptools.setup(scripts=LAUNCHERS, cmdclass={"build_scripts": BuildLauncher})
