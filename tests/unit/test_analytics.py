"""The analytics SQL models on constructed ``core`` data in real DuckDB files.

Every warehouse here is built through ``warehouse.publish_run``, so the models, the
``ops.build_context`` hand-over, the alert log and the checks run exactly as in a nightly run.
"""

from __future__ import annotations

import json
import math
import shutil
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from insight_core import disclosure_audit, suppression, warehouse
from insight_core.errors import ChecksFailedError

pytestmark = pytest.mark.unit

MONDAY = date(2026, 10, 5)
CATEGORIES = {c: c for c in ("coding", "it_support", "wellbeing", "finance", "other")}
TOPICS = pl.DataFrame(
    {
        "model_version": ["v1", "v1", "v1"],
        "topic_id": [-1, 0, 1],
        "label": ["unclustered", "python · error", "vpn · password"],
        "words": ["misc", "python, error, traceback", "vpn, password, reset"],
        "size": [5, 40, 30],
        "category": [None, "coding", "it_support"],
    },
    schema_overrides={"category": pl.String},
)


@dataclass(frozen=True)
class Cell:
    """``users`` distinct people each sending ``per_user`` prompts into one cell of a day."""

    day: date
    department: str
    category: str
    users: Sequence[str]
    per_user: int = 1
    topic_id: int = 0
    model_version: str = "v1"


def users(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i:04d}" for i in range(n)]


def weekdays(start: date, n: int) -> list[date]:
    days, day = [], start
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _frame(cells: Iterable[Cell], serial: list[int]) -> pl.DataFrame:
    rows = []
    for cell in cells:
        for user in cell.users:
            for _ in range(cell.per_user):
                serial[0] += 1
                rows.append(
                    {
                        "prompt_id": f"p{serial[0]:07d}",
                        "run_date": cell.day,
                        "event_ts": datetime(
                            cell.day.year, cell.day.month, cell.day.day, 10, tzinfo=UTC
                        ),
                        "user_hash": user,
                        "department": cell.department,
                        "tool": None,
                        "category": cell.category,
                        "decided_by": "model",
                        "rule_id": None,
                        "confidence": 0.9,
                        "topic_id": cell.topic_id,
                        "topic_label": "t",
                        "topic_words": "w",
                        "model_version": cell.model_version,
                        "pii_redacted": 0,
                    }
                )
    return pl.DataFrame(
        rows,
        schema_overrides={
            "tool": pl.String,
            "rule_id": pl.String,
            "pii_redacted": pl.Int32,
            "topic_id": pl.Int64,
        },
    )


class Warehouse:
    """A warehouse file fed day by day, like the nightly runs would."""

    def __init__(
        self,
        tmp_path: Path,
        thresholds: dict[str, int] | None = None,
        topics: pl.DataFrame = TOPICS,
        categories: dict[str, str] | None = None,
    ) -> None:
        self.dir = tmp_path
        self.path = tmp_path / "warehouse.duckdb"
        self.thresholds = thresholds or {"*": 5, "wellbeing": 10}
        self.topics = topics
        self.categories = categories or CATEGORIES
        self.serial = [0]
        self.runs = 0

    def publish(
        self,
        run_date: date,
        cells: Iterable[Cell],
        run_id: str | None = None,
        replace: bool = False,
    ) -> dict:
        """Publish every cell of ``run_date`` as one run; returns what publish_run returns.
        ``replace`` lets a rerun leave the date with fewer prompts (``insight run --replace``)."""
        return self._publish(run_date, [c for c in cells if c.day == run_date], run_id, replace)

    def load_history(self, cells: Sequence[Cell]) -> dict:
        """Load every day of ``cells`` in one publication (quicker than a run per day)."""
        return self._publish(max(c.day for c in cells), cells, None)

    def _publish(
        self, run_date: date, cells: Sequence[Cell], run_id: str | None, replace: bool = False
    ) -> dict:
        self.runs += 1
        run_id = run_id or f"run-{self.runs:03d}"
        frame = _frame(cells, self.serial)
        path = self.dir / f"{run_id}.parquet"
        if frame.height:
            frame.write_parquet(path)
        versions = set(frame.get_column("model_version").to_list()) if frame.height else set()
        return warehouse.publish_run(
            self.path,
            warehouse.PublishRequest(
                run_date=run_date,
                run_id=run_id,
                classified_files=[path] if frame.height else [],
                quarantine_files=[],
                topics=self.topics.filter(pl.col("model_version").is_in(sorted(versions))),
                model_version_row=None,
                run_record={
                    "run_id": run_id,
                    "run_date": run_date,
                    "status": "succeeded",
                    "rows_read": frame.height,
                    "rows_loaded": frame.height,
                    "rows_quarantined": 0,
                    "rows_duplicate": 0,
                    "stage_seconds": json.dumps({}),
                },
                thresholds=self.thresholds,
                categories=self.categories,
                replace=replace,
                taxonomy_version="1",
            ),
        )

    def query(self, sql: str) -> pl.DataFrame:
        return warehouse.query(self.path, sql)

    def failing_checks_after(self, *statements: str) -> dict[str, int]:
        """Checks that fail on a copy of the warehouse after ``statements`` tamper with it."""
        copy = self.dir / "tampered.duckdb"
        shutil.copyfile(self.path, copy)
        with duckdb.connect(str(copy)) as con:
            for sql in statements:
                con.execute(sql)
            return warehouse.run_checks(con)

    def audit_after(self, *statements: str) -> list[disclosure_audit.Finding]:
        """What the disclosure audit finds on a copy after ``statements`` change it."""
        copy = self.dir / "tampered.duckdb"
        shutil.copyfile(self.path, copy)
        with duckdb.connect(str(copy)) as con:
            for sql in statements:
                con.execute(sql)
            return disclosure_audit.audit(con, since=date.min)


