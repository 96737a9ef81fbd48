"""The analytics layer built by the real nightly flow: backfill through the CLI, rerun
determinism, and the example queries of docs/analytics.md run against the result."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from insight_core import warehouse
from tests.integration.conftest import BackfillRun, invoke_cli

pytestmark = pytest.mark.integration

DOCS = Path(__file__).resolve().parents[2] / "docs" / "analytics.md"
ANALYTICS_TABLES = (
    "daily_category_trends",
    "company_daily_category_trends",
    "weekly_category_trends",
    "company_weekly_category_trends",
    "topics",
    "topic_trends",
    "alerts",
)


def docs_queries() -> list[tuple[str, str]]:
    """(heading, SQL) of every ```sql block of docs/analytics.md, in order."""
    text = DOCS.read_text(encoding="utf-8")
    found = []
    for match in re.finditer(r"^```sql\n(.*?)^```", text, flags=re.S | re.M):
        headings = re.findall(r"^### (.+)$", text[: match.start()], flags=re.M)
        found.append((headings[-1] if headings else "?", match.group(1)))
    return found


QUERIES = docs_queries()
# Queries that must return rows on two weeks of demo data (alerts and emerging topics may
# legitimately be empty on so short a history, and so may the wellbeing trend by department:
# no department's wellbeing week reaches that category's threshold of 10 people in two demo
# weeks, and a hidden week has no row).
MUST_RETURN_ROWS = {
    "1. Top movers this week",
    "2. Department comparison",
    "4. IT support day by day, company-wide",
    "8. Top topics this week",
    "10. How much is hidden",
}


def _query(run: BackfillRun, sql: str) -> pl.DataFrame:
    return warehouse.query(run.warehouse_file, sql)


def test_backfill_runs_every_date_in_order(backfill_run: BackfillRun) -> None:
    assert backfill_run.exit_code == 0, backfill_run.output
    runs = _query(
        backfill_run, "SELECT run_date, status, rows_loaded FROM ops.runs ORDER BY started_at"
    )
    assert runs.get_column("run_date").to_list() == backfill_run.dataset.dates
    assert set(runs.get_column("status")) == {"succeeded"}
    loaded = _query(
        backfill_run,
        "SELECT run_date, count(*) AS n FROM core.classifications GROUP BY 1 ORDER BY 1",
    )
    assert loaded.get_column("run_date").to_list() == backfill_run.dataset.dates
    assert loaded.get_column("n").to_list() == runs.get_column("rows_loaded").to_list()
    weeks = _query(
        backfill_run,
        "SELECT DISTINCT iso_week FROM analytics.company_weekly_category_trends "
        "WHERE complete ORDER BY 1",
    )
    assert weeks.get_column("iso_week").to_list() == ["2026-W41", "2026-W42"]
    # one progress table per date in the CLI output
    assert backfill_run.output.count("· succeeded") == len(backfill_run.dataset.dates)


def test_rerun_of_a_date_in_the_middle_gives_the_same_analytics(
    backfill_run: BackfillRun,
) -> None:
    day = backfill_run.dataset.dates[9].isoformat()
    before = {
        t: _query(backfill_run, f"SELECT * FROM analytics.{t} ORDER BY ALL")
        for t in ANALYTICS_TABLES
    }
    result = invoke_cli(
        backfill_run.home,
        "run",
        "--source",
        str(backfill_run.home / "demo" / "logs" / "{date}.jsonl"),
        "--from",
        day,
        "--to",
        day,
    )
    assert result.exit_code == 0, result.output
    for table, frame in before.items():
        assert _query(backfill_run, f"SELECT * FROM analytics.{table} ORDER BY ALL").equals(
            frame
        ), table


def test_the_docs_show_ten_queries() -> None:
    assert len(QUERIES) == 10
    assert {heading for heading, _ in QUERIES} >= MUST_RETURN_ROWS


@pytest.mark.parametrize(("heading", "sql"), QUERIES, ids=[h for h, _ in QUERIES])
def test_docs_query_runs_on_the_demo_warehouse(
    backfill_run: BackfillRun, heading: str, sql: str
) -> None:
    assert backfill_run.exit_code == 0, backfill_run.output
    frame = _query(backfill_run, sql)
    assert frame.width >= 2
    if heading in MUST_RETURN_ROWS:
        assert frame.height > 0, heading
