"""Incremental publication gives exactly what a full rebuild gives.

A warehouse is fed night by night through ``warehouse.publish_run`` with synthetic per-prompt
rows (small groups, a spike, a refit, weekends), with reruns of past dates, a backfill of a
skipped date out of order, a night whose file also carries rows of an earlier date and a change
of privacy thresholds. After each step the published tables are compared with a full rebuild
(``warehouse.build_models`` without touched dates) of a copy of the same catalog, which reads
every per-prompt row again. Every publication also passed the checks, complementary
suppression among them, or ``publish_run`` would have raised.
"""

from __future__ import annotations

import json
import random
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from insight_core import warehouse

pytestmark = pytest.mark.integration

FIRST_DAY = date(2026, 9, 7)  # a Monday
DEPARTMENTS = ("Engineering", "Finance", "Legal", "Sales", "People")
CATEGORIES = {c: c for c in ("coding", "it_support", "finance", "legal_compliance", "other")}
V1_TOPICS = [  # (topic_id, label, words, size, category)
    (-1, "unclustered", "misc", 10, None),
    (0, "python", "python, error", 40, "coding"),
    (1, "vpn", "vpn, password", 30, "it_support"),
    (2, "invoice", "invoice, vat", 20, "finance"),
]
V2_TOPICS = [
    (-1, "unclustered", "misc", 12, None),
    (0, "python", "python, traceback", 35, "coding"),
    (1, "vpn", "vpn, reset", 30, "it_support"),
    (2, "invoice", "invoice, vat, refund", 25, "finance"),
    (3, "contract", "contract, nda", 9, "legal_compliance"),
    (4, "wiki", "wiki, page", 4, "other"),  # only asked about in _rare_topic_rows
]
TOPICS = pl.DataFrame(
    [("v1", *t) for t in V1_TOPICS] + [("v2", *t) for t in V2_TOPICS],
    schema={
        "model_version": pl.String,
        "topic_id": pl.Int64,
        "label": pl.String,
        "words": pl.String,
        "size": pl.Int64,
        "category": pl.String,
    },
    orient="row",
)
TOPIC_OF = {"coding": 0, "it_support": 1, "finance": 2, "legal_compliance": 3, "other": -1}
REFIT_DAY = FIRST_DAY + timedelta(days=24)
# Sales' IT support spikes on a Friday and the next Monday and Tuesday: one weekday streak
# across two ISO weeks, so a build that rewrites only the second week must carry it on.
STREAK_DAYS = (date(2026, 10, 2), date(2026, 10, 5), date(2026, 10, 6))
NO_STREAK = 3  # the variant of a day without the streak's extra prompts
SALES_WEEKDAY_FLOOR = 8  # people every Sales category has on a weekday besides the random ones
# Every table a build writes that an analyst or a later build reads.
COMPARED = (
    "analytics.daily_category_trends",
    "analytics.company_daily_category_trends",
    "analytics.weekly_category_trends",
    "analytics.company_weekly_category_trends",
    "analytics.topics",
    "analytics.topic_trends",
    "analytics.alerts",
    "core.category_cells",
    "core.topic_cells",
    "core.cell_suppression",
    "core.category_scores",
    "core.topic_scores",
    "core.alert_candidates",
    "core.topic_users",
)