# ---- weekly trends ---------------------------------------------------------------------


def test_weekly_change_is_against_the_previous_complete_week(tmp_path: Path) -> None:
    cells = []
    for offset in range(15):  # two complete ISO weeks and the Monday of a third
        day = MONDAY + timedelta(days=offset)
        week = offset // 7
        cells.append(Cell(day, "Engineering", "coding", users("c", 10)))
        # it_support: 6 prompts a day in week 1, 9 a day in week 2
        cells.append(Cell(day, "Engineering", "it_support", users("i", 6 if week == 0 else 9)))
    wh = Warehouse(tmp_path)
    wh.load_history(cells)
    weekly = wh.query(
        "SELECT * FROM analytics.weekly_category_trends "
        "WHERE category = 'it_support' ORDER BY week_start"
    )
    first, second, running = weekly.iter_rows(named=True)
    assert (first["iso_week"], first["prompts"], first["users"]) == ("2026-W41", 42, 6)
    assert first["prompts_change"] is None  # nothing before the first week
    assert second["complete"] and second["prompts"] == 63
    assert second["prompts_change"] == 21
    assert second["prompts_change_rel"] == pytest.approx(0.5)
    assert second["share_change"] == pytest.approx(63 / 133 - 42 / 112)
    assert not running["complete"] and running["prompts_change"] is None
    assert running["spike_score"] is None


# ---- spike score ------------------------------------------------------------------------


def _expected_score(
    x: int, n: int, baseline: Sequence[tuple[int, int]], mad_min_history: int = 4
) -> float:
    """docs/analytics.md's spike score, written out independently of the SQL."""
    shares = [k / m for k, m in baseline]
    p0 = statistics.median(shares)
    big_n = sum(m for _, m in baseline)
    z_count = 2 * (math.sqrt(x + 3 / 8) - math.sqrt(p0 * n + 3 / 8)) / math.sqrt(1 + n / big_n)
    mad = statistics.median(abs(s - p0) for s in shares)
    if len(shares) >= mad_min_history and mad > 0:
        z_mad = (x / n - p0) / (1.4826 * mad)
        return z_mad if abs(z_mad) < abs(z_count) else z_count
    return z_count


def _daily_series(it_per_day: Sequence[int], coding: int = 30) -> list[Cell]:
    cells = []
    days = weekdays(MONDAY, len(it_per_day))
    for index, (day, it) in enumerate(zip(days, it_per_day, strict=True)):
        cells.append(Cell(day, "Engineering", "coding", users(f"c{index}-", coding)))
        cells.append(Cell(day, "Engineering", "it_support", users(f"i{index}-", it)))
    return cells


def test_spike_score_is_the_documented_robust_z_score(tmp_path: Path) -> None:
    it_per_day = [6, 8, 5, 7, 6, 9, 7, 6, 40, 7]
    wh = Warehouse(tmp_path)
    wh.load_history(_daily_series(it_per_day))
    daily = wh.query(
        "SELECT date, prompts, spike_score, baseline_share, is_spike "
        "FROM analytics.daily_category_trends WHERE category = 'it_support' ORDER BY date"
    )
    rows = list(daily.iter_rows(named=True))
    # fewer than 5 trailing weekdays: no baseline yet
    assert all(r["spike_score"] is None for r in rows[:5])
    for index in range(5, len(rows)):
        baseline = [(it, it + 30) for it in it_per_day[max(0, index - 20) : index]]
        expected = _expected_score(it_per_day[index], it_per_day[index] + 30, baseline)
        assert rows[index]["spike_score"] == pytest.approx(round(expected, 2), abs=0.006)
        assert rows[index]["baseline_share"] == pytest.approx(
            statistics.median(k / m for k, m in baseline)
        )
    spikes = [r["date"] for r in rows if r["is_spike"]]
    assert spikes == [weekdays(MONDAY, 10)[8]]
    assert rows[8]["spike_score"] > 4 and rows[9]["spike_score"] < 2


