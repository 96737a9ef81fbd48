"""One run's publication: its date's rows, the models, the checks, then the atomic switch.

A run writes its date's rows to new Parquet files and swaps them into a staging copy of the
catalog in one transaction, updates the SQL models for the weeks and windows those dates can
affect, runs the checks, and only then replaces the published catalog
(:func:`insight_core.warehouse.staging.staged_build`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from insight_core.errors import ChecksFailedError, FewerRowsError
from insight_core.warehouse.checks import run_checks
from insight_core.warehouse.export import export_analytics
from insight_core.warehouse.models import build_models
from insight_core.warehouse.partitions import (
    PARTITIONED,
    RETIRED_FILE_GRACE,
    PartitionFiles,
    define_dataset_view,
    layout_columns,
    partition_files,
    partitions_root,
    replace_partition,
    rows_sql,
)
from insight_core.warehouse.reading import new_alerts
from insight_core.warehouse.runs import insert_run
from insight_core.warehouse.sql import named_query, sql_literal
from insight_core.warehouse.staging import staged_build

log = logging.getLogger(__name__)


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


def _night_rows_sql(con: duckdb.DuckDBPyConnection, request: PublishRequest) -> str:
    """A SELECT of the run's classified rows straight from its chunk files, typed as the layout.

    Streamed into the date's Parquet file rather than first inserted into the layout table, so
    a large night never sits in DuckDB's memory or its spill files. The layout's NOT NULL
    constraints still hold: a missing value fails the publication, as an insert would.
    """
    if not request.classified_files:
        return "SELECT * FROM core.classifications_layout"

    def typed(name: str, kind: str, nullable: str) -> str:
        if name == "run_id":
            return f"{sql_literal(request.run_id)} AS run_id"
        value = f'CAST("{name}" AS {kind})'
        if nullable == "NO":
            message = sql_literal(f"NOT NULL constraint failed: core.classifications.{name}")
            value = f'CASE WHEN "{name}" IS NULL THEN error({message}) ELSE {value} END'
        return f'{value} AS "{name}"'

    select = ", ".join(typed(*column) for column in layout_columns(con, "classifications"))
    listed = ", ".join(sql_literal(str(f)) for f in request.classified_files)
    return f"SELECT {select} FROM read_parquet([{listed}])"


def _refuse_losing_rows(
    con: duckdb.DuckDBPyConnection, night: str, request: PublishRequest
) -> None:
    """Before any file is written, under the publish lock: what is loaded now is what the run
    would replace. Raising here discards the staging copy; nothing was published."""
    incoming = con.execute(
        f"SELECT count(*) FROM ({night}) WHERE run_date = ?", [request.run_date]
    ).fetchone()
    refuse_fewer_rows(
        _loaded_rows(con, request.run_date),
        int(incoming[0]) if incoming else 0,
        request.run_date,
        request.replace,
    )


def _write_night(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    night: str,
    request: PublishRequest,
    files: PartitionFiles,
) -> tuple[set[date], list[str]]:
    """Write the night's rows as the new file of each date they hold; returns those dates and
    the files they replaced. Rows for another date than the run's are added to that date's."""
    replaced: list[str] = []
    touched = {request.run_date} | {
        row[0] for row in con.execute(f"SELECT DISTINCT run_date FROM ({night})").fetchall()
    }
    for run_date in sorted(touched):
        day = f"DATE '{run_date.isoformat()}'"
        rows = [f"SELECT * FROM ({night}) WHERE run_date = {day}"]
        old = partition_files(con, "classifications", f"SELECT {day}")
        if run_date != request.run_date and old:
            rows.append(rows_sql(con, "classifications", old))
        retired = replace_partition(
            con, root, "classifications", run_date, " UNION ALL ".join(rows), request.run_id, files
        )
        if retired:
            replaced.append(retired)
    return touched, replaced


def _write_quarantine(
    con: duckdb.DuckDBPyConnection, root: Path, request: PublishRequest, files: PartitionFiles
) -> None:
    if request.quarantine_files:
        con.execute(
            "INSERT INTO ops.quarantine_layout BY NAME SELECT ? AS run_id, "
            "? AS run_date, source_row, prompt_id, record::JSON AS record, "
            "failed_checks, source_file, source_line FROM read_parquet(?)",
            [request.run_id, request.run_date, [str(p) for p in request.quarantine_files]],
        )
    replace_partition(
        con,
        root,
        "quarantine",
        request.run_date,
        "SELECT * FROM ops.quarantine_layout",
        request.run_id,
        files,
    )
    con.execute("DELETE FROM ops.quarantine_layout")


def _repoint_views(con: duckdb.DuckDBPyConnection, files: PartitionFiles) -> None:
    """Point the per-prompt views at the live files; expire retired files past their grace."""
    for dataset in PARTITIONED:
        define_dataset_view(con, dataset)
    expired = con.execute(
        "DELETE FROM ops.retired_partitions WHERE retired_at < ? RETURNING path",
        [datetime.now(UTC) - RETIRED_FILE_GRACE],
    ).fetchall()
    files.expired.extend(Path(row[0]) for row in expired)


def _write_models_in_use(con: duckdb.DuckDBPyConnection, request: PublishRequest) -> None:
    """The run's topic catalogue and model version row."""
    topics = request.topics  # noqa: F841 - read by DuckDB
    if request.topics.height:
        con.execute(
            "DELETE FROM core.topics WHERE model_version IN (SELECT model_version FROM topics)"
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


def _write_run_context(con: duckdb.DuckDBPyConnection, request: PublishRequest) -> None:
    """Configuration, the run's record, the build context and the id-lookup scope."""
    con.execute("DELETE FROM ops.privacy_thresholds")
    con.executemany(
        "INSERT INTO ops.privacy_thresholds VALUES (?, ?)",
        [[k, int(v)] for k, v in request.thresholds.items()],
    )
    con.execute("DELETE FROM ops.categories")
    con.executemany(
        "INSERT INTO ops.categories VALUES (?, ?, ?)",
        [[k, v, request.taxonomy_version] for k, v in request.categories.items()],
    )
    insert_run(con, request.run_record)
    # The models read the building run from SQL (models/analytics/041_alert_log.sql logs new alerts
    # under it); a single row, so a stale context can never be picked up.
    con.execute("DELETE FROM ops.build_context")
    con.execute("INSERT INTO ops.build_context VALUES (?, ?)", [request.run_id, request.run_date])
    con.execute("DELETE FROM ops.id_lookup_partitions")
    looked_up = pl.DataFrame(  # noqa: F841 - read by DuckDB
        {"path": list(request.ids_looked_up_in or [])}, schema={"path": pl.String}
    )
    con.execute("INSERT INTO ops.id_lookup_partitions SELECT path FROM looked_up")


def _load_night(
    con: duckdb.DuckDBPyConnection, root: Path, request: PublishRequest, files: PartitionFiles
) -> tuple[set[date], list[str]]:
    """Everything the run writes, in one transaction; returns the dates it touched and the
    files it replaced."""
    started = time.perf_counter()
    night = _night_rows_sql(con, request)
    _refuse_losing_rows(con, night, request)
    con.execute("BEGIN TRANSACTION")
    try:
        touched, replaced = _write_night(con, root, night, request, files)
        _write_quarantine(con, root, request, files)
        _repoint_views(con, files)
        _write_models_in_use(con, request)
        _write_run_context(con, request)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    log.debug("loading the run's rows took %.3f s", time.perf_counter() - started)
    return touched, replaced


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
    with staged_build(published, companions, files, memory_limit) as con:
        first_build = not con.execute("SELECT count(*) FROM ops.model_builds").fetchone()[0]  # type: ignore[index]
        touched, replaced = _load_night(con, partitions_root(published), request, files)
        if first_build:
            build_models(con)
        else:
            build_models(con, sorted(touched), replaced)
        failures = run_checks(con)
        if failures:
            raise ChecksFailedError(failures)
        loaded = _loaded_rows(con, request.run_date)
        alerts = new_alerts(con, request.run_id)
        if analyst_copy is not None:
            companions.append((export_analytics(con, analyst_copy), analyst_copy))
    return {"rows_loaded": loaded, "new_alerts": alerts}
