"""Schema migrations: ``warehouse/migrations/NNNN_*.sql``, each applied once and recorded."""

from __future__ import annotations

import hashlib

import duckdb

from insight_core.errors import InsightError
from insight_core.warehouse.sql import sql_files


def migration_files() -> list[tuple[str, str]]:
    """(file name, SQL) of every migration, in order."""
    return sql_files("migrations")


def apply_migrations(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply migrations not yet recorded in ``ops.schema_migrations``; returns their names."""
    con.execute("CREATE SCHEMA IF NOT EXISTS ops")
    con.execute(
        "CREATE TABLE IF NOT EXISTS ops.schema_migrations ("
        " name VARCHAR PRIMARY KEY, checksum VARCHAR NOT NULL,"
        " applied_at TIMESTAMPTZ DEFAULT current_timestamp)"
    )
    applied = {
        row[0]: row[1]
        for row in con.execute("SELECT name, checksum FROM ops.schema_migrations").fetchall()
    }
    newly_applied = []
    for name, sql in migration_files():
        checksum = hashlib.sha256(sql.encode()).hexdigest()
        if name in applied:
            if applied[name] != checksum:
                raise InsightError(
                    f"migration {name} changed after it was applied; add a new migration instead"
                )
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute(
                "INSERT INTO ops.schema_migrations (name, checksum) VALUES (?, ?)", [name, checksum]
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        newly_applied.append(name)
    return newly_applied