def test_weekends_are_compared_with_weekends(tmp_path: Path) -> None:
    cells = []
    for offset in range(21):
        day = MONDAY + timedelta(days=offset)
        quiet = day.weekday() >= 5
        cells.append(Cell(day, "Engineering", "coding", users(f"c{offset}-", 12 if quiet else 40)))
        it = 12 if quiet else 8
        cells.append(Cell(day, "Engineering", "it_support", users(f"i{offset}-", it)))
    wh = Warehouse(tmp_path)
    wh.load_history(cells)
    # Weekend shares (50%) are far above weekday shares (17%), yet no weekend is a spike:
    # a weekend day's baseline is the weekends before it (five needed for a score).
    weekend = wh.query(
        "SELECT date, baseline_share, spike_score, is_spike FROM analytics.daily_category_trends "
        "WHERE category = 'it_support' AND isodow(date) >= 6 ORDER BY date"
    )
    assert weekend.height == 6
    assert weekend.get_column("spike_score").null_count() == 5
    last = weekend.row(5, named=True)
    assert last["baseline_share"] == pytest.approx(0.5) and abs(last["spike_score"]) < 1
    assert not weekend.get_column("is_spike").any()
    weekday = wh.query(
        "SELECT baseline_share FROM analytics.daily_category_trends "
        "WHERE category = 'it_support' AND date = DATE '2026-10-23'"
    )
    assert weekday.item() == pytest.approx(8 / 48)


# ---- suppression ------------------------------------------------------------------------


def test_thresholds_come_from_the_configuration(tmp_path: Path) -> None:
    cells = [
        Cell(MONDAY, "Engineering", "coding", users("c", 4)),
        Cell(MONDAY, "Engineering", "other", users("o", 4)),
    ]
    strict, lenient = Warehouse(tmp_path / "a"), Warehouse(tmp_path / "b", {"*": 3})
    for wh in (strict, lenient):
        wh.dir.mkdir()
        wh.load_history(cells)
    sql = "SELECT count(*) FROM analytics.daily_category_trends"
    assert strict.query(sql).item() == 0  # a hidden cell has no row
    assert lenient.query(sql).item() == 2


def test_complementary_suppression_blocks_recovery_by_subtraction(tmp_path: Path) -> None:
    # One day, one category. Finance's 3 users are a small group. The company total (16) minus
    # the visible Engineering (6) and Sales (7) would give Finance back, so the smallest
    # visible department (Engineering) is hidden too. Engineering's week then equals its only
    # hidden day, so that weekly cell is hidden as well (the fixpoint across dimensions).
    cells = [
        Cell(MONDAY, "Engineering", "coding", users("e", 6)),
        Cell(MONDAY, "Finance", "coding", users("f", 3)),
        Cell(MONDAY, "Sales", "coding", users("s", 7)),
    ]
    wh = Warehouse(tmp_path)
    wh.load_history(cells)
    daily = wh.query(
        "SELECT department, prompts, suppressed FROM analytics.daily_category_trends "
        "ORDER BY department"
    ).rows()
    assert daily == [("Sales", 7, False)]  # hidden cells have no row
    company = wh.query("SELECT prompts, suppressed FROM analytics.company_daily_category_trends")
    assert company.rows() == [(16, False)]
    weekly = wh.query(
        "SELECT department, suppressed FROM analytics.weekly_category_trends ORDER BY 1"
    ).rows()
    assert weekly == [("Sales", False)]
    # What an analyst can still work out is the sum of the two hidden cells, never one of them.
    visible = sum(p for _, p, _ in daily if p is not None)
    assert company.item(0, "prompts") - visible == 6 + 3
    reasons = wh.query(
        "SELECT split_part(cell_id, '|', 4) AS department, reason FROM core.cell_suppression "
        "WHERE cell_id LIKE 'category|day|%' ORDER BY 1"
    ).rows()
    assert reasons == [
        ("(all)", None),
        ("Engineering", "complementary"),
        ("Finance", "small_group"),
        ("Sales", None),
    ]


def test_complementary_suppression_across_categories(tmp_path: Path) -> None:
    # Within Engineering's day the shares publish the department total, so one hidden
    # category next to visible ones would be recoverable as total - visible.
    cells = [
        Cell(MONDAY, "Engineering", "coding", users("c", 20)),
        Cell(MONDAY, "Engineering", "other", users("o", 8)),
        Cell(MONDAY, "Engineering", "it_support", users("i", 6)),
        Cell(MONDAY, "Engineering", "wellbeing", users("w", 4)),
    ]
    wh = Warehouse(tmp_path)
    wh.load_history(cells)
    # The topic tables publish the company's total (38), and Engineering is the whole company:
    # wellbeing's 4 people need a second hidden category whose users bring the sum to 10.
    visible = wh.query("SELECT category FROM analytics.daily_category_trends ORDER BY 1")
    assert visible.get_column("category").to_list() == ["coding", "other"]
    hidden = wh.query(
        "SELECT split_part(cell_id, '|', 5) AS category, reason FROM core.cell_suppression "
        "WHERE cell_id LIKE 'category|day|%|Engineering|%' AND suppressed ORDER BY 1"
    ).rows()
    assert hidden == [("it_support", "complementary"), ("wellbeing", "small_group")]
    # Shares are of the visible prompts: they add up to 1 and give no hidden count back.
    shares = wh.query("SELECT sum(share) FROM analytics.daily_category_trends").item()
    assert shares == pytest.approx(1)


