"""What the web app shows, computed from the demo model and warehouse the real flow built."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from insight_core import disclosure_audit, warehouse
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


def test_no_hidden_cell_is_a_row_and_no_visible_number_reveals_a_small_group(
    demo_run: DemoRun,
) -> None:
    published = demo_run.home / "warehouse.duckdb"
    tables = data.analytics_tables(published)
    assert data.DAILY_VIEW in tables
    # the demo has small groups and their complements: there is something to hide
    hidden = warehouse.query(
        published, "SELECT count(*) FROM core.cell_suppression WHERE suppressed"
    ).item()
    assert hidden > 0
    for name in sorted(tables):
        published_rows = warehouse.query(published, f"SELECT * FROM analytics.{name}")
        if "suppressed" in published_rows.columns:
            assert not published_rows.get_column("suppressed").any(), name
        shown = data.display_table(data.read_view(published, name))
        assert shown.height == published_rows.height, name
        assert "suppressed" not in shown.columns, name
    # no hidden cell has a row in the tables the app reads (categories and topics)
    with_rows = warehouse.query(
        published,
        """
        SELECT s.cell_id
        FROM core.cell_suppression AS s
        JOIN core.category_scores AS c
            ON s.cell_id = concat_ws('|', 'category', c.grain, c.period, c.department, c.category)
        WHERE s.suppressed AND (
            (c.grain = 'day' AND c.department <> '(all)' AND EXISTS (
                SELECT 1 FROM analytics.daily_category_trends AS t
                WHERE t.date = c.period AND t.department = c.department
                  AND t.category = c.category))
            OR (c.grain = 'day' AND c.department = '(all)' AND EXISTS (
                SELECT 1 FROM analytics.company_daily_category_trends AS t
                WHERE t.date = c.period AND t.category = c.category))
            OR (c.grain = 'week' AND c.department <> '(all)' AND EXISTS (
                SELECT 1 FROM analytics.weekly_category_trends AS t
                WHERE t.week_start = c.period AND t.department = c.department
                  AND t.category = c.category))
            OR (c.grain = 'week' AND c.department = '(all)' AND EXISTS (
                SELECT 1 FROM analytics.company_weekly_category_trends AS t
                WHERE t.week_start = c.period AND t.category = c.category)))
        UNION ALL
        SELECT s.cell_id
        FROM core.cell_suppression AS s
        JOIN analytics.topic_trends AS t
            ON s.cell_id = concat_ws('|', 'topic', t.grain, t.period, t.model_version, t.topic_id)
        WHERE s.suppressed
        UNION ALL
        SELECT concat_ws('|', 'catalogue', v.model_version, v.topic_id)
        FROM core.topic_visibility AS v
        JOIN analytics.topics AS t USING (model_version, topic_id)
        WHERE v.hidden
        """,
    )
    assert with_rows.height == 0, with_rows.head(5)
    # and what is visible gives no small group back by subtraction (the disclosure audit over
    # every published period, not only the last build's)
    with duckdb.connect(str(published), read_only=True) as con:
        assert disclosure_audit.audit(con, since=date.min) == []
    # the app's share table holds exactly the department's published cells; every other
    # date-category reads "–", whether it had no prompts or was hidden
    daily = data.read_view(published, data.DAILY_VIEW)
    department = data.departments_by_size(daily)[0]
    rows = data.in_scope(daily, department)
    table = data.share_table(rows)
    cells = [v for c in table.columns[1:] for v in table.get_column(c).to_list()]
    assert len(cells) - cells.count(data.NOT_SHOWN) == rows.height
    assert all(v == data.NOT_SHOWN or v.endswith(" %") for v in cells)
