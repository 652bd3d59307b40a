"""Data moves one way: a module imports only the stages before it, never a later stage or a shell."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import ROOT

pytestmark = pytest.mark.sqlite_only  # reads the source; opens no database

# The stages in the order data flows through them; shells last. Same rank: may not import each other
# unless they are the same package.
ORDER = [
    "errors",
    "models",
    "config",
    "store",
    "sources",
    "collect",
    "editor",
    "render",
    "subscribers",
    "compose",
    "transports",
    "signup",
    "deliver",
    "feedback",
    "report",
    "check",
    "pipeline",
    "starter",
    "preflight",
    "schedule",
    "web",
    "cli",
]


def _stage(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def test_modules_import_only_earlier_stages() -> None:
    package = ROOT / "newsletter"
    problems = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        stage = _stage(name)
        if stage not in ORDER:
            if stage not in ("", "__main__"):
                problems.append(f"{name}: stage {stage!r} is not in the flow; add it to ORDER")
            continue
        for node in ast.walk(ast.parse(Path(path).read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("newsletter."):
                target = _stage(node.module)
            elif isinstance(node, ast.Import):
                targets = [_stage(a.name) for a in node.names if a.name.startswith("newsletter.")]
                target = targets[0] if targets else ""
            else:
                continue
            if target and target != stage and target in ORDER and ORDER.index(target) > ORDER.index(stage):
                problems.append(f"{name} imports the later stage newsletter.{target}")
    assert not problems, "\n".join(problems)


def test_only_the_cli_prints_or_exits() -> None:
    problems = []
    for path in sorted((ROOT / "newsletter").rglob("*.py")):
        if "cli" in path.parts or path.name == "__main__.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("print", "exit")
            ):
                problems.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.func.id}()")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "exit"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "sys"
            ):
                problems.append(f"{path.relative_to(ROOT)}:{node.lineno}: sys.exit()")
    assert not problems, "\n".join(problems)