def _rows(day: date, variant: int = 0) -> pl.DataFrame:
    """One day of prompts; ``variant`` > 0 gives a different day for a rerun."""
    rng = random.Random(f"{day}-{variant}")
    weekend = day.weekday() >= 5
    version = "v2" if day >= REFIT_DAY else "v1"
    rows = []
    for department in DEPARTMENTS:
        for category in CATEGORIES:
            users = rng.randint(0, 3 if weekend else 12)
            if department == "Sales" and not weekend:
                # Sales is a large department whose every category counts well over the
                # threshold on a weekday. Shares are of the visible prompts only, so a spike is
                # measured against the department's visible cells: in a department whose other
                # categories are mostly hidden small groups the spiking category is most of the
                # visible prompts on every day, its share can hardly rise, and an alert would
                # rightly not fire. The streak below must be a realistic alert.
                users += SALES_WEEKDAY_FLOOR
            if department == "Finance" and category == "finance" and day.day in (29, 30):
                users += 25  # a spike
            if (department, category) == ("Sales", "it_support") and day in STREAK_DAYS:
                users += 0 if variant == NO_STREAK else 150
            for u in range(users):
                for _ in range(rng.randint(1, 3)):
                    topic = TOPIC_OF[category]
                    if version == "v1" and topic == 3:
                        topic = -1
                    rows.append(
                        {
                            "prompt_id": f"{day:%Y%m%d}-{len(rows):05d}",
                            "run_date": day,
                            "event_ts": datetime(day.year, day.month, day.day, 10, tzinfo=UTC),
                            "user_hash": f"{department}-{u:03d}",
                            "department": department,
                            "tool": None,
                            "category": category,
                            "decided_by": "model",
                            "rule_id": None,
                            "confidence": 0.9,
                            "topic_id": topic,
                            "topic_label": "t",
                            "topic_words": "w",
                            "model_version": version,
                            "pii_redacted": 0,
                        }
                    )
    return pl.DataFrame(
        rows,
        schema_overrides={"tool": pl.String, "rule_id": pl.String, "pii_redacted": pl.Int32},
    )


def _rare_topic_rows(day: date, users: int) -> pl.DataFrame:
    """Prompts of ``users`` people about the v2 topic no one else asks about."""
    return pl.DataFrame(
        [
            {
                "prompt_id": f"rare-{day:%Y%m%d}-{u:03d}",
                "run_date": day,
                "event_ts": datetime(day.year, day.month, day.day, 11, tzinfo=UTC),
                "user_hash": f"rare-{u:03d}",
                "department": "People",
                "tool": None,
                "category": "other",
                "decided_by": "model",
                "rule_id": None,
                "confidence": 0.9,
                "topic_id": 4,
                "topic_label": "t",
                "topic_words": "w",
                "model_version": "v2",
                "pii_redacted": 0,
            }
            for u in range(users)
        ],
        schema_overrides={"tool": pl.String, "rule_id": pl.String, "pii_redacted": pl.Int32},
    )


