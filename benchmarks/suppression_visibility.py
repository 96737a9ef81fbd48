"""How many cells stay visible on a demo month under complementary suppression.

Builds a warehouse from the demo generator's month (each prompt in its labelled category, so
no model is needed), published through ``warehouse.publish_run`` with every check and the
disclosure audit, and counts per grid: non-empty cells, cells hidden as small groups, cells
hidden as complements, and what stays visible. For comparison, it also counts the cells an
earlier rule (only "no group with exactly one hidden member", which the disclosure audit
shows to be unsafe) would have hidden, from the same cells, and, when ``opendp`` is
installed, how many cells calibrated Laplace noise would keep usable at a stated budget.

    python benchmarks/suppression_visibility.py --days 28 [--epsilon 1.0]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from insight_core import disclosure_audit, warehouse
from insight_core.demo.generator import generate_demo_logs
from insight_core.suppression import Cell, families

START = date(2026, 10, 5)


def demo_frame(root: Path, days: int, seed: int) -> tuple[pl.DataFrame, dict[str, str]]:
    """The demo month's valid prompts with their labelled category, in the warehouse layout."""
    dataset = generate_demo_logs(root, START, days=days, seed=seed)
    labels = dict(line.split(",", 1) for line in dataset.labels_file.read_text().splitlines()[1:])
    topic_of = {"coding": 0, "it_support": 1}
    rows: list[dict[str, object]] = []
    for path, day in zip(dataset.log_files, dataset.dates, strict=True):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            category = labels.get(str(record.get("prompt_id")))
            if not category or not record.get("user_id") or not record.get("department"):
                continue
            rows.append(
                {
                    "prompt_id": f"p{len(rows):08d}",
                    "run_date": day,
                    "event_ts": None,
                    "user_hash": str(record["user_id"]),
                    "department": str(record["department"]),
                    "tool": None,
                    "category": category,
                    "decided_by": "model",
                    "rule_id": None,
                    "confidence": 0.9,
                    "topic_id": topic_of.get(category, -1),
                    "topic_label": "t",
                    "topic_words": "w",
                    "model_version": "v1",
                    "pii_redacted": 0,
                }
            )
    frame = pl.DataFrame(
        rows,
        schema_overrides={
            "event_ts": pl.Datetime(time_zone="UTC"),
            "tool": pl.String,
            "rule_id": pl.String,
            "pii_redacted": pl.Int32,
            "topic_id": pl.Int64,
        },
    ).with_columns(pl.col("run_date").cast(pl.Datetime(time_zone="UTC")).alias("event_ts"))
    categories = sorted(set(frame.get_column("category")))
    return frame, {c: c for c in categories}


def publish(home: Path, frame: pl.DataFrame, categories: dict[str, str]) -> Path:
    path = home / "warehouse.duckdb"
    parquet = home / "month.parquet"
    frame.write_parquet(parquet)
    topics = pl.DataFrame(
        {
            "model_version": ["v1"] * 3,
            "topic_id": [-1, 0, 1],
            "label": ["unclustered", "code", "it"],
            "words": ["misc", "python, error", "vpn, password"],
            "size": [5, 40, 30],
            "category": [None, "coding", "it_support"],
        },
        schema_overrides={"category": pl.String},
    )
    run_date = frame.get_column("run_date").max()
    warehouse.publish_run(
        path,
        warehouse.PublishRequest(
            run_date=run_date,  # type: ignore[arg-type]
            run_id="month",
            classified_files=[parquet],
            quarantine_files=[],
            topics=topics,
            model_version_row=None,
            run_record={
                "run_id": "month",
                "run_date": run_date,
                "status": "succeeded",
                "rows_read": frame.height,
                "rows_loaded": frame.height,
                "rows_quarantined": 0,
                "rows_duplicate": 0,
                "stage_seconds": json.dumps({}),
            },
            thresholds={"*": 5, "wellbeing": 10},
            categories=categories,
            taxonomy_version="1",
        ),
    )
    return path


def visibility(path: Path) -> pl.DataFrame:
    """Per grid: cells, small groups, complements and visible cells as published."""
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute(
            """
            SELECT
                CASE WHEN cell_id LIKE 'topic|%' THEN 'topic'
                     WHEN cell_id LIKE '%|(all)|%' THEN 'company'
                     ELSE 'department' END || ' ' || split_part(cell_id, '|', 2) AS grid,
                count(*) AS cells,
                count(*) FILTER (WHERE reason = 'small_group') AS small_groups,
                count(*) FILTER (WHERE reason = 'complementary') AS complements,
                count(*) FILTER (WHERE NOT suppressed) AS visible
            FROM core.cell_suppression
            GROUP BY ALL ORDER BY grid
            """
        )
        names = [d[0] for d in cursor.description]
        return pl.DataFrame(cursor.fetchall(), schema=names, orient="row")


