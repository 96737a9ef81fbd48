from __future__ import annotations

import json
import multiprocessing
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from insight_core import warehouse
from insight_core.errors import ChecksFailedError, ConfigError, InsightError

pytestmark = pytest.mark.unit

DAY = date(2026, 10, 5)
CATEGORIES = {"coding": "code", "it_support": "it", "other": "else", "wellbeing": "wb"}


def _classified(
    tmp_path: Path, day: date, users: list[str], category: str = "coding", prefix: str = "p"
) -> Path:
    n = len(users)
    frame = pl.DataFrame(
        {
            "prompt_id": [f"{prefix}{day:%d}-{i}" for i in range(n)],
            "run_date": [day] * n,
            "event_ts": [datetime(day.year, day.month, day.day, 9, tzinfo=UTC)] * n,
            "user_hash": users,
            "department": ["Engineering"] * n,
            "tool": [None] * n,
            "category": [category] * n,
            "decided_by": ["model"] * n,
            "rule_id": [None] * n,
            "confidence": [0.9] * n,
            "topic_id": [0] * n,
            "topic_label": ["t"] * n,
            "topic_words": ["w"] * n,
            "model_version": ["v1"] * n,
            "pii_redacted": [0] * n,
        },
        schema_overrides={"tool": pl.String, "rule_id": pl.String, "pii_redacted": pl.Int32},
    )
    path = tmp_path / f"{prefix}-{day}-{category}.parquet"
    frame.write_parquet(path)
    return path


def _request(
    files: list[Path], day: date = DAY, run_id: str = "r1", read: int | None = None
) -> warehouse.PublishRequest:
    loaded = sum(pl.read_parquet(f).height for f in files)
    return warehouse.PublishRequest(
        run_date=day,
        run_id=run_id,
        classified_files=files,
        quarantine_files=[],
        topics=pl.DataFrame(
            {
                "model_version": ["v1"],
                "topic_id": [0],
                "label": ["t"],
                "words": ["w"],
                "size": [1],
                "category": ["coding"],
            }
        ),
        model_version_row=None,
        run_record={
            "run_id": run_id,
            "run_date": day,
            "status": "succeeded",
            "rows_read": loaded if read is None else read,
            "rows_loaded": loaded,
            "rows_quarantined": 0,
            "rows_duplicate": 0,
            "stage_seconds": json.dumps({"embed": 1.0}),
        },
        thresholds={"*": 5, "wellbeing": 10},
        categories=CATEGORIES,
        taxonomy_version="1",
    )


def _users(n: int) -> list[str]:
    return [f"{i:032d}" for i in range(n)]