class Nightly:
    """Publishes days like the nightly runs would; every run's rows go to a new file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "warehouse.duckdb"
        self.thresholds = {"*": 5, "legal_compliance": 8}
        self.runs = 0

    def publish(self, run_date: date, frame: pl.DataFrame) -> None:
        self.runs += 1
        run_id = f"run-{self.runs:03d}"
        path = self.folder / f"{run_id}.parquet"
        frame.write_parquet(path)
        versions = set(frame.get_column("model_version").to_list())
        warehouse.publish_run(
            self.path,
            warehouse.PublishRequest(
                run_date=run_date,
                run_id=run_id,
                classified_files=[path],
                quarantine_files=[],
                topics=TOPICS.filter(pl.col("model_version").is_in(sorted(versions))),
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
                categories=CATEGORIES,
                taxonomy_version="1",
                # Reruns here replace dates with fewer rows on purpose (insight run --replace).
                replace=True,
            ),
        )

    def last_rebuilt_from(self) -> date:
        """The first period the last build rewrote (earlier periods kept their rows)."""
        return self.scalar(
            "SELECT rebuilt_from FROM ops.model_builds ORDER BY built_at DESC LIMIT 1"
        )

    def scalar(self, sql: str) -> object:
        with duckdb.connect(str(self.path), read_only=True) as con:
            return con.execute(sql).fetchone()[0]

    def tables(self, path: Path) -> dict[str, list[tuple]]:
        with duckdb.connect(str(path), read_only=True) as con:
            return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in COMPARED}

    def assert_matches_full_rebuild(self) -> None:
        rebuilt = self.folder / "rebuilt.duckdb"
        shutil.copyfile(self.path, rebuilt)
        with duckdb.connect(str(rebuilt)) as con:
            warehouse.build_models(con)  # no touched dates: from every per-prompt row
            assert warehouse.run_checks(con) == {}
        incremental, full = self.tables(self.path), self.tables(rebuilt)
        for table in COMPARED:
            assert incremental[table] == full[table], f"{table} differs from a full rebuild"
        rebuilt.unlink()


def test_incremental_publication_equals_a_full_rebuild(tmp_path: Path) -> None:
    nightly = Nightly(tmp_path)
    days = [FIRST_DAY + timedelta(days=i) for i in range(35)]
    skipped = days[9]  # a Wednesday, backfilled later
    for day in days[:28]:
        if day != skipped:
            nightly.publish(day, _rows(day))
    nightly.assert_matches_full_rebuild()

    with duckdb.connect(str(nightly.path), read_only=True) as con:
        modes = [r[0] for r in con.execute("SELECT mode FROM ops.model_builds").fetchall()]
        weeks = con.execute(
            "SELECT count(DISTINCT week_start) FROM core.cell_suppression"
        ).fetchone()[0]
        hidden = con.execute(
            "SELECT count(*) FILTER (WHERE reason = 'small_group'), "
            "count(*) FILTER (WHERE reason = 'complementary') FROM core.cell_suppression"
        ).fetchone()
        spikes = con.execute("SELECT count(*) FROM analytics.alerts").fetchone()[0]
    # the data exercises what the comparison is about
    assert modes[0] == "full" and set(modes[1:]) == {"incremental"}
    assert weeks == 4 and hidden[0] > 0 and hidden[1] > 0 and spikes > 0

    nightly.publish(skipped, _rows(skipped))  # backfill out of order
    nightly.assert_matches_full_rebuild()

    rerun = days[15]  # a rerun of a middle date with different rows
    nightly.publish(rerun, _rows(rerun, variant=1))
    nightly.assert_matches_full_rebuild()

    # a night whose file also carries late rows of an earlier date (added to that date)
    late = (
        _rows(days[20], variant=2)
        .with_columns(pl.col("prompt_id").str.replace(r"^", "late-"))
        .head(40)
    )
    nightly.publish(days[28], pl.concat([_rows(days[28]), late]))
    nightly.assert_matches_full_rebuild()

    nightly.thresholds = {"*": 6, "legal_compliance": 8}  # every week's suppression changes
    for day in days[29:]:
        nightly.publish(day, _rows(day))
    nightly.assert_matches_full_rebuild()

    # a rerun that empties a date removes it everywhere
    nightly.publish(days[3], _rows(days[3]).head(0))
    nightly.assert_matches_full_rebuild()
    loaded = warehouse.query(
        nightly.path, "SELECT count(*) FROM core.classifications WHERE run_date = DATE '2026-09-10'"
    ).item()
    assert loaded == 0


def _streak_alerts(nightly: Nightly) -> dict[date, str]:
    """since -> status of Sales' daily IT support alerts."""
    return dict(
        warehouse.query(
            nightly.path,
            "SELECT since, status FROM analytics.alerts WHERE kind = 'spike' AND grain = 'day' "
            "AND department = 'Sales' AND category = 'it_support'",
        ).iter_rows()
    )


