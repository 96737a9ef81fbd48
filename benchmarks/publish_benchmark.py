"""Time one nightly publication against the length of the history already published.

For each history length (default 7 and 365 days) the script builds a warehouse of synthetic
per-prompt rows, ``--rows-per-day`` a day (default 100,000), without the model: DuckDB
generates them with ``range()`` (the demo's departments with their sizes and category mixes,
``--users`` people, 5 topics per category plus outliers) and they are published a week per
``publish_run``, which is how a backfill loads them. Then it times, each ``--repeat`` times
in a fresh process (peak RSS is that process's) and on a fresh copy of the history's catalog:

* ``nightly``: publishing the next date (with the analyst copy), and
* ``rerun``: publishing the middle date of the history again with new rows,

each after the lookup of its ids among the loaded dates that the nightly run makes before
publication, and prints the median seconds of each and the peak RSS against the history
length, plus the sizes of the catalog and of the Parquet history. Prompt ids are random
(``--ordered-ids``: sorted by date). ``--reuse`` skips building a history that exists.

    .venv/bin/python benchmarks/publish_benchmark.py --workdir /tmp/publish-bench
    .venv/bin/python benchmarks/publish_benchmark.py --days 7 28 --rows-per-day 20000
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import shutil
import statistics
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from insight_core import warehouse
from insight_core.demo.generator import CATEGORIES, DEPARTMENTS
from insight_core.settings import InsightSettings

FIRST_DAY = date(2025, 1, 6)  # a Monday
TOPICS_PER_CATEGORY = 5
MODEL_VERSION = "bench-v1"
THRESHOLDS = {"*": 5}


def _topics() -> pl.DataFrame:
    rows = [(MODEL_VERSION, -1, "unclustered", "misc", 1000, None)]
    for c, category in enumerate(CATEGORIES):
        for t in range(TOPICS_PER_CATEGORY):
            topic = c * TOPICS_PER_CATEGORY + t
            rows.append(
                (MODEL_VERSION, topic, f"{category} {t}", f"{category}, word{t}", 1000, category)
            )
    return pl.DataFrame(
        rows,
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


def _lookup_tables(con: duckdb.DuckDBPyConnection, users: int) -> None:
    """Users with their department, and each department's category mix as cumulative bands."""
    departments = pl.DataFrame(  # noqa: F841 - read by DuckDB
        {
            "d": list(range(len(DEPARTMENTS))),
            "department": [d.name for d in DEPARTMENTS],
            "share": [d.share for d in DEPARTMENTS],
        }
    )
    mixes = pl.DataFrame(  # noqa: F841 - read by DuckDB
        [
            (d.name, c, category, weight)
            for d in DEPARTMENTS
            for c, (category, weight) in enumerate(zip(CATEGORIES, d.mix, strict=True))
        ],
        schema={"department": pl.String, "c": pl.Int64, "category": pl.String, "w": pl.Float64},
        orient="row",
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE bench_users AS
        WITH bands AS (
            SELECT department, sum(share) OVER (ORDER BY d) / sum(share) OVER () AS hi
            FROM departments
        )
        SELECT u, md5('user-' || u) AS user_hash,
               (SELECT department FROM bands WHERE bands.hi >= (u + 0.5) / {users}
                ORDER BY hi LIMIT 1) AS department
        FROM range({users}) AS t(u)
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE bench_mix AS
        SELECT department, c, category,
               coalesce(sum(w) OVER (PARTITION BY department ORDER BY c
                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
                   / sum(w) OVER (PARTITION BY department) AS lo,
               sum(w) OVER (PARTITION BY department ORDER BY c)
                   / sum(w) OVER (PARTITION BY department) AS hi
        FROM mixes
        """
    )


def write_days(
    con: duckdb.DuckDBPyConnection,
    target: Path,
    first: date,
    days: int,
    rows_per_day: int,
    users: int,
    variant: int = 0,
    ordered_ids: bool = False,
) -> int:
    """Write ``days`` days of synthetic per-prompt rows from ``first`` to one Parquet file.

    Prompt ids are opaque random-looking strings (an MD5 in hex), as a log's UUIDs are, unless
    ``ordered_ids``: then they sort by date, as time-ordered ids (UUIDv7, ULID, a sequence) do,
    and DuckDB can skip other dates' row groups by their min/max when it looks ids up.
    """
    n = days * rows_per_day
    readable_id = f"'p-{variant}-' || d.run_date || '-' || d.i"
    prompt_id = readable_id if ordered_ids else f"md5({readable_id})"
    con.execute(
        f"""
        COPY (
            WITH draws AS (
                SELECT
                    i,
                    DATE '{first.isoformat()}' + (i // {rows_per_day})::INTEGER AS run_date,
                    -- a few heavy users, many light ones
                    least({users} - 1,
                          floor({users} * pow((hash(i, {variant}, 'u') % 1000003) / 1000003.0,
                                              1.7)))::BIGINT AS u,
                    (hash(i, {variant}, 'c') % 100000) / 100000.0 AS rc,
                    hash(i, {variant}, 't') % 100 AS rt
                FROM range({n}) AS r(i)
            )
            SELECT
                {prompt_id} AS prompt_id,
                d.run_date,
                (d.run_date + INTERVAL (d.i % 86400) SECOND)::TIMESTAMPTZ AS event_ts,
                u.user_hash,
                u.department,
                'internal-assistant' AS tool,
                m.category,
                'model' AS decided_by,
                NULL::VARCHAR AS rule_id,
                0.9 AS confidence,
                CASE WHEN d.rt < 5 THEN -1
                     ELSE (m.c * {TOPICS_PER_CATEGORY} + d.rt % {TOPICS_PER_CATEGORY})::INTEGER
                END AS topic_id,
                't' AS topic_label,
                'w' AS topic_words,
                '{MODEL_VERSION}' AS model_version,
                0::INTEGER AS pii_redacted
            FROM draws AS d
            JOIN bench_users AS u USING (u)
            JOIN bench_mix AS m ON m.department = u.department AND d.rc >= m.lo AND d.rc < m.hi
        ) TO '{target}' (FORMAT parquet)
        """
    )
    return n


def _request(run_date: date, run_id: str, files: list[Path], rows: int) -> warehouse.PublishRequest:
    return warehouse.PublishRequest(
        run_date=run_date,
        run_id=run_id,
        classified_files=files,
        quarantine_files=[],
        topics=_topics(),
        model_version_row=None,
        run_record={
            "run_id": run_id,
            "run_date": run_date,
            "status": "succeeded",
            "rows_read": rows,
            "rows_loaded": rows,
            "rows_quarantined": 0,
            "rows_duplicate": 0,
            "stage_seconds": json.dumps({}),
        },
        thresholds=THRESHOLDS,
        categories={c: c for c in CATEGORIES},
        taxonomy_version="bench",
    )


def build_history(
    folder: Path, days: int, rows_per_day: int, users: int, ordered_ids: bool = False
) -> Path:
    """A warehouse with ``days`` days of history, published a week at a time."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    published = folder / "warehouse.duckdb"
    generator = duckdb.connect()
    _lookup_tables(generator, users)
    started = time.monotonic()
    for offset in range(0, days, 7):
        chunk = min(7, days - offset)
        first = FIRST_DAY + timedelta(days=offset)
        source = folder / f"history-{offset:04d}.parquet"
        rows = write_days(
            generator, source, first, chunk, rows_per_day, users, ordered_ids=ordered_ids
        )
        warehouse.publish_run(
            published,
            _request(first + timedelta(days=chunk - 1), f"history-{offset:04d}", [source], rows),
            memory_limit=InsightSettings().warehouse_memory_limit,
        )
        source.unlink()
        print(
            f"  history {days}d: {offset + chunk} days loaded ({time.monotonic() - started:.0f} s)",
            flush=True,
        )
    generator.close()
    return published


def _timed_publish(
    published: str, source: str, rows: int, run_date: date, run_id: str
) -> dict[str, Any]:
    """Runs in a fresh process: time the night's id lookup, then its publication.

    The lookup is the one the nightly duplicate stage makes
    (:func:`insight_core.warehouse.look_up_loaded_ids`), and the publication is told which
    files it read, as the nightly run tells it. It publishes into a copy of the history's
    catalog (the copy names the same immutable Parquet files and writes its own beside it), so
    every repetition starts from the same history. Peak RSS is this process's, which generates
    nothing: the night's rows were written beforehand.
    """
    history = Path(published)
    target = history.with_name(f"{run_id}.duckdb")
    shutil.copyfile(history, target)
    memory_limit = InsightSettings().warehouse_memory_limit  # as the nightly run uses it
    started = time.perf_counter()
    lookup = warehouse.look_up_loaded_ids(target, [Path(source)], run_date, memory_limit)
    lookup_seconds = time.perf_counter() - started
    started = time.perf_counter()
    warehouse.publish_run(
        target,
        replace(
            _request(run_date, run_id, [Path(source)], rows),
            ids_looked_up_in=lookup.partition_files,
        ),
        analyst_copy=target.with_name(f"{run_id}-analyst.duckdb"),
        memory_limit=memory_limit,
    )
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "lookup_seconds": lookup_seconds, "peak_rss_mib": peak_mib}


def _in_fresh_process(
    repeat: int,
    published: Path,
    run_date: date,
    run_id: str,
    rows_per_day: int,
    users: int,
    variant: int,
    ordered_ids: bool,
) -> dict[str, Any]:
    """The median times (and the largest peak RSS) of ``repeat`` runs, each in a new process."""
    source = published.with_name(f"{run_id}.parquet")
    with duckdb.connect() as generator:
        _lookup_tables(generator, users)
        rows = write_days(generator, source, run_date, 1, rows_per_day, users, variant, ordered_ids)
    ctx = multiprocessing.get_context("spawn")
    runs = []
    for _ in range(repeat):
        with ctx.Pool(1) as pool:
            runs.append(
                pool.apply(_timed_publish, (str(published), str(source), rows, run_date, run_id))
            )
    source.unlink()
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "lookup_seconds": statistics.median(r["lookup_seconds"] for r in runs),
        "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
        "all_seconds": [round(r["seconds"], 2) for r in runs],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, nargs="+", default=[7, 365])
    parser.add_argument("--rows-per-day", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/publish-benchmark"))
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measurement")
    parser.add_argument(
        "--reuse", action="store_true", help="keep a history already built in --workdir"
    )
    parser.add_argument(
        "--ordered-ids",
        action="store_true",
        help="prompt ids that sort by date (time-ordered ids) instead of random ones",
    )
    args = parser.parse_args()
    results = []
    for days in args.days:
        folder = args.workdir / f"history-{days}d"
        published = folder / "warehouse.duckdb"
        if not (args.reuse and published.exists()):
            published = build_history(folder, days, args.rows_per_day, args.users, args.ordered_ids)
        last = FIRST_DAY + timedelta(days=days - 1)
        middle = FIRST_DAY + timedelta(days=days // 2)
        nightly = _in_fresh_process(
            args.repeat,
            published,
            last + timedelta(days=1),
            "nightly",
            args.rows_per_day,
            args.users,
            1,
            args.ordered_ids,
        )
        rerun = _in_fresh_process(
            args.repeat,
            published,
            middle,
            "rerun",
            args.rows_per_day,
            args.users,
            2,
            args.ordered_ids,
        )
        catalog_mib = published.stat().st_size / 2**20
        parquet_mib = (
            sum(p.stat().st_size for p in warehouse.partitions_root(published).rglob("*.parquet"))
            / 2**20
        )
        results.append(
            {
                "history_days": days,
                "history_rows": days * args.rows_per_day,
                "nightly_s": round(nightly["seconds"], 2),
                "nightly_id_lookup_s": round(nightly["lookup_seconds"], 2),
                "nightly_runs_s": nightly["all_seconds"],
                "rerun_runs_s": rerun["all_seconds"],
                "nightly_peak_rss_mib": round(nightly["peak_rss_mib"]),
                "rerun_middle_s": round(rerun["seconds"], 2),
                "rerun_id_lookup_s": round(rerun["lookup_seconds"], 2),
                "rerun_peak_rss_mib": round(rerun["peak_rss_mib"]),
                "catalog_mib": round(catalog_mib, 1),
                "parquet_mib": round(parquet_mib),
            }
        )
        print(json.dumps(results[-1]), flush=True)
    print()
    print(
        "| history | per-prompt rows | nightly: id lookup | nightly publish | peak RSS "
        "| rerun of middle date: id lookup | publish | peak RSS | catalog file | Parquet |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['history_days']} days | {r['history_rows']:,} | {r['nightly_id_lookup_s']} s "
            f"| {r['nightly_s']} s | {r['nightly_peak_rss_mib']} MiB "
            f"| {r['rerun_id_lookup_s']} s | {r['rerun_middle_s']} s "
            f"| {r['rerun_peak_rss_mib']} MiB | {r['catalog_mib']} MiB | {r['parquet_mib']} MiB |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
