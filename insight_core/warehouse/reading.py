"""Reading the published warehouse: read-only connections, queries, runs and their alerts."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from insight_core.errors import InsightError

# The columns of analytics.alerts a run's summary lists for each alert it raised.
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


def connect_read_only(published: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse."""
    if not published.exists():
        raise InsightError(f"no warehouse at {published} yet: run 'insight demo' or 'insight run'")
    return duckdb.connect(str(published), read_only=True)


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


def new_alerts(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    """The active alerts run ``run_id`` raised first, as plain dicts."""
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


def published_alerts(published: Path, run_id: str) -> list[dict[str, Any]]:
    """The alerts run ``run_id`` raised, as its publication returned them."""
    with connect_read_only(published) as con:
        return new_alerts(con, run_id)


def run_published(published: Path, run_id: str) -> bool:
    """Has run ``run_id`` published its date (its ``ops.runs`` row says ``succeeded``)?"""
    if not published.exists():
        return False
    with connect_read_only(published) as con:
        found = con.execute(
            "SELECT count(*) FROM ops.runs WHERE run_id = ? AND status = 'succeeded'", [run_id]
        ).fetchone()
    return bool(found and found[0])
