"""SQL text shipped in the top-level ``warehouse`` folder, and quoting for SQL built here."""

from __future__ import annotations

from importlib import resources


def sql_files(folder: str) -> list[tuple[str, str]]:
    """(file name, SQL) of every ``.sql`` file of ``warehouse/<folder>``, by name."""
    root = resources.files("warehouse").joinpath(folder)
    return sorted(
        (p.name, p.read_text(encoding="utf-8")) for p in root.iterdir() if p.name.endswith(".sql")
    )


def warehouse_text(*parts: str) -> str:
    """Text of the file ``warehouse/<parts...>``."""
    return resources.files("warehouse").joinpath(*parts).read_text(encoding="utf-8")


def named_query(name: str) -> str:
    """SQL text of ``warehouse/queries/<name>.sql``."""
    return warehouse_text("queries", f"{name}.sql")


def sql_literal(value: str) -> str:
    """``value`` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"