def test_a_build_rewrites_only_the_weeks_a_night_can_change(tmp_path: Path) -> None:
    """Nightly builds rewrite from the run's week on (or the week before, whose last day was
    loaded), streaks and trailing baselines carry over from the kept periods, and a change in
    the past (a rerun, an emptied last day, a skipped day) ripples forward exactly."""
    nightly = Nightly(tmp_path)
    days = [FIRST_DAY + timedelta(days=i) for i in range(35)]
    nightly.thresholds = {"*": 6, "legal_compliance": 8}
    for day in days[:14]:
        nightly.publish(day, _rows(day))
    for day in days[14:]:
        nightly.publish(day, _rows(day))
        week = day - timedelta(days=day.weekday())
        # the run's week, or the week before on a Monday (its Sunday was the last day loaded);
        # a refit changes the topic catalogue, which reshapes every period: all rewritten
        expected = week - timedelta(days=7) if week == day else week
        assert nightly.last_rebuilt_from() == (date.min if day == REFIT_DAY else expected)
    nightly.assert_matches_full_rebuild()
    # the streak that began on Friday goes on in the next week's rewritten days
    assert _streak_alerts(nightly) == {STREAK_DAYS[0]: "active"}

    # a rerun inside the second week rewrites only that week and keeps the streak's start
    monday = STREAK_DAYS[1]
    nightly.publish(monday + timedelta(days=2), _rows(monday + timedelta(days=2), variant=1))
    assert nightly.last_rebuilt_from() == monday
    nightly.assert_matches_full_rebuild()
    assert _streak_alerts(nightly) == {STREAK_DAYS[0]: "active"}

    # a rerun of the streak's first day without the spike: the streak now starts on Monday
    nightly.publish(STREAK_DAYS[0], _rows(STREAK_DAYS[0], variant=NO_STREAK))
    assert nightly.last_rebuilt_from() == STREAK_DAYS[0] - timedelta(days=4)
    nightly.assert_matches_full_rebuild()
    assert _streak_alerts(nightly) == {STREAK_DAYS[0]: "withdrawn", monday: "active"}

    # a rerun far in the past ripples through every later baseline window
    nightly.publish(days[1], _rows(days[1], variant=1))
    assert nightly.last_rebuilt_from() == FIRST_DAY
    nightly.assert_matches_full_rebuild()

    # emptying the last day makes its week incomplete again ...
    last = days[-1]  # a Sunday
    nightly.publish(last, _rows(last).head(0))
    nightly.assert_matches_full_rebuild()
    # ... and a night after a skipped day completes it without touching it
    tuesday = last + timedelta(days=2)
    nightly.publish(tuesday, _rows(tuesday))
    assert nightly.last_rebuilt_from() == monday
    nightly.assert_matches_full_rebuild()
    assert nightly.scalar(
        "SELECT complete FROM analytics.company_weekly_category_trends "
        f"WHERE week_start = DATE '{monday}' LIMIT 1"
    )

    # a topic that too few people asked about is not in the catalogue and has no trend rows,
    # and neither has its complement, the next smallest topic of the model version ('contract'),
    # though its cells count people enough (a trend row would name a topic the catalogue does
    # not list) ...
    rare_day = days[-3]
    nightly.publish(
        rare_day, pl.concat([_rows(rare_day, variant=1), _rare_topic_rows(rare_day, 3)])
    )
    nightly.assert_matches_full_rebuild()
    listed = (
        "SELECT list(topic_id ORDER BY topic_id) FROM analytics.topics WHERE model_version = 'v2'"
    )
    trended = (
        "SELECT list(DISTINCT topic_id ORDER BY topic_id) FROM analytics.topic_trends "
        "WHERE model_version = 'v2'"
    )
    assert nightly.scalar(listed) == [-1, 0, 1, 2]
    assert not {3, 4} & set(nightly.scalar(trended))
    # ... until, one night, enough others ask about it: the catalogue's hidden topics change,
    # which rewrites every period, and both topics' labels show in the kept periods too
    wednesday = tuesday + timedelta(days=1)
    nightly.publish(wednesday, pl.concat([_rows(wednesday), _rare_topic_rows(wednesday, 12)]))
    assert nightly.last_rebuilt_from() == date.min
    nightly.assert_matches_full_rebuild()
    assert nightly.scalar(listed) == [-1, 0, 1, 2, 3, 4]
    label = (
        "SELECT topic_label FROM analytics.topic_trends WHERE topic_id = {} ORDER BY period LIMIT 1"
    )
    assert nightly.scalar(label.format(4)) == "wiki"
    assert nightly.scalar(label.format(3)) == "contract"
    assert (
        nightly.scalar("SELECT min(period) FROM analytics.topic_trends WHERE topic_id = 3")
        < rare_day
    )
    nightly.publish(wednesday, _rows(wednesday))  # and a rerun without them hides both again
    nightly.assert_matches_full_rebuild()
    assert nightly.scalar(listed) == [-1, 0, 1, 2]
    assert not {3, 4} & set(nightly.scalar(trended))