def test_migrations_apply_once(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        applied = warehouse.apply_migrations(con)
        assert applied == [name for name, _ in warehouse.migration_files()]
        assert applied[0] == "0001_init.sql"
        assert warehouse.apply_migrations(con) == []


def test_rerun_replaces_a_date_without_duplicates(tmp_path: Path) -> None:
    published = tmp_path / "w.duckdb"
    warehouse.publish_run(published, _request([_classified(tmp_path, DAY, _users(6))]))
    warehouse.publish_run(published, _request([_classified(tmp_path, DAY, _users(6))], run_id="r2"))
    frame = warehouse.query(published, "SELECT prompt_id, run_id FROM core.classifications")
    assert frame.height == 6 and set(frame.get_column("run_id")) == {"r2"}
    runs = warehouse.query(published, "SELECT run_id FROM ops.runs ORDER BY run_id")
    assert runs.get_column("run_id").to_list() == ["r1", "r2"]


def test_small_cells_are_suppressed(tmp_path: Path) -> None:
    published = tmp_path / "w.duckdb"
    files = [
        _classified(tmp_path, DAY, _users(6), "coding"),
        _classified(tmp_path, DAY, _users(4), "it_support", prefix="q"),
        _classified(tmp_path, DAY, _users(9), "wellbeing", prefix="r"),
    ]
    warehouse.publish_run(published, _request(files))
    trends = warehouse.query(
        published,
        "SELECT category, prompts, users, share, suppressed "
        "FROM analytics.daily_category_trends ORDER BY category",
    )
    rows = {r["category"]: r for r in trends.iter_rows(named=True)}
    # it_support (4 < 5) and wellbeing (9 < 10) are small groups of the same people; the
    # company's total (the topic tables publish it) minus coding would give their sum, from 9
    # people, under wellbeing's 10: so coding is hidden as well, and no cell has a row.
    assert rows == {}
    reasons = warehouse.query(
        published,
        "SELECT split_part(cell_id, '|', 5) AS category, reason FROM core.cell_suppression "
        "WHERE cell_id LIKE 'category|day|%|(all)|%' ORDER BY 1",
    ).rows()
    assert reasons == [
        ("coding", "complementary"),
        ("it_support", "small_group"),
        ("wellbeing", "small_group"),
    ]


def test_failed_check_publishes_nothing(tmp_path: Path) -> None:
    published = tmp_path / "w.duckdb"
    warehouse.publish_run(published, _request([_classified(tmp_path, DAY, _users(6))]))
    before = published.read_bytes()
    bad = _request(
        [_classified(tmp_path, date(2026, 10, 6), _users(6))],
        day=date(2026, 10, 6),
        run_id="r2",
        read=99,
    )  # does not reconcile
    with pytest.raises(ChecksFailedError, match="runs_reconcile"):
        warehouse.publish_run(published, bad)
    assert published.read_bytes() == before
    assert not list(tmp_path.glob(".w.duckdb.staging-*"))


def test_failed_run_is_recorded_without_touching_data(tmp_path: Path) -> None:
    published = tmp_path / "w.duckdb"
    warehouse.publish_run(published, _request([_classified(tmp_path, DAY, _users(6))]))
    warehouse.record_failed_run(
        published, {"run_id": "bad", "run_date": DAY, "status": "failed", "error": "boom"}
    )
    assert warehouse.query(published, "SELECT count(*) n FROM core.classifications").item() == 6
    failed = warehouse.query(published, "SELECT error FROM ops.runs WHERE status = 'failed'")
    assert failed.get_column("error").to_list() == ["boom"]


def test_one_lookup_finds_a_nights_ids_loaded_on_other_dates(tmp_path: Path) -> None:
    published = tmp_path / "w.duckdb"
    first = tmp_path / "chunk-0.parquet"
    second = tmp_path / "chunk-1.parquet"
    pl.DataFrame({"prompt_id": ["p05-0", "new-a"], "text": ["x", "y"]}).write_parquet(first)
    pl.DataFrame({"prompt_id": ["new-b", "p05-3"], "text": ["x", "y"]}).write_parquet(second)
    other_day = date(2026, 10, 6)
    nothing = warehouse.look_up_loaded_ids(published, [first, second], other_day)
    assert nothing == warehouse.LoadedIdLookup({}, ())
    warehouse.publish_run(published, _request([_classified(tmp_path, DAY, _users(6))]))
    found = warehouse.look_up_loaded_ids(published, [first, second], other_day, "64MB")
    assert found.loaded == {"p05-0": DAY, "p05-3": DAY}
    live_files = warehouse.query(
        published, "SELECT path FROM ops.partitions WHERE dataset = 'classifications'"
    )
    assert found.partition_files == tuple(live_files.get_column("path"))
    assert warehouse.look_up_loaded_ids(published, [first, second], DAY).loaded == {}
    assert warehouse.look_up_loaded_ids(published, [], other_day).loaded == {}


def _with_id(source: Path, target: Path, row: int, prompt_id: str) -> Path:
    pl.read_parquet(source).with_columns(
        pl.when(pl.int_range(pl.len()) == row)
        .then(pl.lit(prompt_id))
        .otherwise(pl.col("prompt_id"))
        .alias("prompt_id")
    ).write_parquet(target)
    return target


def test_the_unique_ids_check_reads_the_dates_published_after_the_runs_lookup(
    tmp_path: Path,
) -> None:
    """A run's lookup saw DAY only; a date published meanwhile is still checked."""
    published = tmp_path / "w.duckdb"
    warehouse.publish_run(published, _request([_classified(tmp_path, DAY, _users(6))]))
    later, night_day = date(2026, 10, 7), date(2026, 10, 6)
    night = _classified(tmp_path, night_day, _users(6), prefix="n")
    lookup = warehouse.look_up_loaded_ids(published, [night], night_day)
    assert lookup.loaded == {} and len(lookup.partition_files) == 1
    meanwhile = _with_id(
        _classified(tmp_path, later, _users(6), prefix="m"), tmp_path / "m.parquet", 1, "n06-4"
    )
    warehouse.publish_run(published, _request([meanwhile], day=later, run_id="r2"))
    request = replace(
        _request([night], day=night_day, run_id="r3"), ids_looked_up_in=lookup.partition_files
    )
    with pytest.raises(ChecksFailedError, match="unique_prompt_ids"):
        warehouse.publish_run(published, request)
    assert warehouse.query(published, "SELECT count(*) FROM core.classifications").item() == 12


def test_the_unique_ids_check_finds_an_id_twice_in_the_night(tmp_path: Path) -> None:
    published = tmp_path / "w.duckdb"
    warehouse.publish_run(published, _request([_classified(tmp_path, DAY, _users(6))]))
    night_day = date(2026, 10, 6)
    night = _classified(tmp_path, night_day, _users(6), prefix="n")
    lookup = warehouse.look_up_loaded_ids(published, [night], night_day)
    twice = _with_id(night, tmp_path / "twice.parquet", 3, "n06-0")
    request = replace(
        _request([twice], day=night_day, run_id="r2"), ids_looked_up_in=lookup.partition_files
    )
    with pytest.raises(ChecksFailedError, match="unique_prompt_ids"):
        warehouse.publish_run(published, request)
    distinct = replace(request, classified_files=[night])
    warehouse.publish_run(published, distinct)
    assert warehouse.query(published, "SELECT count(*) FROM core.classifications").item() == 12


def _reader(
    path: str,
    started: multiprocessing.Event,
    release: multiprocessing.Event,
    result: multiprocessing.Queue,
) -> None:
    con = duckdb.connect(path, read_only=True)
    first = con.execute("SELECT count(*) FROM core.classifications").fetchone()[0]
    started.set()
    release.wait(60)
    second = con.execute("SELECT count(*) FROM core.classifications").fetchone()[0]
    con.close()
    result.put((first, second))


def test_reader_in_another_process_neither_blocks_nor_sees_a_half_written_run(
    tmp_path: Path,
) -> None:
    published = tmp_path / "w.duckdb"
    warehouse.publish_run(published, _request([_classified(tmp_path, DAY, _users(6))]))
    ctx = multiprocessing.get_context("spawn")
    started, release, result = ctx.Event(), ctx.Event(), ctx.Queue()
    reader = ctx.Process(target=_reader, args=(str(published), started, release, result))
    reader.start()
    # A spawned process imports the engine afresh: on a loaded machine that alone took over a
    # minute. Startup is not what this test measures (the publication below is timed).
    assert started.wait(240)
    begin = time.monotonic()
    next_day = date(2026, 10, 6)
    warehouse.publish_run(
        published, _request([_classified(tmp_path, next_day, _users(7))], day=next_day, run_id="r2")
    )
    assert time.monotonic() - begin < 30  # the writer was not blocked by the open reader
    release.set()
    reader.join(60)
    # the open reader kept its consistent snapshot; a new reader sees the new publication
    assert result.get(timeout=10) == (6, 6)
    assert warehouse.query(published, "SELECT count(*) FROM core.classifications").item() == 13


def test_analyst_copy_holds_only_the_analytics_tables(tmp_path: Path) -> None:
    published, analyst = tmp_path / "w.duckdb", tmp_path / "analyst.duckdb"
    files = [
        _classified(tmp_path, DAY, _users(6), "coding"),
        _classified(tmp_path, DAY, _users(4), "it_support", prefix="q"),
    ]
    warehouse.publish_run(published, _request(files), analyst_copy=analyst)
    with duckdb.connect(str(analyst), read_only=True) as con:
        schemas = {
            row[0]
            for row in con.execute(
                "SELECT DISTINCT table_schema FROM information_schema.tables"
            ).fetchall()
        }
        copied = con.execute(
            "SELECT * FROM analytics.daily_category_trends ORDER BY ALL"
        ).fetchall()
    assert schemas == {"analytics"}
    full = warehouse.query(published, "SELECT * FROM analytics.daily_category_trends ORDER BY ALL")
    assert copied == full.rows()
    assert not list(tmp_path.glob(".analyst.duckdb.staging-*"))


def test_rerun_keeps_the_replaced_file_for_readers_of_the_previous_publication(
    tmp_path: Path,
) -> None:
    published = tmp_path / "w.duckdb"
    warehouse.publish_run(published, _request([_classified(tmp_path, DAY, _users(6))]))
    with duckdb.connect(str(published), read_only=True) as old_reader:
        warehouse.publish_run(
            published, _request([_classified(tmp_path, DAY, _users(8), prefix="n")], run_id="r2")
        )
        # the old catalog still names the replaced file, which is retired, not deleted
        assert old_reader.execute("SELECT count(*) FROM core.classifications").fetchone() == (6,)
    live = warehouse.query(published, "SELECT path, rows FROM ops.partitions")
    retired = warehouse.query(published, "SELECT path FROM ops.retired_partitions")
    assert live.get_column("rows").to_list() == [8]
    assert retired.height == 1 and Path(retired.item(0, "path")).exists()
    assert warehouse.query(published, "SELECT count(*) FROM core.classifications").item() == 8


def test_a_warehouse_with_rows_inside_the_file_is_converted_on_its_next_publication(
    tmp_path: Path,
) -> None:
    published = tmp_path / "w.duckdb"
    old_day = date(2026, 10, 2)
    with duckdb.connect(str(published)) as con:  # the layout before per-date files
        for name, sql in warehouse.migration_files():
            if name < "0005":
                con.execute(sql)
        con.execute(
            "INSERT INTO core.classifications BY NAME SELECT *, 'old' AS run_id "
            "FROM read_parquet(?)",
            [str(_classified(tmp_path, old_day, _users(7), prefix="o"))],
        )
    warehouse.publish_run(published, _request([_classified(tmp_path, DAY, _users(6))]))
    kinds = warehouse.query(
        published,
        "SELECT table_name, table_type FROM information_schema.tables "
        "WHERE table_schema = 'core' AND table_name LIKE 'classifications%' ORDER BY 1",
    )
    assert kinds.rows() == [
        ("classifications", "VIEW"),
        ("classifications_layout", "BASE TABLE"),
    ]
    per_day = warehouse.query(
        published,
        "SELECT run_date, count(*) AS n FROM core.classifications GROUP BY 1 ORDER BY 1",
    )
    assert per_day.rows() == [(old_day, 7), (DAY, 6)]
    assert warehouse.query(published, "SELECT mode FROM ops.model_builds").item() == "full"
    trends = warehouse.query(
        published, "SELECT date, prompts FROM analytics.daily_category_trends ORDER BY date"
    )
    assert trends.rows() == [(old_day, 7), (DAY, 6)]


def test_partition_files_a_dead_publisher_left_are_discarded(tmp_path: Path) -> None:
    published = tmp_path / "w.duckdb"
    warehouse.publish_run(published, _request([_classified(tmp_path, DAY, _users(6))]))
    root = warehouse.partitions_root(published)
    live = sorted(root.rglob("*.parquet"))
    assert live
    orphan = root / "classifications" / "run_date=2026-10-06" / "deadbeef.parquet"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(live[0].read_bytes())
    with warehouse.publish_lock(published):  # a publisher at work: nothing is touched
        assert warehouse.discard_stale_staging(published) == []
    assert warehouse.discard_stale_staging(published) == [orphan]
    assert not orphan.exists()
    assert sorted(root.rglob("*.parquet")) == live
    assert warehouse.query(published, "SELECT count(*) FROM core.classifications").item() == 6


def test_publication_runs_within_its_memory_limit(tmp_path: Path) -> None:
    """DuckDB may otherwise cache up to 80% of the machine while it publishes a large night."""
    published = tmp_path / "w.duckdb"
    with warehouse.staged_build(published, memory_limit="96MB") as con:
        limited = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    with warehouse.staged_build(published) as con:
        default = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert limited == "91.5 MiB"  # 96,000,000 bytes
    assert default != limited
    summary = warehouse.publish_run(
        published, _request([_classified(tmp_path, DAY, _users(6))]), memory_limit="96MB"
    )
    assert summary["rows_loaded"] == 6


@pytest.mark.parametrize("limit", ["1MB", "100KB"])
def test_a_publication_beyond_its_memory_limit_says_which_setting_to_raise(
    tmp_path: Path, limit: str
) -> None:
    published = tmp_path / "w.duckdb"
    warehouse.publish_run(published, _request([_classified(tmp_path, DAY, _users(6))]))
    bigger = _request([_classified(tmp_path, DAY, _users(7))], run_id="r2")
    with pytest.raises(ConfigError, match="INSIGHT_WAREHOUSE_MEMORY_LIMIT"):
        warehouse.publish_run(published, bigger, memory_limit=limit)
    assert warehouse.query(published, "SELECT count(*) FROM core.classifications").item() == 6
    assert [p.name for p in tmp_path.iterdir() if ".staging-" in p.name] == []


def test_a_night_row_missing_a_required_value_publishes_nothing(tmp_path: Path) -> None:
    """The night's rows stream from its files into the date's file, past the layout table;
    its NOT NULL constraints must hold all the same."""
    published = tmp_path / "w.duckdb"
    warehouse.publish_run(published, _request([_classified(tmp_path, DAY, _users(6))]))
    broken = tmp_path / "broken.parquet"
    pl.read_parquet(_classified(tmp_path, DAY, _users(7), prefix="q")).with_columns(
        pl.when(pl.int_range(pl.len()) == 3)
        .then(None)
        .otherwise(pl.col("category"))
        .alias("category")
    ).write_parquet(broken)
    with pytest.raises(duckdb.Error, match=r"core\.classifications\.category"):
        warehouse.publish_run(published, _request([broken], run_id="r2"))
    assert warehouse.query(published, "SELECT count(*) FROM core.classifications").item() == 6
    assert warehouse.query(published, "SELECT max(run_id) FROM core.classifications").item() == "r1"


def test_a_model_beyond_the_memory_limit_also_names_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model's error arrives wrapped (InsightError from DuckDB's): a full rebuild of a year
    at 100k prompts a day ran out of 256 MB in models/core/002_category_cells.sql that way."""
    published = tmp_path / "w.duckdb"
    warehouse.publish_run(published, _request([_classified(tmp_path, DAY, _users(6))]))

    def out_of_memory(*args: object, **kwargs: object) -> None:
        try:
            raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block")
        except duckdb.OutOfMemoryException as error:
            raise InsightError("warehouse model 002_category_cells.sql failed") from error

    monkeypatch.setattr(warehouse.publish, "build_models", out_of_memory)
    bigger = _request([_classified(tmp_path, DAY, _users(7))], run_id="r2")
    with pytest.raises(ConfigError, match="INSIGHT_WAREHOUSE_MEMORY_LIMIT"):
        warehouse.publish_run(published, bigger, memory_limit="256MB")
    assert warehouse.query(published, "SELECT count(*) FROM core.classifications").item() == 6


def test_a_prompt_loaded_on_two_dates_fails_the_unique_ids_check(tmp_path: Path) -> None:
    """Each publication checks the dates it replaced against every loaded date."""
    published = tmp_path / "w.duckdb"
    warehouse.publish_run(published, _request([_classified(tmp_path, DAY, _users(6))]))
    next_day = date(DAY.year, DAY.month, DAY.day + 1)
    again = _with_id(  # a prompt of DAY, loaded again
        _classified(tmp_path, next_day, _users(6), prefix="q"),
        tmp_path / "again.parquet",
        2,
        f"p{DAY:%d}-2",
    )
    with pytest.raises(ChecksFailedError, match="unique_prompt_ids"):
        warehouse.publish_run(published, _request([again], day=next_day, run_id="r2"))
    assert warehouse.query(published, "SELECT count(*) FROM core.classifications").item() == 6
    distinct = tmp_path / "distinct.parquet"
    pl.read_parquet(again).with_columns(
        pl.col("prompt_id").str.replace(f"^p{DAY:%d}-", "other-")
    ).write_parquet(distinct)
    warehouse.publish_run(published, _request([distinct], day=next_day, run_id="r3"))
    assert warehouse.query(published, "SELECT count(*) FROM core.classifications").item() == 12
