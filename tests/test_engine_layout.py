"""The engine folder's three rooms keep their arrows one way: `common` is used by both engines
and uses neither; the pandas engine and the SQL engine never import each other."""

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).parent.parent / "src" / "specrules" / "engine"


def engine_imports(path: Path) -> set[str]:
    """The rooms (`common`, `pandas`, `sql`) a module imports from, at any depth."""
    rooms = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[:2] == ["specrules", "engine"] and len(parts) > 2:
                rooms.add(parts[2])
    return rooms


FORBIDDEN = {"common": {"pandas", "sql"}, "pandas": {"sql"}, "sql": {"pandas"}}


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_a_room_imports_only_what_its_arrows_allow(room):
    modules = sorted((ENGINE / room).glob("*.py"))
    assert len(modules) > 1, f"engine/{room} has no modules"
    crossing = {
        m.name: sorted(engine_imports(m) & FORBIDDEN[room])
        for m in modules
        if engine_imports(m) & FORBIDDEN[room]
    }
    assert crossing == {}


def test_the_engine_folder_holds_only_its_three_rooms():
    loose = sorted(p.name for p in ENGINE.glob("*.py") if p.name != "__init__.py")
    assert loose == []
    assert sorted(p.name for p in ENGINE.iterdir() if p.is_dir() and p.name != "__pycache__") == [
        "common",
        "pandas",
        "sql",
    ]
