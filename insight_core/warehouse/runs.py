"""The ``ops.runs`` record of each run: written with its publication, or alone after it."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from insight_core.warehouse.staging import staged_build

log = logging.getLogger(__name__)


def insert_run(con: duckdb.DuckDBPyConnection, record: Mapping[str, Any]) -> None:
    """Make ``record`` the ``ops.runs`` row of its run."""
    columns = list(record)
    placeholders = ", ".join("?" for _ in columns)
    con.execute("DELETE FROM ops.runs WHERE run_id = ?", [record["run_id"]])
    con.execute(
        f"INSERT INTO ops.runs ({', '.join(columns)}) VALUES ({placeholders})",
        [record[c] for c in columns],
    )


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
    insert_run(con, {**record, "warnings": merged})


def record_runs(published: Path, records: Sequence[Mapping[str, Any]]) -> None:
    """Record runs' outcomes or warnings in ``ops.runs`` (one catalog write), no data touched."""
    with staged_build(published) as con:
        for record in records:
            _merge_run(con, record)


def record_failed_run(published: Path, run_record: Mapping[str, Any]) -> None:
    """Add a failed run to ``ops.runs`` without touching any published data."""
    record_runs(published, [run_record])
