"""The import direction is the architecture: nothing below crm/ui imports streamlit, pages hold no SQL."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _crm_modules_below_ui() -> list[Path]:
    return [path for path in (ROOT / "crm").rglob("*.py") if "ui" not in path.relative_to(ROOT / "crm").parts]


def test_the_crm_package_has_modules_to_check() -> None:
    assert len(_crm_modules_below_ui()) > 10


def test_nothing_below_crm_ui_imports_streamlit() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in _crm_modules_below_ui()
        if any(name == "streamlit" or name.startswith("streamlit.") for name in _imported_modules(path))
    ]
    assert offenders == []


def test_pages_import_no_sqlalchemy_and_write_no_sql() -> None:
    page_files = [ROOT / "Home.py", *sorted((ROOT / "pages").glob("*.py"))]
    offenders = []
    for path in page_files:
        modules = _imported_modules(path)
        source = path.read_text(encoding="utf-8").upper()
        if any(name.startswith("sqlalchemy") for name in modules) or "SELECT " in source or ".GROUPBY(" in source:
            offenders.append(path.name)
    assert offenders == []
