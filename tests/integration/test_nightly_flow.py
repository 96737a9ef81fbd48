"""The nightly flow end to end with the real parts."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from mlflow.tracking import MlflowClient

from insight_core import warehouse
from insight_core.errors import SourceError
from insight_core.settings import InsightSettings
from tests.integration.conftest import DemoRun

pytestmark = pytest.mark.integration

# ground-truth reason of the demo generator -> failed check the validator reports
EXPECTED_CHECK = {
    "empty_text": "text:not_blank",
    "whitespace_text": "text:not_blank",
    "missing_user_id": "user_id:not_null",
    "unparseable_timestamp": "timestamp:parseable",
    "timestamp_outside_window": "timestamp:in_run_window",
    "invalid_department": "department:format",
    "text_too_long": "text:max_length_8000",
}


def _query(home: Path, sql: str) -> pl.DataFrame:
    return warehouse.query(home / "warehouse.duckdb", sql)


def test_every_row_is_accounted_for(demo_run: DemoRun) -> None:
    rows_per_day = Counter()
    for path in demo_run.dataset.log_files:
        with path.open() as lines:
            rows_per_day[path.stem] = sum(1 for _ in lines)
    for summary in demo_run.summaries:
        assert summary.status == "succeeded"
        assert summary.rows_read == rows_per_day[summary.run_date]
        assert summary.rows_read == (
            summary.rows_loaded + summary.rows_quarantined + summary.rows_duplicate
        )
    # other tests rerun these dates on the same warehouse: every successful run reconciles
    runs = _query(demo_run.home, "SELECT * FROM ops.runs WHERE status = 'succeeded'")
    assert runs["run_date"].n_unique() == 2
    assert (
        runs["rows_read"] == runs["rows_loaded"] + runs["rows_quarantined"] + runs["rows_duplicate"]
    ).all()
    assert runs["flow_run_id"].null_count() == 0 and runs["mlflow_run_id"].null_count() == 0
    loaded = _query(demo_run.home, "SELECT count(*) FROM core.classifications").item()
    assert loaded == sum(s.rows_loaded for s in demo_run.summaries)
    assert demo_run.summaries[0].model_fitted and not demo_run.summaries[1].model_fitted


def test_quarantine_holds_each_bad_row_with_its_reason(demo_run: DemoRun) -> None:
    quarantine = _query(
        demo_run.home, "SELECT prompt_id, failed_checks, record, run_id FROM ops.quarantine"
    )
    found = dict(
        zip(quarantine["prompt_id"].to_list(), quarantine["failed_checks"].to_list(), strict=True)
    )
    expected = [
        r
        for r in demo_run.ground_truth["invalid_rows"]
        if r["prompt_id"].split("-")[1] in {d.strftime("%Y%m%d") for d in demo_run.dataset.dates}
    ]
    assert expected, "the demo injects invalid rows every day"
    assert len(found) == len(expected) == quarantine.height
    for row in expected:
        assert EXPECTED_CHECK[row["reason"]] in found[row["prompt_id"]]
    assert quarantine["run_id"].null_count() == 0
    # the stored record is redacted like everything else: no raw user id
    assert all("user_id" not in json.loads(r) for r in quarantine["record"].to_list())


def test_duplicates_are_skipped_and_counted(demo_run: DemoRun) -> None:
    days = {d.strftime("%Y%m%d") for d in demo_run.dataset.dates}
    expected = [
        r
        for r in demo_run.ground_truth["duplicate_rows"]
        if r["prompt_id"].split("-")[1] in days or r["kind"] == "already_loaded"
    ]
    counted = sum(s.rows_duplicate for s in demo_run.summaries)
    assert counted >= 1
    assert counted == len([r for r in expected if r["kind"] == "within_batch"]) + len(
        [r for r in expected if r["kind"] == "already_loaded"]
    )
    dupes = _query(
        demo_run.home, "SELECT prompt_id FROM core.classifications GROUP BY 1 HAVING count(*) > 1"
    )
    assert dupes.height == 0


def test_no_email_or_phone_from_the_input_reaches_the_warehouse(demo_run: DemoRun) -> None:
    pii = demo_run.ground_truth["pii_strings"]
    assert len(pii) > 5
    con = duckdb.connect(str(demo_run.home / "warehouse.duckdb"), read_only=True)
    columns = con.execute(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        "WHERE data_type IN ('VARCHAR', 'JSON') OR data_type LIKE 'VARCHAR%'"
    ).fetchall()
    leaks = []
    for schema, table, column in columns:
        values = [
            v
            for (v,) in con.execute(
                f'SELECT DISTINCT CAST("{column}" AS VARCHAR) FROM "{schema}"."{table}"'
            ).fetchall()
            if v
        ]
        blob = "\n".join(values)
        leaks += [(schema, table, column, s) for s in pii if s in blob]
    con.close()
    assert leaks == []
    # the redacted texts kept for refits are redacted too
    texts = pl.concat([pl.read_parquet(p) for p in (demo_run.home / "texts").glob("*.parquet")])
    blob = "\n".join(texts["text"].to_list())
    assert not [s for s in pii if s in blob]
    assert "<EMAIL>" in blob or "<PHONE>" in blob


def test_mlflow_run_has_params_metrics_and_artifacts(
    demo_run: DemoRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo_run.env(monkeypatch)
    settings = InsightSettings()
    client = MlflowClient(tracking_uri=settings.tracking_uri)
    run = client.get_run(demo_run.summaries[1].mlflow_run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["run_date"] == demo_run.summaries[1].run_date
    assert len(run.data.params["rules_hash"]) == 64
    for metric in (
        "rows_read",
        "rows_loaded",
        "outlier_share",
        "rule_share",
        "prompts_per_second",
        "seconds_embed",
        "category_share_it_support",
    ):
        assert metric in run.data.metrics
    shares = sum(v for k, v in run.data.metrics.items() if k.startswith("category_share_"))
    assert shares == pytest.approx(1.0)
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"run_summary.md", "run_summary.json", "topics.csv"} <= artifacts
    assert run.data.tags["prefect.flow_run_id"] == demo_run.summaries[1].flow_run_id


def test_rerun_of_a_date_gives_the_same_rows(
    demo_run: DemoRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo_run.env(monkeypatch)
    from flows.nightly import nightly

    columns = (
        "prompt_id, run_date, event_ts, user_hash, department, tool, category, "
        "decided_by, rule_id, confidence, topic_id, topic_label, model_version"
    )
    sql = f"SELECT {columns} FROM core.classifications WHERE run_date = DATE '{{d}}' ORDER BY 1"
    day = demo_run.dataset.dates[1]
    before = _query(demo_run.home, sql.format(d=day))
    trends_before = _query(
        demo_run.home, "SELECT * FROM analytics.daily_category_trends ORDER BY ALL"
    )
    summary = nightly(run_date=day, source=str(demo_run.dataset.log_files[1]))
    after = _query(demo_run.home, sql.format(d=day))
    assert summary.rows_loaded == before.height
    assert after.equals(before)
    assert _query(
        demo_run.home, "SELECT * FROM analytics.daily_category_trends ORDER BY ALL"
    ).equals(trends_before)
    # The default (cascade) model embeds with its static model, a table lookup computed
    # afresh; the transformer-only path would have found every vector in the embedding cache.
    assert summary.rows_escalated is not None
    assert summary.rows_embedded_new == demo_run.summaries[1].rows_embedded_new


def test_a_large_night_publishes_without_its_models_and_the_next_reloads_them(
    demo_run: DemoRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo_run.env(monkeypatch)
    from flows.nightly import nightly
    from insight_core import runtime
    from insight_core.nightly import memory

    monkeypatch.setattr(memory, "RELEASE_MODELS_FROM_ROWS", 1)  # every night counts as large
    sql = (
        "SELECT prompt_id, category, decided_by, topic_id, confidence FROM core.classifications "
        "WHERE run_date = DATE '{d}' ORDER BY 1"
    )
    day = demo_run.dataset.dates[1]
    before = _query(demo_run.home, sql.format(d=day))
    for _ in range(2):  # the second night in this process loads the released models again
        summary = nightly(run_date=day, source=str(demo_run.dataset.log_files[1]))
        assert summary.status == "succeeded"
        assert runtime.load_embedder.cache_info().currsize == 0
        assert runtime._cached_bundle.cache_info().currsize == 0
        assert _query(demo_run.home, sql.format(d=day)).equals(before)


def test_failed_run_is_loud_and_leaves_the_warehouse_intact(
    demo_run: DemoRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo_run.env(monkeypatch)
    from flows.nightly import nightly

    count_sql = "SELECT count(*) FROM core.classifications"
    before = _query(demo_run.home, count_sql).item()
    with pytest.raises(SourceError, match="source not found"):
        nightly(run_date=date(2026, 10, 9), source=str(demo_run.home / "missing.jsonl"))
    assert _query(demo_run.home, count_sql).item() == before
    failed = _query(
        demo_run.home,
        "SELECT run_date, error, mlflow_run_id FROM ops.runs "
        "WHERE status = 'failed' AND run_date = DATE '2026-10-09'",
    )
    assert failed.height == 1 and "source not found" in failed.item(0, "error")
    settings = InsightSettings()
    run = MlflowClient(tracking_uri=settings.tracking_uri).get_run(failed.item(0, "mlflow_run_id"))
    assert run.info.status == "FAILED"
    assert not list((demo_run.home / "runs").iterdir())  # no unredacted work files left


def test_trend_table_shares_add_up(demo_run: DemoRun) -> None:
    trends = _query(demo_run.home, "SELECT * FROM analytics.daily_category_trends")
    assert trends.height > 0
    visible = trends.filter(~pl.col("suppressed"))
    assert (visible["users"] >= 5).all()
    totals = _query(
        demo_run.home,
        "SELECT run_date AS date, department, count(*) AS n FROM core.classifications GROUP BY ALL",
    )
    # A hidden cell has no row, so a day's department appears only when it has a visible cell;
    # every row belongs to a day and department that was classified.
    published = trends.select("date", "department").unique()
    assert 0 < published.height <= totals.height
    assert published.join(totals, on=["date", "department"], how="anti").height == 0
    # Shares are of the visible prompts, so each published day and department adds up to 1.
    sums = trends.group_by("date", "department").agg(pl.col("share").sum())
    assert sums.get_column("share").is_between(1 - 1e-6, 1 + 1e-6).all()
    # A department's visible prompts never exceed what was classified for it that day.
    published_prompts = trends.group_by("date", "department").agg(pl.col("prompts").sum())
    both = published_prompts.join(totals, on=["date", "department"])
    assert (both.get_column("prompts") <= both.get_column("n")).all()