# ---- checks -----------------------------------------------------------------------------


def _insert_daily(
    department: str,
    category: str,
    prompts: int,
    users: int,
    day: date = MONDAY,
    share: float = 0.0,
    suppressed: bool = False,
) -> str:
    """SQL that publishes a daily department cell (as an older build would have)."""
    count = "NULL" if suppressed else str(prompts)
    people = "NULL" if suppressed else str(users)
    return (
        "INSERT INTO analytics.daily_category_trends BY NAME SELECT "
        f"DATE '{day.isoformat()}' AS date, '{department}' AS department, "
        f"'{category}' AS category, {count} AS prompts, {people} AS users, "
        f"{'NULL' if suppressed else share} AS share, false AS is_spike, "
        f"{str(suppressed).lower()} AS suppressed"
    )


def test_checks_catch_a_revealed_small_cell_and_a_broken_complement(tmp_path: Path) -> None:
    cells = [
        Cell(MONDAY, "Engineering", "coding", users("e", 6)),
        Cell(MONDAY, "Finance", "coding", users("f", 3)),
        Cell(MONDAY, "Sales", "coding", users("s", 7)),
    ]
    wh = Warehouse(tmp_path)
    wh.load_history(cells)
    assert wh.failing_checks_after() == {}
    revealed = wh.failing_checks_after(_insert_daily("Finance", "coding", 3, 3))
    assert {"no_small_cells", "disclosure_audit"} <= set(revealed)
    uncomplemented = wh.failing_checks_after(_insert_daily("Engineering", "coding", 6, 6))
    assert "disclosure_audit" in uncomplemented and "no_small_cells" not in uncomplemented
    duplicated = wh.failing_checks_after(
        "INSERT INTO analytics.weekly_category_trends "
        "SELECT * FROM analytics.weekly_category_trends"
    )
    assert "unique_analytics_keys" in duplicated
    shares = wh.failing_checks_after(
        "UPDATE analytics.company_daily_category_trends SET share = 0.5"
    )
    assert "shares_within_period" in shares
    orphan = wh.failing_checks_after("DELETE FROM analytics.topics")
    assert "topic_trends_in_catalogue" in orphan


