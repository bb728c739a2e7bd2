"""Data flows one way: sources -> model -> store -> metrics -> outputs.

Each package may import only the packages listed for it here (plus ``errors`` and ``config``,
which every layer may use). Outputs (cli, web, reports, alerts) may import anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "contactkpi"

ALLOWED: dict[str, set[str]] = {
    "model": set(),
    "sources": {"model"},
    "store": {"model", "sources"},  # the loader consumes sources' Batch contract
    "metrics": {"model", "store"},
    "wfm": {"model", "store", "metrics"},
    "simulate": {"model"},
}
ALWAYS = {"errors", "config"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "contactkpi" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_packages_import_only_upstream() -> None:
    wrong = []
    for layer, allowed in ALLOWED.items():
        folder = PACKAGE / layer
        for path in sorted(folder.rglob("*.py")):
            for imported in _imports(path) - allowed - ALWAYS - {layer}:
                wrong.append(f"{path.relative_to(PACKAGE)} imports contactkpi.{imported}")
    assert not wrong, "backward imports:\n" + "\n".join(wrong)


def test_the_rule_sees_imports() -> None:
    assert "model" in _imports(PACKAGE / "store" / "loads.py")
