"""The DuckDB warehouse: migrations, one-transaction date replacement, models, checks and
atomic publication.

Publication model: analysts (and the API) open the *published* file read-only. A run never
writes to it. It copies the published file to a staging file beside it, writes the run date
there in one transaction, rebuilds the SQL models, runs the SQL checks, and only then replaces
the published file with ``os.replace`` (atomic on POSIX). A reader that opened the old file
keeps reading a consistent old snapshot; a failed run leaves the published file untouched.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from insight_core.errors import ChecksFailedError, InsightError

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


def build_models(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild every analytics model from ``core`` (deterministic for the same core rows)."""
    for name, sql in models():
        try:
            con.execute(sql)
        except duckdb.Error as exc:
            raise InsightError(f"warehouse model {name} failed: {exc}".splitlines()[0]) from exc


def run_checks(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Run every check; returns {check name: failing row count} for the checks that fail."""
    failures = {}
    for name, sql in checks():
        rows = con.execute(sql).fetchall()
        if rows:
            failures[name.removesuffix(".sql")] = len(rows)
            log.error("check %s failed with %d rows, e.g. %s", name, len(rows), rows[:3])
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
                    stale.unlink(missing_ok=True)
                    removed.append(stale)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    return removed


@contextlib.contextmanager
def staged_build(
    published: Path, companions: list[tuple[Path, Path]] | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to a staging copy that replaces ``published`` on success.

    Any exception inside the block discards the staging copy and leaves ``published`` as it was.
    ``(staging file, target)`` pairs the block appends to ``companions`` are published right
    after, under the same lock (the analyst copy), or deleted on failure.
    """
    companions = companions if companions is not None else []
    with publish_lock(published):
        staging = published.with_name(f".{published.name}.staging-{uuid.uuid4().hex[:8]}")
        if published.exists():
            shutil.copyfile(published, staging)
        con = duckdb.connect(str(staging))
        try:
            apply_migrations(con)
            yield con
            con.execute("CHECKPOINT")
            con.close()
            with staging.open("rb+") as handle:
                os.fsync(handle.fileno())
            staging.replace(published)
            for companion, target in companions:
                companion.replace(target)
        except BaseException:
            with contextlib.suppress(Exception):
                con.close()
            for path in [staging, *(companion for companion, _ in companions)]:
                path.unlink(missing_ok=True)
                Path(str(path) + ".wal").unlink(missing_ok=True)
            raise


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


def loaded_elsewhere(published: Path, prompt_ids: Sequence[str], run_date: date) -> set[str]:
    """Which ``prompt_ids`` are already loaded for a date other than ``run_date``."""
    return set(loaded_dates_elsewhere(published, prompt_ids, run_date))


def loaded_dates_elsewhere(
    published: Path, prompt_ids: Sequence[str], run_date: date
) -> dict[str, date]:
    """``prompt_ids`` already loaded for a date other than ``run_date``, with that date."""
    if not published.exists() or not prompt_ids:
        return {}
    with duckdb.connect(str(published), read_only=True) as con:
        has_table = con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = 'core' AND table_name = 'classifications'"
        ).fetchone()
        if not has_table or not has_table[0]:
            return {}
        ids = pl.DataFrame({"prompt_id": list(prompt_ids)})  # noqa: F841 - read by DuckDB
        rows = con.execute(
            "SELECT c.prompt_id, c.run_date FROM core.classifications c JOIN ids USING (prompt_id) "
            "WHERE c.run_date <> ?",
            [run_date],
        ).fetchall()
    return {row[0]: row[1] for row in rows}


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


def publish_run(
    published: Path, request: PublishRequest, analyst_copy: Path | None = None
) -> dict[str, Any]:
    """Replace ``run_date`` in the warehouse in one transaction, rebuild, check, publish.

    Returns ``rows_loaded`` (prompts now loaded for the date) and ``new_alerts`` (the rows of
    ``analytics.alerts`` this run raised for the first time, as plain dicts). Raises
    :class:`ChecksFailedError` (and publishes nothing) when a check fails. With
    ``analyst_copy``, the ``analytics`` tables are also published to that file.
    """
    companions: list[tuple[Path, Path]] = []
    with staged_build(published, companions) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("DELETE FROM core.classifications WHERE run_date = ?", [request.run_date])
            con.execute("DELETE FROM ops.quarantine WHERE run_date = ?", [request.run_date])
            if request.classified_files:
                files = [str(p) for p in request.classified_files]
                con.execute(
                    "INSERT INTO core.classifications BY NAME "
                    "SELECT *, ? AS run_id FROM read_parquet(?)",
                    [request.run_id, files],
                )
            if request.quarantine_files:
                files = [str(p) for p in request.quarantine_files]
                con.execute(
                    "INSERT INTO ops.quarantine BY NAME SELECT ? AS run_id, ? AS run_date, "
                    "source_row, prompt_id, record::JSON AS record, failed_checks, "
                    "source_file, source_line "
                    "FROM read_parquet(?)",
                    [request.run_id, request.run_date, files],
                )
            topics = request.topics  # noqa: F841 - read by DuckDB
            if request.topics.height:
                version = request.topics.get_column("model_version")[0]
                con.execute("DELETE FROM core.topics WHERE model_version = ?", [version])
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
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        build_models(con)
        failures = run_checks(con)
        if failures:
            raise ChecksFailedError(failures)
        loaded = con.execute(
            "SELECT count(*) FROM core.classifications WHERE run_date = ?", [request.run_date]
        ).fetchone()
        new_alerts = _new_alerts(con, request.run_id)
        if analyst_copy is not None:
            companions.append((export_analytics(con, analyst_copy), analyst_copy))
    return {"rows_loaded": int(loaded[0]) if loaded else 0, "new_alerts": new_alerts}


def record_failed_run(published: Path, run_record: Mapping[str, Any]) -> None:
    """Add a failed run to ``ops.runs`` without touching any published data."""
    with staged_build(published) as con:
        _insert_run(con, run_record)


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