def test_a_failing_check_fails_the_run_before_publication(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    wh.publish(MONDAY, [Cell(MONDAY, "Engineering", "coding", users("e", 6))])
    before = wh.path.read_bytes()
    wh.thresholds = {"coding": 5}  # no default threshold
    with pytest.raises(ChecksFailedError, match="privacy_thresholds_configured"):
        wh.publish(MONDAY, [Cell(MONDAY, "Engineering", "coding", users("e", 6))])
    assert wh.path.read_bytes() == before


# ---- alerts -----------------------------------------------------------------------------


def test_alerts_are_logged_once_with_the_run_that_raised_them(tmp_path: Path) -> None:
    it_per_day = [6, 8, 5, 7, 6, 9, 7, 60, 55, 7]
    days = weekdays(MONDAY, len(it_per_day))
    cells = _daily_series(it_per_day)
    wh = Warehouse(tmp_path)
    assert wh.load_history([c for c in cells if c.day < days[7]])["new_alerts"] == []
    raised = wh.publish(days[7], cells, run_id="spike-run")["new_alerts"]
    assert {(a["scope"], a["category"], a["period"]) for a in raised} == {
        ("department", "it_support", days[7].isoformat()),
        ("company", "it_support", days[7].isoformat()),
    }
    assert all(a["kind"] == "spike" and a["spike_score"] > 4 for a in raised)
    assert "it_support spike in Engineering" in " ".join(a["headline"] for a in raised)

    alerts_sql = "SELECT * FROM analytics.alerts ORDER BY alert_id"
    before = wh.query(alerts_sql)
    trends_sql = "SELECT * FROM analytics.daily_category_trends ORDER BY ALL"
    trends_before = wh.query(trends_sql)
    # A rerun of the same date raises nothing new and leaves the tables as they were.
    assert wh.publish(days[7], cells, run_id="rerun")["new_alerts"] == []
    assert wh.query(alerts_sql).equals(before)
    assert wh.query(trends_sql).equals(trends_before)

    # The spike goes on the next day: the same alerts grow, none is added.
    assert wh.publish(days[8], cells)["new_alerts"] == []
    alerts = wh.query(alerts_sql)
    assert alerts.height == 2
    assert set(alerts.get_column("run_id")) == {"spike-run"}
    assert set(alerts.get_column("detected_on")) == {days[7]}
    assert set(alerts.get_column("since")) == {days[7]}
    assert set(alerts.get_column("period")) == {days[8]}
    assert set(alerts.get_column("spike_periods")) == {2}
    assert wh.query("SELECT count(*) FROM ops.alert_log").item() == 2


def test_an_alert_the_data_no_longer_supports_is_withdrawn_not_deleted(tmp_path: Path) -> None:
    it_per_day = [6, 8, 5, 7, 6, 9, 60]
    days = weekdays(MONDAY, len(it_per_day))
    wh = Warehouse(tmp_path)
    wh.load_history(_daily_series(it_per_day))
    assert wh.query("SELECT count(*) FROM analytics.alerts WHERE status = 'active'").item() == 2
    # The corrected night has fewer prompts than the one it replaces: asked for explicitly.
    wh.publish(days[-1], _daily_series([*it_per_day[:-1], 7]), run_id="corrected", replace=True)
    alerts = wh.query("SELECT status, prompts, share FROM analytics.alerts")
    assert alerts.height == 2
    assert set(alerts.get_column("status")) == {"withdrawn"}
    assert alerts.get_column("prompts").null_count() == 2  # the cell is not described any more


def test_an_alert_never_describes_a_small_group(tmp_path: Path) -> None:
    # Wellbeing jumps from 1 to 9 people a day (two prompts each): a clear spike, but 9 is
    # below wellbeing's threshold of 10.
    wb_per_day = [1, 1, 2, 1, 1, 1, 9]
    cells = []
    for index, day in enumerate(weekdays(MONDAY, len(wb_per_day))):
        cells.append(Cell(day, "Engineering", "coding", users(f"c{index}-", 40)))
        wellbeing = users(f"w{index}-", wb_per_day[index])
        cells.append(Cell(day, "Engineering", "wellbeing", wellbeing, per_user=2))
    wh = Warehouse(tmp_path)
    wh.load_history(cells)
    assert wh.query("SELECT count(*) FROM analytics.alerts").item() == 0
    raw = wh.query(
        "SELECT spike_score FROM core.category_scores WHERE grain = 'day' "
        "AND category = 'wellbeing' AND department = 'Engineering' ORDER BY period DESC LIMIT 1"
    ).item()
    assert raw is None  # every earlier day was hidden too: no baseline of published shares


# ---- topics -----------------------------------------------------------------------------


def test_topic_catalogue_flags_new_topics_and_hides_small_ones(tmp_path: Path) -> None:
    topics = pl.concat(
        [
            TOPICS,
            pl.DataFrame(
                {
                    "model_version": ["v2"] * 5,
                    "topic_id": [-1, 0, 1, 2, 3],
                    "label": [
                        "unclustered",
                        "python · traceback",
                        "burnout · tired",
                        "tiny",
                        "sql · query",
                    ],
                    "words": [
                        "misc",
                        "python, traceback, error",
                        "burnout, tired",
                        "rare",
                        "sql, query",
                    ],
                    "size": [3, 50, 20, 2, 10],
                    "category": [None, "coding", "wellbeing", "other", "coding"],
                },
                schema_overrides={"category": pl.String},
            ),
        ]
    )
    tuesday = MONDAY + timedelta(days=1)
    cells = [
        Cell(MONDAY, "Engineering", "coding", users("a", 8), topic_id=0),
        Cell(MONDAY, "Engineering", "it_support", users("b", 8), topic_id=1),
        Cell(tuesday, "Engineering", "coding", users("a", 8), topic_id=0, model_version="v2"),
        Cell(tuesday, "Engineering", "wellbeing", users("w", 12), topic_id=1, model_version="v2"),
        Cell(tuesday, "Engineering", "other", users("r", 2), topic_id=2, model_version="v2"),
        Cell(tuesday, "Engineering", "coding", users("q", 6), topic_id=3, model_version="v2"),
    ]
    wh = Warehouse(tmp_path, topics=topics)
    wh.load_history(cells)
    catalogue = {
        (r["model_version"], r["topic_id"]): r
        for r in wh.query("SELECT * FROM analytics.topics").iter_rows(named=True)
    }
    # v1's -1 was asked about by no one: no group of people, listed like the others.
    # v2's topic 2 (2 people) is a small group; hidden alone, v2's training size minus the
    # listed sizes would give its size back, so the smallest topics beside it are hidden too
    # until the hidden ones hold enough people: -1 (no one) and 3 (6 people). Hidden topics
    # have no row at all.
    assert sorted(catalogue) == [("v1", -1), ("v1", 0), ("v1", 1), ("v2", 0), ("v2", 1)]
    assert not any(r["suppressed"] for r in catalogue.values())
    assert all(r["label"] and r["size"] for r in catalogue.values())
    reasons = dict(
        wh.query(
            "SELECT topic_id, reason FROM core.topic_visibility "
            "WHERE model_version = 'v2' AND hidden"
        ).iter_rows()
    )
    assert reasons == {2: "small_group", -1: "complementary", 3: "complementary"}
    assert catalogue[("v2", 0)]["is_new"] is False
    assert catalogue[("v2", 0)]["counterpart_topic_id"] == 0
    assert catalogue[("v2", 1)]["is_new"] is True and catalogue[("v2", 1)]["is_current_model"]
    assert catalogue[("v1", 0)]["is_new"] is False  # the first model has nothing to compare to
    trends = wh.query(
        "SELECT topic_id, suppressed, emerging_reason FROM analytics.topic_trends "
        "WHERE grain = 'day' AND model_version = 'v2' ORDER BY topic_id"
    ).rows()
    # the catalogue's hidden topics have no trend rows either: a row would name a topic the
    # catalogue does not list (topic 3's 6 people would be visible on their own)
    assert trends == [(0, False, None), (1, False, "new_topic")]
    assert wh.failing_checks_after() == {}
    # listing the complement again leaves topic 2 the only hidden topic with people
    relisted = wh.failing_checks_after(
        "INSERT INTO analytics.topics BY NAME "
        "SELECT 'v2' AS model_version, 3 AS topic_id, FALSE AS suppressed, 6 AS users"
    )
    assert "topic_catalogue_complement" in relisted
    marked = wh.failing_checks_after(
        "INSERT INTO analytics.topics BY NAME "
        "SELECT 'v2' AS model_version, 2 AS topic_id, TRUE AS suppressed"
    )
    assert "topic_catalogue_complement" in marked


def test_a_night_without_prompts_builds_empty_tables(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    assert wh.publish(MONDAY, []) == {"rows_loaded": 0, "new_alerts": []}
    for table in ("daily_category_trends", "weekly_category_trends", "topic_trends", "alerts"):
        assert wh.query(f"SELECT count(*) FROM analytics.{table}").item() == 0
    wh.publish(
        MONDAY + timedelta(days=1),
        [Cell(MONDAY + timedelta(days=1), "Sales", "other", users("s", 5))],
    )
    assert wh.query("SELECT count(*) FROM analytics.daily_category_trends").item() == 1


# ---- run summary ------------------------------------------------------------------------


def test_run_summary_lists_the_new_alerts(tmp_path: Path) -> None:
    from insight_core.nightly.summary import RunSummary

    it_per_day = [6, 8, 5, 7, 6, 9, 60]
    wh = Warehouse(tmp_path)
    cells = _daily_series(it_per_day)
    days = weekdays(MONDAY, len(it_per_day))
    wh.load_history([c for c in cells if c.day < days[-1]])
    new_alerts = wh.publish(days[-1], cells)["new_alerts"]
    summary = RunSummary(
        run_id="r",
        run_date=days[-1].isoformat(),
        status="succeeded",
        mode="infer",
        model_version="v1",
        model_fitted=False,
        rows_read=1,
        rows_loaded=1,
        rows_quarantined=0,
        rows_duplicate=0,
        rows_pii_redacted=0,
        rows_embedded_new=0,
        outlier_share=0.0,
        rule_share=0.0,
        category_counts={},
        stage_seconds={},
        total_seconds=1.0,
        prompts_per_second=1.0,
        warehouse=str(wh.path),
        flow_run_id=None,
        mlflow_run_id=None,
        quarantine_reasons={},
        new_alerts=new_alerts,
    )
    markdown = summary.to_markdown()
    assert "New alerts (2):" in markdown
    for alert in new_alerts:
        assert f"- {alert['headline']}" in markdown
    assert json.loads(json.dumps(summary.as_dict()))["new_alerts"] == new_alerts


# ---- disclosure audit: what subtraction gives back ----------------------------------------
#
# Each case is a night an older build published with only primary suppression, the "exactly
# one hidden member" complement, shares of all prompts and a NULL row per hidden cell.
# OLD_PUBLICATION rewrites the trend tables of a copy that way (every cell the current build
# hid as a complement visible again, every small group a NULL row, every share of all
# prompts): in these cases each group already has two or more small cells, so the old rule
# added no complement. The audit must find the attack there and nothing in the real build.

_OLD_VALUES = """
    CASE WHEN r.reason = 'small_group' THEN NULL ELSE s.prompts END AS prompts,
    CASE WHEN r.reason = 'small_group' THEN NULL ELSE s.users END AS users,
    CASE WHEN r.reason = 'small_group' THEN NULL ELSE s.prompts / s.period_prompts END AS share,
    false AS is_spike,
    coalesce(r.reason = 'small_group', false) AS suppressed
"""
OLD_PUBLICATION = [
    "DELETE FROM analytics.daily_category_trends",
    "DELETE FROM analytics.company_daily_category_trends",
    "DELETE FROM analytics.weekly_category_trends",
    "DELETE FROM analytics.company_weekly_category_trends",
    "DELETE FROM analytics.topic_trends",
    f"""INSERT INTO analytics.daily_category_trends BY NAME
        SELECT s.period AS date, s.department, s.category, {_OLD_VALUES}
        FROM core.category_scores AS s JOIN core.cell_suppression AS r USING (cell_id)
        WHERE s.grain = 'day' AND s.department <> '(all)'""",
    f"""INSERT INTO analytics.company_daily_category_trends BY NAME
        SELECT s.period AS date, s.category, {_OLD_VALUES}
        FROM core.category_scores AS s JOIN core.cell_suppression AS r USING (cell_id)
        WHERE s.grain = 'day' AND s.department = '(all)'""",
    f"""INSERT INTO analytics.weekly_category_trends BY NAME
        SELECT s.period AS week_start, s.complete, s.department, s.category, {_OLD_VALUES}
        FROM core.category_scores AS s JOIN core.cell_suppression AS r USING (cell_id)
        WHERE s.grain = 'week' AND s.department <> '(all)'""",
    f"""INSERT INTO analytics.company_weekly_category_trends BY NAME
        SELECT s.period AS week_start, s.complete, s.category, {_OLD_VALUES}
        FROM core.category_scores AS s JOIN core.cell_suppression AS r USING (cell_id)
        WHERE s.grain = 'week' AND s.department = '(all)'""",
    f"""INSERT INTO analytics.topic_trends BY NAME
        SELECT s.grain, s.period, s.complete, s.model_version, s.topic_id, s.topic_category,
               {_OLD_VALUES.replace("false AS is_spike", "false AS emerging")}
        FROM core.topic_scores AS s JOIN core.cell_suppression AS r USING (cell_id)""",
]


def _attacks(findings: Iterable[disclosure_audit.Finding]) -> set[tuple[str, int]]:
    """(attack, people) of every finding that singles out a group."""
    return {(f.attack, f.users) for f in findings if f.cells}


def _two_small_departments(categories: Sequence[str]) -> list[Cell]:
    """Engineering and Sales, large; Legal and Facilities, two people each, in ``categories``."""
    cells = []
    for category in categories:
        cells.append(Cell(MONDAY, "Engineering", category, users(f"e{category}", 20)))
        cells.append(Cell(MONDAY, "Sales", category, users(f"s{category}", 12)))
        legal = 25 if category == "coding" else 26
        cells.append(Cell(MONDAY, "Legal", category, users("legal", 2), per_user=legal))
        cells.append(Cell(MONDAY, "Facilities", category, users("fac", 2), per_user=26))
    return cells


def test_audit_company_total_minus_department_totals(tmp_path: Path) -> None:
    # (a) The company's total minus Engineering's and Sales's totals (prompts / share) gives
    # Legal's and Facilities' 206 prompts: four people.
    wh = Warehouse(tmp_path)
    wh.load_history(_two_small_departments(["coding", "other"]))
    assert wh.audit_after() == []
    old = _attacks(wh.audit_after(*OLD_PUBLICATION))
    assert ("company total minus departments", 4) in old
    legal_and_facilities = wh.query(
        "SELECT sum(prompts) FROM core.category_cells WHERE grain = 'day' "
        "AND department IN ('Legal', 'Facilities')"
    ).item()
    assert legal_and_facilities == 206


def test_audit_category_cell_minus_its_departments(tmp_path: Path) -> None:
    # (b) The company's coding cell minus the visible departments gives four people.
    wh = Warehouse(tmp_path)
    wh.load_history(_two_small_departments(["coding"]))
    assert wh.audit_after() == []
    assert ("company minus departments", 4) in _attacks(wh.audit_after(*OLD_PUBLICATION))
    # Complementary suppression hid Sales too: the sum the analyst gets is of 16 people.
    hidden = wh.query(
        "SELECT sum(c.users) FROM core.category_cells AS c JOIN core.cell_suppression AS s "
        "ON s.cell_id = concat_ws('|', 'category', c.grain, c.period, c.department, c.category) "
        "WHERE c.grain = 'day' AND c.department <> '(all)' AND s.suppressed"
    ).item()
    assert hidden == 16


def test_hidden_days_count_only_the_people_they_still_hide() -> None:
    # The company's coding week is published and two of its days are hidden: Sunday (three
    # people) and Saturday (eight). Together eleven people, but an analyst subtracts
    # Saturday's visible Engineering cell too: what the week gives back is Engineering's and
    # Legal's Sunday and Legal's Saturday, four people. (The demo's backfill failed its
    # disclosure audit on such a week.)
    saturday, sunday = MONDAY + timedelta(days=5), MONDAY + timedelta(days=6)
    people = {
        ("(all)", saturday): users("e", 6) + users("l", 2),
        ("Engineering", saturday): users("e", 6),
        ("Legal", saturday): users("l", 2),
        ("(all)", sunday): users("e", 2) + users("l", 1),
        ("Engineering", sunday): users("e", 2),
        ("Legal", sunday): users("l", 1),
    }
    cells = {}
    for (department, day), who in people.items():
        cell_id = f"{department}|{day}"
        cells[cell_id] = suppression.Cell(
            cell_id, "category", "day", day, MONDAY, department, "coding", None, None,
            len(who), len(who), 5, len(who) < 5,
            suppressed=department == "(all)" or len(who) < 5,
        )  # fmt: skip
    user_sets = {
        cell_id: frozenset(people[(c.department, c.period)]) for cell_id, c in cells.items()
    }
    splits = {
        f"(all)|{day}": [[f"Engineering|{day}", f"Legal|{day}"]] for day in (saturday, sunday)
    }
    hidden_days = [cells[f"(all)|{saturday}"], cells[f"(all)|{sunday}"]]
    assert suppression._safe(hidden_days, user_sets)  # the hidden days' own people: eleven
    assert not suppression._safe(hidden_days, user_sets, cells, splits)  # what they give back
    # hiding Saturday's Engineering cell as well makes the sum one of eight people
    cells[f"Engineering|{saturday}"].suppressed = True
    assert suppression._safe(hidden_days, user_sets, cells, splits)


def _week_with_a_few_regulars(topic_id: int = 0) -> list[Cell]:
    """Four people ask on four days (three of them each day), ten others on Wednesday."""
    regulars = users("r", 4)
    cells = []
    for offset in (0, 1, 3, 4):
        day = MONDAY + timedelta(days=offset)
        group = regulars[offset % 4 :] + regulars[: offset % 4]
        cells.append(Cell(day, "Engineering", "coding", group[:3], topic_id=topic_id))
    wednesday = MONDAY + timedelta(days=2)
    cells.append(Cell(wednesday, "Engineering", "coding", users("w", 10), topic_id=topic_id))
    return cells


def test_audit_week_minus_its_days(tmp_path: Path) -> None:
    # (c) The week's coding cell minus the visible Wednesday gives four day cells of three
    # people each, four people in all.
    wh = Warehouse(tmp_path)
    wh.load_history(_week_with_a_few_regulars())
    assert wh.audit_after() == []
    old = _attacks(wh.audit_after(*OLD_PUBLICATION))
    assert ("week minus its days", 4) in old
    # Now Wednesday is hidden too and the week stays visible: its days are no longer
    # recoverable, the week (14 people) is.
    visible_days = wh.query(
        "SELECT count(*) FROM analytics.daily_category_trends WHERE category = 'coding'"
    ).item()
    assert visible_days == 0
    week = wh.query(
        "SELECT users FROM analytics.weekly_category_trends WHERE category = 'coding'"
    ).item()
    assert week == 14


def test_audit_topic_week_minus_its_days(tmp_path: Path) -> None:
    # (d) The same through the topic tables: the topic's week minus its visible day gives
    # the regulars' days.
    wh = Warehouse(tmp_path)
    wh.load_history(_week_with_a_few_regulars(topic_id=1))
    assert wh.audit_after() == []
    old = wh.audit_after(*OLD_PUBLICATION)
    assert any(
        f.attack == "week minus its days" and f.target.startswith("topic") and f.users == 4
        for f in old
    )


def test_audit_a_hidden_row_shows_that_the_group_exists(tmp_path: Path) -> None:
    # (e) The one person of a one-person department asked a wellbeing question: a row marked
    # suppressed tells that much; the current tables have no row for it.
    cells = [
        Cell(MONDAY, "Engineering", "wellbeing", users("ew", 10)),
        Cell(MONDAY, "Sales", "wellbeing", users("sw", 12)),
        Cell(MONDAY, "Engineering", "coding", users("ec", 30)),
        Cell(MONDAY, "Sales", "coding", users("sc", 20)),
        Cell(MONDAY, "Legal", "wellbeing", ["the-lawyer"]),
    ]
    wh = Warehouse(tmp_path)
    wh.load_history(cells)
    assert wh.audit_after() == []
    assert (
        wh.query(
            "SELECT count(*) FROM analytics.daily_category_trends WHERE department = 'Legal'"
        ).item()
        == 0
    )
    hidden_rows = [f for f in wh.audit_after(*OLD_PUBLICATION) if f.attack == "hidden row"]
    assert "category day 2026-10-05 Legal wellbeing" in {f.target for f in hidden_rows}


def _demo_cells(root: Path, days: int) -> tuple[list[Cell], dict[str, str]]:
    """The demo generator's month as cells, each prompt in its labelled (true) category."""
    from insight_core.demo.generator import generate_demo_logs

    dataset = generate_demo_logs(root, MONDAY, days=days, seed=7)
    labels = dict(line.split(",", 1) for line in dataset.labels_file.read_text().splitlines()[1:])
    topic_of = {"coding": 0, "it_support": 1}
    cells = []
    for path, day in zip(dataset.log_files, dataset.dates, strict=True):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            category = labels.get(str(record.get("prompt_id")))
            if not category or not record.get("user_id") or not record.get("department"):
                continue
            cells.append(
                Cell(
                    day,
                    str(record["department"]),
                    category,
                    [str(record["user_id"])],
                    topic_id=topic_of.get(category, -1),
                )
            )
    categories = sorted({c.category for c in cells})
    return cells, {c: c for c in categories}


def test_a_demo_like_fortnight_publishes_and_the_audit_finds_nothing(tmp_path: Path) -> None:
    cells, categories = _demo_cells(tmp_path / "demo", days=14)
    wh = Warehouse(tmp_path, categories=categories)
    wh.load_history(cells)  # raises ChecksFailedError if the audit finds anything
    visible = wh.query("SELECT count(*) FROM analytics.daily_category_trends").item()
    assert visible > 0
    assert wh.audit_after() == []
