"""The house rules that code can check: layers, and models that match migrations."""

import ast
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from swat.extensions import db
from swat.models import Base
from swat.models.base import include_object_for

PKG = Path(__file__).resolve().parent.parent / "swat"


def imports_of(folder: str) -> dict[str, set[str]]:
    found = {}
    for path in (PKG / folder).rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[path.name] = names
    return found


def test_domain_imports_no_flask_and_no_sqlalchemy():
    for name, mods in imports_of("domain").items():
        assert not mods & {"flask", "flask_babel", "flask_login", "sqlalchemy", "wtforms"}, name


def test_services_import_no_flask():
    for name, mods in imports_of("services").items():
        assert not {m for m in mods if m.startswith("flask")}, name


def test_models_and_migrations_agree(ctx):
    """The schema the migrations built (the suite's database) is the schema the models describe."""
    with db.engine.connect() as conn:
        opts = {"compare_type": True, "include_object": include_object_for(conn.dialect.name)}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    assert diff == []
