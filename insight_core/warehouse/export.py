"""The analyst copy: the published ``analytics`` relations alone, in a DuckDB file of their own."""

from __future__ import annotations

import uuid
from pathlib import Path

import duckdb

from insight_core.warehouse.declarations import published_relations


def export_analytics(con: duckdb.DuckDBPyConnection, target: Path) -> Path:
    """Write the published ``analytics`` relations into a new DuckDB file beside ``target``;
    returns it.

    This analyst copy holds only the aggregated, suppressed tables that
    ``warehouse/analytics.toml`` declares published (the checks refuse a build with any other
    analytics relation): whoever can open it cannot reach per-prompt rows, which DuckDB's lack
    of per-schema permissions would otherwise allow. Name the file anything but
    ``analytics.duckdb``: DuckDB names a file's catalog after it, and a catalog called
    ``analytics`` would make ``analytics.<table>`` ambiguous.
    """
    staging = target.with_name(f".{target.name}.staging-{uuid.uuid4().hex[:8]}")
    present = {
        row[0]
        for row in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'analytics' "
            "AND table_catalog = current_database()"
        ).fetchall()
    }
    tables = sorted(set(published_relations()) & present)
    source = con.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
    con.execute(f"ATTACH '{staging}' AS analyst_copy")
    try:
        con.execute("CREATE SCHEMA analyst_copy.analytics")
        for table in tables:
            con.execute(
                f'CREATE TABLE analyst_copy.analytics."{table}" AS '
                f'SELECT * FROM "{source}".analytics."{table}"'
            )
    finally:
        con.execute("DETACH analyst_copy")
    return staging
