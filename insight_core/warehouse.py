"""The DuckDB warehouse: migrations, one-transaction date replacement, models, checks and
atomic publication.

Storage: per-prompt rows (``core.classifications``, ``ops.quarantine``) live in immutable
per-date Parquet files beside the warehouse file (``<name>.partitions/``); the DuckDB file is a
small catalog holding views over them (``ops.partitions`` lists the live file of each date),
the configuration and runs, and the aggregates the models maintain. See
docs/architecture.md, "Warehouse storage".

Publication model: analysts (and the API) open the *published* catalog read-only. A run never
writes to it. It copies the (small) catalog to a staging file beside it, writes the run date's
rows to new Parquet files, swaps them into the catalog in one transaction, updates the SQL
models for the weeks and windows those dates can affect, runs the SQL checks, and only then
replaces the published catalog with ``os.replace`` (atomic on POSIX). A reader that opened the
old catalog keeps reading a consistent old snapshot (the files it names are kept for
``RETIRED_FILE_GRACE``); a failed run deletes its new files and leaves everything published
untouched.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from insight_core import disclosure_audit, suppression
from insight_core.errors import (
    ChecksFailedError,
    ConfigError,
    FewerRowsError,
    InsightError,
    disk_full_names,
)
from insight_core.interrupts import shielded

log = logging.getLogger(__name__)


def _sql_files(folder: str) -> list[tuple[str, str]]:
    root = resources.files("warehouse").joinpath(folder)
    files = sorted(
        (p.name, p.read_text(encoding="utf-8")) for p in root.iterdir() if p.name.endswith(".sql")
    )
    return files


def migrations() -> list[tuple[str, str]]:
    """(file name, SQL) of every migration, in order."""
    return _sql_files("migrations")


def models() -> list[tuple[str, str]]:
    """(file name, SQL) of every analytics model, in build order."""
    return _sql_files("models")


def checks() -> list[tuple[str, str]]:
    """(file name, SQL) of every check; a check returns the rows that break its rule."""
    return _sql_files("checks")


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
    for name, sql in migrations():
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


# Per-prompt datasets kept as per-date Parquet files: dataset -> (schema, view name). The empty
# "<view>_layout" table beside each view holds the column types and NOT NULL constraints that
# incoming rows pass through before they are written.
PARTITIONED = {"classifications": ("core", "classifications"), "quarantine": ("ops", "quarantine")}

PARTITION_ROW_GROUP = 16_384

# How long a Parquet file replaced by a rerun is kept for readers that still hold the catalog
# that named it. Deleted by the first publication after that.
RETIRED_FILE_GRACE = timedelta(hours=24)

# Derived state a full rebuild starts from scratch (everything else is recreated each build).
_INCREMENTAL_TABLES = (
    "core.category_cell_counts",
    "core.topic_cell_counts",
    "core.topic_users",
    "core.baseline_users",
    "core.cell_suppression",
    "ops.build_dimensions",
)
# Tables the models rewrite only from the first period a build can change (build_from in
# models/000_build_scope.sql). Each model creates its table from its own SELECT when it is
# missing, so a full rebuild drops them and they take the shape the models give them now.
_SCOPED_TABLES = (
    "core.category_cells",
    "core.topic_cells",
    "core.category_scores",
    "core.topic_scores",
    "analytics.daily_category_trends",
    "analytics.company_daily_category_trends",
    "analytics.weekly_category_trends",
    "analytics.company_weekly_category_trends",
    "analytics.topics",
    "analytics.topic_trends",
)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _partition_files(
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


def _layout_columns(con: duckdb.DuckDBPyConnection, dataset: str) -> list[tuple[str, str, str]]:
    """(name, type, is_nullable) of each column of ``dataset``'s layout table, in order."""
    schema, table = PARTITIONED[dataset]
    return con.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [schema, f"{table}_layout"],
    ).fetchall()


