"""swat.devdata is a tool of the `swat` command: nothing that serves the desk imports it."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "swat"


def imported_modules(path: Path) -> set[str]:
    """Absolute names of what the module imports (relative imports resolved)."""
    package = ["swat", *path.relative_to(PKG).parent.parts]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            names |= {f"{module}.{a.name}" for a in node.names}
    return names


def test_only_the_cli_imports_devdata():
    users = {
        path.relative_to(PKG).parts[0]
        for path in PKG.rglob("*.py")
        if any(m == "swat.devdata" or m.startswith("swat.devdata.") for m in imported_modules(path))
    }
    assert "cli" in users
    assert users <= {"cli", "devdata"}, users
