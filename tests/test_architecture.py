"""The layers import downwards only (docs/architecture.md): a reader can trust the folder tree.

domain      imports nothing else from vru (pure functions and plain data);
adapters    import adapters and domain;
services    import services, adapters and domain;
interfaces  may import anything below them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "vru"

ALLOWED = {
    "domain": {"domain"},
    "adapters": {"adapters", "domain"},
    "services": {"services", "adapters", "domain"},
    "interfaces": {"interfaces", "services", "adapters", "domain"},
}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "vru" and parts[1] in ALLOWED else None


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_imports_run_downwards(layer: str) -> None:
    wrong = []
    for path in sorted((SRC / layer).rglob("*.py")):
        for line, module in _imports(path):
            target = _layer(module)
            if target is not None and target not in ALLOWED[layer]:
                wrong.append(f"{path.relative_to(SRC)}:{line} imports {module}")
    assert wrong == [], "\n".join(wrong)


def test_domain_does_no_io() -> None:
    """The domain takes tables and returns tables: no files, network or databases."""
    banned = {"duckdb", "httpx", "sqlalchemy", "pyogrio", "openpyxl", "urllib.request",
              "requests", "shutil", "subprocess", "socket"}
    wrong = []
    for path in sorted((SRC / "domain").rglob("*.py")):
        for line, module in _imports(path):
            if module in banned or module.split(".")[0] in banned:
                wrong.append(f"{path.relative_to(SRC)}:{line} imports {module}")
        text = path.read_text(encoding="utf-8")
        for call in ("open(", ".read_text(", ".write_text(", ".read_bytes(", "read_csv(",
                     "to_parquet(", "read_file("):
            if call in text:
                wrong.append(f"{path.relative_to(SRC)} calls {call}")
    assert wrong == [], "\n".join(wrong)