def _rows_sql(con: duckdb.DuckDBPyConnection, dataset: str, files: Sequence[str]) -> str:
    """A SELECT of ``dataset``'s columns, typed as its layout table, from ``files``."""
    schema, table = PARTITIONED[dataset]
    select = ", ".join(
        f'CAST("{name}" AS {kind}) AS "{name}"' for name, kind, _ in _layout_columns(con, dataset)
    )
    if not files:
        return f"SELECT {select} FROM {schema}.{table}_layout"
    listed = ", ".join(_sql_text(f) for f in files)
    return f"SELECT {select} FROM read_parquet([{listed}])"


def _night_rows_sql(con: duckdb.DuckDBPyConnection, request: PublishRequest) -> str:
    """A SELECT of the run's classified rows straight from its chunk files, typed as the layout.

    Streamed into the date's Parquet file rather than first inserted into the layout table:
    a 1M-prompt night then never sits in DuckDB's memory or its spill files (published alone:
    413-417 against 450-453 MB at the 256 MB limit). The layout's NOT NULL constraints still
    hold: a missing value fails the publication, as an insert into the layout table did.
    """
    if not request.classified_files:
        return "SELECT * FROM core.classifications_layout"

    def typed(name: str, kind: str, nullable: str) -> str:
        if name == "run_id":
            return f"{_sql_text(request.run_id)} AS run_id"
        value = f'CAST("{name}" AS {kind})'
        if nullable == "NO":
            message = _sql_text(f"NOT NULL constraint failed: core.classifications.{name}")
            value = f'CASE WHEN "{name}" IS NULL THEN error({message}) ELSE {value} END'
        return f'{value} AS "{name}"'

    select = ", ".join(typed(*column) for column in _layout_columns(con, "classifications"))
    listed = ", ".join(_sql_text(str(f)) for f in request.classified_files)
    return f"SELECT {select} FROM read_parquet([{listed}])"


def _define_dataset_view(con: duckdb.DuckDBPyConnection, dataset: str) -> None:
    """(Re)point the analyst-visible view of ``dataset`` at its live Parquet files."""
    schema, table = PARTITIONED[dataset]
    sql = _rows_sql(con, dataset, _partition_files(con, dataset))
    con.execute(f"CREATE OR REPLACE VIEW {schema}.{table} AS {sql}")


def _define_rows_view(
    con: duckdb.DuckDBPyConnection, name: str, files: Sequence[str]
) -> tuple[str, ...]:
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {_rows_sql(con, 'classifications', files)}")
    return tuple(files)


def build_models(
    con: duckdb.DuckDBPyConnection,
    touched_dates: Sequence[date] | None = None,
    replaced_files: Sequence[str] = (),
) -> None:
    """Bring every analytics model up to date with ``core``.

    ``touched_dates`` are the dates whose per-prompt rows changed since the last build (their
    previous files in ``replaced_files``): only their ISO weeks are recounted, only the weeks
    whose cells changed rerun the suppression fixpoint, and only the baseline windows that hold
    a touched date are recounted; the cell grids, scores and trend tables are rewritten from
    the first period the touched dates can affect on (``build_from``,
    models/000_build_scope.sql) and kept before it.
    Without ``touched_dates`` the build starts from scratch over every loaded date. Both give
    the same tables for the same per-prompt rows (tests/integration/test_incremental_publish.py).

    Models read per-prompt rows only through temp views the runner keeps current: before each
    model file, ``build_rows`` shows the files of the dates in the temp table ``build_dates``
    (which a model may rewrite for the models after it), ``touched_rows`` the live files of the
    touched dates and ``replaced_rows`` the files they replaced.
    """
    if touched_dates is None:
        for table in _INCREMENTAL_TABLES:
            con.execute(f"DELETE FROM {table}")
        for table in _SCOPED_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {table}")
        touched = [
            row[0]
            for row in con.execute(
                "SELECT run_date FROM ops.partitions WHERE dataset = 'classifications'"
            ).fetchall()
        ]
        replaced_files = ()
        mode = "full"
    else:
        touched = sorted(set(touched_dates))
        mode = "incremental"
    touched_frame = pl.DataFrame({"run_date": touched}, schema={"run_date": pl.Date})  # noqa: F841
    con.execute("CREATE OR REPLACE TEMP TABLE build_touched AS SELECT run_date FROM touched_frame")
    con.execute("CREATE OR REPLACE TEMP TABLE build_dates (run_date DATE)")
    _define_rows_view(
        con,
        "touched_rows",
        _partition_files(con, "classifications", "SELECT run_date FROM build_touched"),
    )
    _define_rows_view(con, "replaced_rows", list(replaced_files))
    shown: tuple[str, ...] | None = None
    # Steps whose set logic is Python, run right after the model file that prepares their input.
    after_model = {"004_cell_suppression.sql": suppression.decide_weeks}
    for name, sql in models():
        files = _partition_files(con, "classifications", "SELECT run_date FROM build_dates")
        if tuple(files) != shown:
            shown = _define_rows_view(con, "build_rows", files)
        started = time.perf_counter()
        try:
            con.execute(sql)
            if name in after_model:
                after_model[name](con)
        except duckdb.Error as exc:
            raise InsightError(f"warehouse model {name} failed: {exc}".splitlines()[0]) from exc
        log.debug("model %s (%s) took %.3f s", name, mode, time.perf_counter() - started)
    con.execute("DELETE FROM ops.build_scope")
    con.execute("INSERT INTO ops.build_scope SELECT run_date FROM build_touched")
    con.execute(
        "INSERT INTO ops.model_builds (mode, touched_dates, rebuilt_from) "
        "SELECT ?, ?, period FROM build_from",
        [mode, touched],
    )


