"""README.md opens with the two commands, and CI runs exactly the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _opening_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    head = text[: text.index("\n## ")]
    return re.findall(r"```sh\n(.+?)\n```", head)


def test_readme_opens_with_demo_and_test_commands() -> None:
    """The first two code blocks are one-line commands: install + demo, install + tests."""
    commands = _opening_commands()
    assert len(commands) == 2
    demo, tests = commands
    assert demo.startswith("pip install ")
    assert "\n" not in demo
    assert tests.startswith("pip install ")
    assert "pytest" in tests


def test_readme_test_command_is_what_ci_runs() -> None:
    """.ci/run runs the README's test command verbatim, on a line of its own."""
    _, tests = _opening_commands()
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci_lines


def test_readme_shows_the_orc_core_example_verbatim() -> None:
    """The controller section's example is examples/orc_core.py (minus its docstring)."""
    example = (ROOT / "examples" / "orc_core.py").read_text()
    code = example[example.index("from __future__ import annotations") :]
    assert f"```python\n{code}```" in (ROOT / "README.md").read_text()
