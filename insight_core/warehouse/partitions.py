"""Per-date Parquet storage of the per-prompt datasets, and the catalog that names the files.

Per-prompt rows (``core.classifications``, ``ops.quarantine``) live in immutable per-date
Parquet files beside the warehouse file (``<name>.partitions/``); ``ops.partitions`` lists the
live file of each date and the analyst-visible views read those files. A rerun writes a new
file and retires the old one, which readers of the previous catalog may still hold open.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb

from insight_core.warehouse.sql import sql_literal

# Per-prompt datasets kept as per-date Parquet files: dataset -> (schema, view name). The empty
# "<view>_layout" table beside each view holds the column types and NOT NULL constraints that
# incoming rows pass through before they are written.
PARTITIONED = {"classifications": ("core", "classifications"), "quarantine": ("ops", "quarantine")}

PARTITION_ROW_GROUP = 16_384

# How long a Parquet file replaced by a rerun is kept for readers that still hold the catalog
# that named it. Deleted by the first publication after that.
RETIRED_FILE_GRACE = timedelta(hours=24)


@dataclass
class PartitionFiles:
    """Parquet files a publication writes and the retired ones it may delete."""

    written: list[Path] = field(default_factory=list)  # deleted again if the build fails
    expired: list[Path] = field(default_factory=list)  # deleted once the build is published


def partitions_root(published: Path) -> Path:
    """The folder of ``published``'s per-date Parquet files (absolute: the catalog names them)."""
    return published.resolve().with_name(f"{published.stem}.partitions")


def partition_files(
    con: duckdb.DuckDBPyConnection, dataset: str, dates_sql: str | None = None
) -> list[str]:
    """Live files of ``dataset``, optionally only for the dates ``dates_sql`` returns."""
    where = f" AND run_date IN ({dates_sql})" if dates_sql else ""
    return [
        row[0]
        for row in con.execute(
            f"SELECT path FROM ops.partitions WHERE dataset = ?{where} ORDER BY run_date",
            [dataset],
        ).fetchall()
    ]


def layout_columns(con: duckdb.DuckDBPyConnection, dataset: str) -> list[tuple[str, str, str]]:
    """(name, type, is_nullable) of each column of ``dataset``'s layout table, in order."""
    schema, table = PARTITIONED[dataset]
    return con.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [schema, f"{table}_layout"],
    ).fetchall()


def rows_sql(con: duckdb.DuckDBPyConnection, dataset: str, files: Sequence[str]) -> str:
    """A SELECT of ``dataset``'s columns, typed as its layout table, from ``files``."""
    schema, table = PARTITIONED[dataset]
    select = ", ".join(
        f'CAST("{name}" AS {kind}) AS "{name}"' for name, kind, _ in layout_columns(con, dataset)
    )
    if not files:
        return f"SELECT {select} FROM {schema}.{table}_layout"
    listed = ", ".join(sql_literal(f) for f in files)
    return f"SELECT {select} FROM read_parquet([{listed}])"


def define_dataset_view(con: duckdb.DuckDBPyConnection, dataset: str) -> None:
    """(Re)point the analyst-visible view of ``dataset`` at its live Parquet files."""
    schema, table = PARTITIONED[dataset]
    sql = rows_sql(con, dataset, partition_files(con, dataset))
    con.execute(f"CREATE OR REPLACE VIEW {schema}.{table} AS {sql}")


def _write_partition(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    dataset: str,
    run_date: date,
    select_sql: str,
    files: PartitionFiles,
) -> tuple[Path, int]:
    """Write ``select_sql``'s rows as a new immutable file of ``dataset`` for ``run_date``."""
    folder = root / dataset / f"run_date={run_date.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.parquet"
    files.written.append(path)
    # Small row groups: DuckDB's default (122,880 rows) buffers a large share of a big night
    # in memory while writing it.
    con.execute(
        f"COPY ({select_sql}) TO {sql_literal(str(path))} "
        f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {PARTITION_ROW_GROUP})"
    )
    with path.open("rb") as handle:
        os.fsync(handle.fileno())
    rows = con.execute(f"SELECT count(*) FROM read_parquet({sql_literal(str(path))})").fetchone()
    return path, int(rows[0]) if rows else 0


def replace_partition(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    dataset: str,
    run_date: date,
    select_sql: str,
    run_id: str,
    files: PartitionFiles,
) -> str | None:
    """Make ``select_sql``'s rows the live file of ``run_date``; returns the file it replaced.

    No rows: the date is no longer loaded for ``dataset``. The replaced file is retired, not
    deleted, so a reader of the previous catalog can still read it.
    """
    old = con.execute(
        "SELECT path FROM ops.partitions WHERE dataset = ? AND run_date = ?", [dataset, run_date]
    ).fetchone()
    con.execute(
        "DELETE FROM ops.partitions WHERE dataset = ? AND run_date = ?", [dataset, run_date]
    )
    path, rows = _write_partition(con, root, dataset, run_date, select_sql, files)
    if rows:
        con.execute(
            "INSERT INTO ops.partitions (dataset, run_date, path, rows, run_id) "
            "VALUES (?, ?, ?, ?, ?)",
            [dataset, run_date, str(path), rows, run_id],
        )
    else:
        files.written.remove(path)
        path.unlink()
    if old:
        con.execute("INSERT INTO ops.retired_partitions (path) VALUES (?)", [old[0]])
        return str(old[0])
    return None


def adopt_partitioned_storage(
    con: duckdb.DuckDBPyConnection, root: Path, files: PartitionFiles
) -> None:
    """Turn per-prompt tables still inside the DuckDB file into per-date Parquet files + views.

    A new warehouse passes through here once, with empty tables; an older one moves its rows
    out on its first publication after the upgrade (and its models are then rebuilt in full).
    """
    for dataset, (schema, table) in PARTITIONED.items():
        kind = con.execute(
            "SELECT table_type FROM information_schema.tables WHERE table_catalog = "
            "current_database() AND table_schema = ? AND table_name = ?",
            [schema, table],
        ).fetchone()
        if not kind or kind[0] != "BASE TABLE":
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"ALTER TABLE {schema}.{table} RENAME TO {table}_layout")
            layout = f"{schema}.{table}_layout"
            dates = con.execute(f"SELECT DISTINCT run_date FROM {layout} ORDER BY 1").fetchall()
            for (run_date,) in dates:
                replace_partition(
                    con,
                    root,
                    dataset,
                    run_date,
                    f"SELECT * FROM {layout} WHERE run_date = DATE '{run_date.isoformat()}'",
                    "adopted",
                    files,
                )
            con.execute(f"DELETE FROM {layout}")
            define_dataset_view(con, dataset)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise


def discard_unnamed_partitions(published: Path) -> list[Path]:
    """Delete per-date Parquet files that the published catalog names nowhere (neither live nor
    retired): what a publisher that died before publishing wrote. Call under the publish lock."""
    root = partitions_root(published)
    found = list(root.rglob("*.parquet")) if root.exists() else []
    if not found or not published.exists():
        return []
    with duckdb.connect(str(published), read_only=True) as con:
        try:
            rows = con.execute(
                "SELECT path FROM ops.partitions UNION ALL SELECT path FROM ops.retired_partitions"
            ).fetchall()
        except duckdb.CatalogException:  # a catalog from before partitioned storage
            return []
    named = {row[0] for row in rows}
    unnamed = [path for path in found if str(path) not in named]
    for path in unnamed:
        path.unlink(missing_ok=True)
    return unnamed