def old_rule_hidden(path: Path) -> int:
    """Cells the earlier "exactly one hidden member" rule hides, on the same cells and families
    (the rule the disclosure audit shows to be unsafe), for comparison."""
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute(
            "SELECT s.cell_id, c.* FROM core.cell_suppression AS s JOIN ("
            " SELECT concat_ws('|', 'category', grain, period, department, category) AS cell_id,"
            " 'category' AS kind, grain, period, week_start, department, category,"
            " NULL AS model_version, NULL AS topic_id, prompts, users, min_users, small_group"
            " FROM core.category_cells WHERE prompts > 0 UNION ALL"
            " SELECT concat_ws('|', 'topic', grain, period, model_version, topic_id), 'topic',"
            " grain, period, week_start, '(all)', topic_category, model_version, topic_id,"
            " prompts, users, min_users, small_group FROM core.topic_cells WHERE prompts > 0"
            ") AS c USING (cell_id)"
        )
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    by_week: dict[date, dict[str, Cell]] = defaultdict(dict)
    for row in rows:
        values = dict(zip(names, row, strict=True))
        values.pop("cell_id_1", None)
        cell = Cell(**{k: values[k] for k in Cell.__dataclass_fields__ if k != "suppressed"})
        by_week[cell.week_start][cell.cell_id] = cell
    hidden = 0
    for cells in by_week.values():
        for cell in cells.values():
            cell.suppressed = cell.small_group
        week_families = [f for f in families(cells) if f.name != "department totals"]
        changed = True
        while changed:
            changed = False
            for family in week_families:
                published = (
                    not cells[family.parent].suppressed
                    if family.parent
                    else any(not cells[c].suppressed for c in family.total_of)
                )
                hidden_children = [c for c in family.children if cells[c].suppressed]
                if not published or len(hidden_children) != 1:
                    continue
                visible = sorted(
                    (cells[c] for c in family.children if not cells[c].suppressed),
                    key=lambda c: (c.prompts, c.cell_id),
                )
                if visible:
                    visible[0].suppressed = True
                elif family.parent:
                    cells[family.parent].suppressed = True
                else:
                    continue
                changed = True
        hidden += sum(c.suppressed for c in cells.values())
    return hidden


def laplace_usable(path: Path, epsilon: float, cap: int) -> tuple[int, int, float] | None:
    """With opendp: the non-empty category cells whose Laplace-noised prompt count keeps a
    relative error under 20% at 95% confidence, of all; and the noise scale. Each release (one
    cell) spends ``epsilon`` with a person's prompts in a cell capped at ``cap`` (the
    sensitivity the noise is calibrated to)."""
    try:
        import opendp.prelude as dp
    except ImportError:
        return None
    dp.enable_features("contrib")
    measurement = dp.m.make_laplace(
        dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float), scale=cap / epsilon
    )
    scale = cap / epsilon
    assert measurement.map(cap) <= epsilon + 1e-9
    half_width = scale * math.log(1 / 0.05)
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE prompts >= ?) FROM core.category_cells "
            "WHERE prompts > 0",
            [half_width / 0.2],
        ).fetchone()
    assert row is not None
    return int(row[1]), int(row[0]), scale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--epsilon", type=float, default=1.0)
    parser.add_argument("--cap", type=int, default=5, help="prompts per person and cell")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        frame, categories = demo_frame(home / "demo", args.days, args.seed)
        started = time.perf_counter()
        path = publish(home, frame, categories)
        seconds = time.perf_counter() - started
        with duckdb.connect(str(path)) as con:
            findings = disclosure_audit.audit(con, since=date.min)
        table = visibility(path)
        print(f"{frame.height} prompts, {args.days} days; published in {seconds:.1f} s")
        print(f"disclosure audit findings: {len(findings)}")
        with pl.Config(tbl_rows=20, tbl_width_chars=120):
            print(table)
        total = int(table.get_column("cells").sum())
        visible = int(table.get_column("visible").sum())
        small = int(table.get_column("small_groups").sum())
        print(
            f"visible {visible} of {total} cells ({visible / total:.1%}); "
            f"primary suppression alone would leave {total - small} ({(total - small) / total:.1%})"
        )
        old = old_rule_hidden(path)
        print(f"the earlier exactly-one rule would leave {total - old} visible (unsafe)")
        noise = laplace_usable(path, args.epsilon, args.cap)
        if noise is None:
            print("opendp not installed: no comparison with calibrated noise")
        else:
            usable, cells, scale = noise
            print(
                f"Laplace noise at epsilon={args.epsilon} per release, {args.cap} prompts per "
                f"person and cell (scale {scale:.1f}): "
                f"{usable} of {cells} category cells within 20% at 95%"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
