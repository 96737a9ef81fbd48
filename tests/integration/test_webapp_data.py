"""What the web app shows, computed from the demo model and warehouse the real flow built."""

from __future__ import annotations

import polars as pl
import pytest

from insight_core.inference import Classifier
from insight_core.serve.webapp import data
from insight_core.settings import InsightSettings
from tests.integration.conftest import DemoRun

pytestmark = pytest.mark.integration


def test_failure_analysis_reports_what_the_classifier_decides(demo_run: DemoRun) -> None:
    classifier = Classifier.load(InsightSettings(home=demo_run.home))
    _, cases = data.load_hard_cases()
    report = data.hard_case_report(classifier, cases)
    direct = classifier.classify([c.text for c in cases])
    assert report.get_column("id").to_list() == [c.id for c in cases]
    for column in ("category", "decided_by", "rule_id", "confidence", "topic_label"):
        assert report.get_column(column).to_list() == direct.get_column(column).to_list()
    assert report.get_column("correct").to_list() == [
        row["category"] == row["expected"] for row in report.iter_rows(named=True)
    ]
    # The probabilities the pages show are the ones the model decision used.
    probabilities = data.category_probabilities(classifier, [c.text for c in cases])
    best = probabilities.sort("probability", descending=True).group_by("row").first().sort("row")
    settings = classifier.settings
    for row, top in zip(report.iter_rows(named=True), best.iter_rows(named=True), strict=True):
        if row["decided_by"] != "model":
            continue
        assert row["confidence"] == pytest.approx(top["probability"], abs=1e-4)
        if top["probability"] >= settings.abstain_threshold:
            assert row["category"] == top["category"] == row["model_top"]
        else:
            assert row["category"] == classifier.taxonomy.fallback


def test_no_suppressed_cell_of_the_analytics_tables_is_shown_as_a_number(
    demo_run: DemoRun,
) -> None:
    published = demo_run.home / "warehouse.duckdb"
    tables = data.analytics_tables(published)
    assert data.DAILY_VIEW in tables
    checked = 0
    for name in sorted(tables):
        frame = data.read_view(published, name)
        if "suppressed" not in frame.columns or not frame.get_column("suppressed").any():
            continue
        shown = data.display_table(frame).filter(pl.col("suppressed"))
        numeric = [c for c, dtype in frame.schema.items() if dtype.is_numeric()]
        for column in numeric:
            assert set(shown.get_column(column).to_list()) == {data.SUPPRESSED}, (name, column)
        checked += 1
    assert checked >= 1
    daily = data.read_view(published, data.DAILY_VIEW)
    department = data.departments_by_size(daily)[0]
    table = data.share_table(data.in_scope(daily, department))
    hidden = daily.filter((pl.col("department") == department) & pl.col("suppressed")).height
    cells = [v for c in table.columns[1:] for v in table.get_column(c).to_list()]
    assert cells.count(data.SUPPRESSED) == hidden