def run_checks(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Run every check; returns {check name: failing row count} for the checks that fail.

    Besides the SQL checks, ``disclosure_audit`` attacks the published tables by subtraction
    (:mod:`insight_core.disclosure_audit`); each group it can single out is a failing row.
    """
    failures = {}
    for name, sql in checks():
        started = time.perf_counter()
        rows = con.execute(sql).fetchall()
        log.debug("check %s took %.3f s", name, time.perf_counter() - started)
        if rows:
            failures[name.removesuffix(".sql")] = len(rows)
            log.error("check %s failed with %d rows, e.g. %s", name, len(rows), rows[:3])
    started = time.perf_counter()
    findings = disclosure_audit.audit(con)
    log.debug("disclosure audit took %.3f s", time.perf_counter() - started)
    if findings:
        failures["disclosure_audit"] = len(findings)
        disclosure_audit.log_findings(findings)
    return failures


@contextlib.contextmanager
def publish_lock(published: Path) -> Iterator[None]:
    """Serialise publishers of one warehouse (readers are never blocked)."""
    published.parent.mkdir(parents=True, exist_ok=True)
    with published.with_name(published.name + ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def discard_stale_staging(published: Path, *companions: Path) -> list[Path]:
    """Delete staging copies (and their ``.wal``) a dead publisher left; returns them.

    Staging files exist only while their publisher holds the publish lock, so when the lock
    is free every one of them is a leftover. While another run publishes, nothing is touched.
    """
    lock_file = published.with_name(published.name + ".lock")
    if not lock_file.exists():
        return []
    removed: list[Path] = []
    with lock_file.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return []
        try:
            for target in (published, *companions):
                for stale in target.parent.glob(f".{target.name}.staging-*"):
                    if stale.is_dir():  # DuckDB's spill folder (``<staging>.tmp``)
                        shutil.rmtree(stale, ignore_errors=True)
                    else:
                        stale.unlink(missing_ok=True)
                    removed.append(stale)
            removed += _discard_unnamed_partitions(published)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    return removed


def _discard_unnamed_partitions(published: Path) -> list[Path]:
    """Delete per-date Parquet files that the published catalog names nowhere (neither live nor
    retired): what a publisher that died before publishing wrote. Call under the publish lock."""
    root = partitions_root(published)
    files = list(root.rglob("*.parquet")) if root.exists() else []
    if not files or not published.exists():
        return []
    with duckdb.connect(str(published), read_only=True) as con:
        try:
            rows = con.execute(
                "SELECT path FROM ops.partitions UNION ALL SELECT path FROM ops.retired_partitions"
            ).fetchall()
        except duckdb.CatalogException:  # a catalog from before partitioned storage
            return []
    named = {row[0] for row in rows}
    unnamed = [path for path in files if str(path) not in named]
    for path in unnamed:
        path.unlink(missing_ok=True)
    return unnamed


@dataclass
class PartitionFiles:
    """Parquet files a publication writes and the retired ones it may delete."""

    written: list[Path] = field(default_factory=list)  # deleted again if the build fails
    expired: list[Path] = field(default_factory=list)  # deleted once the build is published


def partitions_root(published: Path) -> Path:
    """The folder of ``published``'s per-date Parquet files (absolute: the catalog names them)."""
    return published.resolve().with_name(f"{published.stem}.partitions")


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
    # Row groups of PARTITION_ROW_GROUP rows: DuckDB's default (122,880) buffered about 110 MB
    # of a 1M-prompt night while writing it.
    con.execute(
        f"COPY ({select_sql}) TO {_sql_text(str(path))} "
        f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {PARTITION_ROW_GROUP})"
    )
    with path.open("rb") as handle:
        os.fsync(handle.fileno())
    rows = con.execute(f"SELECT count(*) FROM read_parquet({_sql_text(str(path))})").fetchone()
    return path, int(rows[0]) if rows else 0


def _replace_partition(
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


def _adopt_partitioned_storage(
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
                _replace_partition(
                    con,
                    root,
                    dataset,
                    run_date,
                    f"SELECT * FROM {layout} WHERE run_date = DATE '{run_date.isoformat()}'",
                    "adopted",
                    files,
                )
            con.execute(f"DELETE FROM {layout}")
            _define_dataset_view(con, dataset)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise


@contextlib.contextmanager
def staged_build(
    published: Path,
    companions: list[tuple[Path, Path]] | None = None,
    files: PartitionFiles | None = None,
    memory_limit: str | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to a staging copy that replaces ``published`` on success.

    Any exception inside the block discards the staging copy and leaves ``published`` as it was.
    ``(staging file, target)`` pairs the block appends to ``companions`` are published right
    after, under the same lock (the analyst copy), or deleted on failure. Parquet files the
    block lists in ``files.written`` are deleted on failure; ``files.expired`` are deleted
    after a successful publication. ``memory_limit`` caps DuckDB's memory (DuckDB's default:
    80% of the machine's).
    """
    companions = companions if companions is not None else []
    files = files if files is not None else PartitionFiles()
    with publish_lock(published):
        staging = published.with_name(f".{published.name}.staging-{uuid.uuid4().hex[:8]}")
        con: duckdb.DuckDBPyConnection | None = None
        swapped = False
        try:
            with disk_full_names(staging):
                if published.exists():
                    shutil.copyfile(published, staging)
                con = duckdb.connect(
                    str(staging), config={"memory_limit": memory_limit} if memory_limit else {}
                )
                apply_migrations(con)
                _adopt_partitioned_storage(con, partitions_root(published), files)
            yield con
            with disk_full_names(staging):
                started = time.perf_counter()
                con.execute("CHECKPOINT")
                con.close()
                log.debug("checkpoint took %.3f s", time.perf_counter() - started)
                with staging.open("rb+") as handle:
                    os.fsync(handle.fileno())
            # A stop signal waits for the swap: half a publication (the catalog replaced, its
            # new files then deleted below as a failure's) must never be seen.
            with shielded():
                staging.replace(published)
                swapped = True
                for companion, target in companions:
                    companion.replace(target)
        except BaseException as error:
            if swapped:
                # Published (a stop signal held during the swap is raised now): the catalog
                # names the new files, so nothing may be undone. Leftovers of a failed
                # companion swap are discarded by the next run (discard_stale_staging).
                raise
            if con is not None:
                with contextlib.suppress(Exception):
                    con.close()
            for path in [staging, *(companion for companion, _ in companions)]:
                path.unlink(missing_ok=True)
                Path(str(path) + ".wal").unlink(missing_ok=True)
            for path in files.written:
                path.unlink(missing_ok=True)
            if memory_limit and _out_of_memory(error):
                raise ConfigError(
                    f"publishing needed more than the {memory_limit} DuckDB may use: raise "
                    "INSIGHT_WAREHOUSE_MEMORY_LIMIT (the published warehouse is unchanged)"
                ) from error
            raise
        for path in files.expired:
            path.unlink(missing_ok=True)


def _out_of_memory(error: BaseException) -> bool:
    """Did DuckDB run out of its memory, directly or under a model's error (``raise from``)?"""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, duckdb.OutOfMemoryException):
            return True
        cause = cause.__cause__
    return False


def export_analytics(con: duckdb.DuckDBPyConnection, target: Path) -> Path:
    """Write every ``analytics`` table into a new DuckDB file beside ``target``; returns it.

    This analyst copy holds only the aggregated, suppressed tables: whoever can open it cannot
    reach per-prompt rows, which DuckDB's lack of per-schema permissions would otherwise allow.
    Name the file anything but ``analytics.duckdb``: DuckDB names a file's catalog after it,
    and a catalog called ``analytics`` would make ``analytics.<table>`` ambiguous.
    """
    staging = target.with_name(f".{target.name}.staging-{uuid.uuid4().hex[:8]}")
    tables = [
        row[0]
        for row in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'analytics' "
            "AND table_catalog = current_database() ORDER BY 1"
        ).fetchall()
    ]
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


def connect_read_only(published: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse."""
    if not published.exists():
        raise InsightError(f"no warehouse at {published} yet: run 'insight demo' or 'insight run'")
    return duckdb.connect(str(published), read_only=True)


@dataclass(frozen=True)
class LoadedIdLookup:
    """What :func:`look_up_loaded_ids` found: ids loaded on other dates, and the files it read."""

    loaded: dict[str, date]  # prompt_id -> the other date it is loaded for
    partition_files: tuple[str, ...]  # every date's per-prompt file the lookup compared with


def look_up_loaded_ids(
    published: Path, id_files: Sequence[Path], run_date: date, memory_limit: str | None = None
) -> LoadedIdLookup:
    """Which ``prompt_id``s of the Parquet ``id_files`` are already loaded for another date than
    ``run_date``, and which per-date files that was decided from.

    One lookup for a whole night: unless ids sort by date (then Parquet statistics skip the
    other dates' files), every loaded date's ids are read, so a lookup per chunk made a night's
    cost follow the history. Pass ``partition_files`` to the publication
    (:attr:`PublishRequest.ids_looked_up_in`): its check then reads only dates published since.
    ``memory_limit`` caps DuckDB's memory (its hash table of the night's ids).
    """
    if not id_files or not published.exists():
        return LoadedIdLookup({}, ())
    config: dict[str, str | bool | int | float | list[str]] = (
        {"memory_limit": memory_limit} if memory_limit else {}
    )
    with duckdb.connect(str(published), read_only=True, config=config) as con:
        if not _has_classifications(con):
            return LoadedIdLookup({}, ())
        night = f"read_parquet([{', '.join(_sql_text(str(f)) for f in id_files)}])"
        # IN builds DuckDB's hash table on the night's ids, not on the history's.
        loaded = con.execute(
            "SELECT prompt_id, run_date FROM core.classifications "
            f"WHERE run_date <> ? AND prompt_id IN (SELECT prompt_id FROM {night})",
            [run_date],
        ).fetchall()
        return LoadedIdLookup(
            {row[0]: row[1] for row in loaded},
            tuple(
                row[0]
                for row in con.execute(
                    "SELECT path FROM ops.partitions WHERE dataset = 'classifications' "
                    "ORDER BY run_date"
                ).fetchall()
            ),
        )


def _has_classifications(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = 'core' AND table_name = 'classifications'"
    ).fetchone()
    return bool(found and found[0])


def _insert_run(con: duckdb.DuckDBPyConnection, record: Mapping[str, Any]) -> None:
    columns = list(record)
    placeholders = ", ".join("?" for _ in columns)
    con.execute("DELETE FROM ops.runs WHERE run_id = ?", [record["run_id"]])
    con.execute(
        f"INSERT INTO ops.runs ({', '.join(columns)}) VALUES ({placeholders})",
        [record[c] for c in columns],
    )


def _write_configuration(
    con: duckdb.DuckDBPyConnection,
    thresholds: Mapping[str, int],
    categories: Mapping[str, str],
    taxonomy_version: str,
) -> None:
    con.execute("DELETE FROM ops.privacy_thresholds")
    con.executemany(
        "INSERT INTO ops.privacy_thresholds VALUES (?, ?)",
        [[k, int(v)] for k, v in thresholds.items()],
    )
    con.execute("DELETE FROM ops.categories")
    con.executemany(
        "INSERT INTO ops.categories VALUES (?, ?, ?)",
        [[k, v, taxonomy_version] for k, v in categories.items()],
    )


def _write_id_lookup_scope(con: duckdb.DuckDBPyConnection, paths: Sequence[str] | None) -> None:
    con.execute("DELETE FROM ops.id_lookup_partitions")
    looked_up = pl.DataFrame({"path": list(paths or [])}, schema={"path": pl.String})  # noqa: F841
    con.execute("INSERT INTO ops.id_lookup_partitions SELECT path FROM looked_up")


def _write_build_context(con: duckdb.DuckDBPyConnection, run_id: str, run_date: date) -> None:
    # The models read the building run from SQL (models/041_alert_log.sql logs new alerts
    # under it); a single row, so a stale context can never be picked up.
    con.execute("DELETE FROM ops.build_context")
    con.execute("INSERT INTO ops.build_context VALUES (?, ?)", [run_id, run_date])


ALERT_SUMMARY_COLUMNS = (
    "alert_id",
    "kind",
    "grain",
    "scope",
    "department",
    "category",
    "topic_id",
    "topic_label",
    "since",
    "period",
    "prompts",
    "share",
    "baseline_share",
    "spike_score",
    "headline",
)


def _new_alerts(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    cursor = con.execute(
        f"SELECT {', '.join(ALERT_SUMMARY_COLUMNS)} FROM analytics.alerts "
        "WHERE run_id = ? AND status = 'active' ORDER BY period, kind, department, alert_id",
        [run_id],
    )
    names = [d[0] for d in cursor.description]
    # Plain JSON types: the summary travels through Prefect results and MLflow artifacts.
    return [
        {n: v.isoformat() if isinstance(v, date) else v for n, v in zip(names, row, strict=True)}
        for row in cursor.fetchall()
    ]


@dataclass(frozen=True)
class PublishRequest:
    """Everything one run writes for its date."""

    run_date: date
    run_id: str
    classified_files: Sequence[Path]
    quarantine_files: Sequence[Path]
    topics: pl.DataFrame  # model_version, topic_id, label, words, size, category
    model_version_row: Mapping[str, Any] | None
    run_record: Mapping[str, Any]
    thresholds: Mapping[str, int]
    categories: Mapping[str, str]
    taxonomy_version: str
    # The per-date files the run already compared its ids with (LoadedIdLookup.partition_files);
    # checks/unique_prompt_ids.sql then reads only other dates' files. None: every date's.
    ids_looked_up_in: Sequence[str] | None = None
    # May the run leave its date with fewer prompts than are loaded (``insight run --replace``)?
    replace: bool = False


def _loaded_rows(con: duckdb.DuckDBPyConnection, run_date: date) -> int:
    found = con.execute(named_query("loaded_rows_for_date"), [run_date]).fetchone()
    return int(found[0]) if found else 0


def loaded_rows(published: Path, run_date: date) -> int:
    """Prompts the published warehouse holds for ``run_date`` (0 without a warehouse)."""
    if not published.exists():
        return 0
    with duckdb.connect(str(published), read_only=True) as con:
        try:
            return _loaded_rows(con, run_date)
        except duckdb.CatalogException:  # a catalog from before partitioned storage
            return 0


def refuse_fewer_rows(loaded: int, incoming: int, run_date: date, replace: bool) -> None:
    """Raise :class:`FewerRowsError` if ``incoming`` rows would replace more ``loaded`` ones.

    A rerun from a partial or unreadable delivery would otherwise silently delete prompts
    already published for the date; fewer rows must be asked for (``replace``).
    """
    if incoming < loaded and not replace:
        raise FewerRowsError(run_date, loaded, incoming)


def publish_run(
    published: Path,
    request: PublishRequest,
    analyst_copy: Path | None = None,
    memory_limit: str | None = None,
) -> dict[str, Any]:
    """Replace ``run_date`` in the warehouse in one transaction, update, check, publish.

    The run's rows become new per-date Parquet files (its date, plus any other date its files
    hold rows for, which are added to that date's rows); the models are brought up to date for
    exactly those dates (:func:`build_models`). Returns ``rows_loaded`` (prompts now loaded for
    the date) and ``new_alerts`` (the rows of ``analytics.alerts`` this run raised for the first
    time, as plain dicts). Raises :class:`ChecksFailedError` (and publishes nothing) when a check
    fails. With ``analyst_copy``, the ``analytics`` tables are also published to that file.
    ``memory_limit`` caps DuckDB's memory meanwhile (``INSIGHT_WAREHOUSE_MEMORY_LIMIT``).
    """
    companions: list[tuple[Path, Path]] = []
    files = PartitionFiles()
    root = partitions_root(published)
    with staged_build(published, companions, files, memory_limit) as con:
        first_build = not con.execute("SELECT count(*) FROM ops.model_builds").fetchone()[0]  # type: ignore[index]
        replaced: list[str] = []
        started = time.perf_counter()
        night = _night_rows_sql(con, request)
        # Before any file is written, under the publish lock: what is loaded now is what the
        # run would replace. Raising here discards the staging copy; nothing was published.
        incoming = con.execute(
            f"SELECT count(*) FROM ({night}) WHERE run_date = ?", [request.run_date]
        ).fetchone()
        refuse_fewer_rows(
            _loaded_rows(con, request.run_date),
            int(incoming[0]) if incoming else 0,
            request.run_date,
            request.replace,
        )
        con.execute("BEGIN TRANSACTION")
        try:
            touched = {request.run_date} | {
                row[0] for row in con.execute(f"SELECT DISTINCT run_date FROM ({night})").fetchall()
            }
            for run_date in sorted(touched):
                day = f"DATE '{run_date.isoformat()}'"
                rows = [f"SELECT * FROM ({night}) WHERE run_date = {day}"]
                # Rows for another date than the run's are added to that date, as before.
                old = _partition_files(con, "classifications", f"SELECT {day}")
                if run_date != request.run_date and old:
                    rows.append(_rows_sql(con, "classifications", old))
                retired = _replace_partition(
                    con,
                    root,
                    "classifications",
                    run_date,
                    " UNION ALL ".join(rows),
                    request.run_id,
                    files,
                )
                if retired:
                    replaced.append(retired)
            if request.quarantine_files:
                con.execute(
                    "INSERT INTO ops.quarantine_layout BY NAME SELECT ? AS run_id, "
                    "? AS run_date, source_row, prompt_id, record::JSON AS record, "
                    "failed_checks, source_file, source_line FROM read_parquet(?)",
                    [
                        request.run_id,
                        request.run_date,
                        [str(p) for p in request.quarantine_files],
                    ],
                )
            _replace_partition(
                con,
                root,
                "quarantine",
                request.run_date,
                "SELECT * FROM ops.quarantine_layout",
                request.run_id,
                files,
            )
            con.execute("DELETE FROM ops.quarantine_layout")
            for dataset in PARTITIONED:
                _define_dataset_view(con, dataset)
            expired = con.execute(
                "DELETE FROM ops.retired_partitions WHERE retired_at < ? RETURNING path",
                [datetime.now(UTC) - RETIRED_FILE_GRACE],
            ).fetchall()
            files.expired.extend(Path(row[0]) for row in expired)
            topics = request.topics  # noqa: F841 - read by DuckDB
            if request.topics.height:
                con.execute(
                    "DELETE FROM core.topics "
                    "WHERE model_version IN (SELECT model_version FROM topics)"
                )
                con.execute("INSERT INTO core.topics BY NAME SELECT * FROM topics")
            if request.model_version_row:
                row = dict(request.model_version_row)
                con.execute(
                    "DELETE FROM ops.model_versions WHERE model_version = ?", [row["model_version"]]
                )
                con.execute(
                    f"INSERT INTO ops.model_versions ({', '.join(row)}) "
                    f"VALUES ({', '.join('?' for _ in row)})",
                    list(row.values()),
                )
            _write_configuration(
                con, request.thresholds, request.categories, request.taxonomy_version
            )
            _insert_run(con, request.run_record)
            _write_build_context(con, request.run_id, request.run_date)
            _write_id_lookup_scope(con, request.ids_looked_up_in)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        log.debug("loading the run's rows took %.3f s", time.perf_counter() - started)
        if first_build:
            build_models(con)
        else:
            build_models(con, sorted(touched), replaced)
        failures = run_checks(con)
        if failures:
            raise ChecksFailedError(failures)
        loaded = con.execute(
            "SELECT coalesce(sum(rows), 0) FROM ops.partitions "
            "WHERE dataset = 'classifications' AND run_date = ?",
            [request.run_date],
        ).fetchone()
        new_alerts = _new_alerts(con, request.run_id)
        if analyst_copy is not None:
            companions.append((export_analytics(con, analyst_copy), analyst_copy))
    return {"rows_loaded": int(loaded[0]) if loaded else 0, "new_alerts": new_alerts}


def _merge_run(con: duckdb.DuckDBPyConnection, record: Mapping[str, Any]) -> None:
    """Apply one record to ``ops.runs``: a run's outcome, or (no ``status``) more warnings.

    A published run stays ``succeeded``: a later outcome of the same run (failed or cancelled
    after its publication) becomes one of its warnings instead. Warnings accumulate. Applying
    the same record twice changes nothing more than applying it once, except for warnings
    (deduplicated), so a journal folded twice is harmless.
    """
    found = con.execute(
        "SELECT status, coalesce(warnings, []) FROM ops.runs WHERE run_id = ?", [record["run_id"]]
    ).fetchone()
    status, warnings = (found[0], list(found[1])) if found else (None, [])
    new_warnings = list(record.get("warnings") or [])
    if "status" in record and status == "succeeded" and record["status"] != "succeeded":
        reason = record.get("error") or "no reason given"
        new_warnings.append(f"{record['status']} after its publication: {reason}")
        record = {"run_id": record["run_id"]}
    merged = warnings + [w for w in new_warnings if w not in warnings]
    if "status" not in record:
        if found is None:
            log.warning("warnings for run %s, which ops.runs does not hold", record["run_id"])
            return
        con.execute("UPDATE ops.runs SET warnings = ? WHERE run_id = ?", [merged, record["run_id"]])
        return
    _insert_run(con, {**record, "warnings": merged})


def record_runs(published: Path, records: Sequence[Mapping[str, Any]]) -> None:
    """Record runs' outcomes or warnings in ``ops.runs`` (one catalog write), no data touched."""
    with staged_build(published) as con:
        for record in records:
            _merge_run(con, record)


def record_failed_run(published: Path, run_record: Mapping[str, Any]) -> None:
    """Add a failed run to ``ops.runs`` without touching any published data."""
    record_runs(published, [run_record])


def run_published(published: Path, run_id: str) -> bool:
    """Has run ``run_id`` published its date (its ``ops.runs`` row says ``succeeded``)?"""
    if not published.exists():
        return False
    with connect_read_only(published) as con:
        found = con.execute(
            "SELECT count(*) FROM ops.runs WHERE run_id = ? AND status = 'succeeded'", [run_id]
        ).fetchone()
    return bool(found and found[0])


def published_alerts(published: Path, run_id: str) -> list[dict[str, Any]]:
    """The alerts run ``run_id`` raised, as its publication returned them."""
    with connect_read_only(published) as con:
        return _new_alerts(con, run_id)


def query(published: Path, sql: str) -> pl.DataFrame:
    """Run a read-only query against the published warehouse."""
    with connect_read_only(published) as con:
        try:
            relation = con.sql(sql)
            if relation is None:  # a statement that returns no rows
                return pl.DataFrame()
            return pl.from_arrow(relation.to_arrow_table())  # type: ignore[return-value]
        except duckdb.Error as exc:
            raise InsightError(str(exc).splitlines()[0]) from exc


def named_query(name: str) -> str:
    """SQL text of ``warehouse/queries/<name>.sql``."""
    return (
        resources.files("warehouse").joinpath("queries", f"{name}.sql").read_text(encoding="utf-8")
    )
