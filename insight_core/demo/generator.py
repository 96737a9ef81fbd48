"""Synthetic GenAI prompt logs for ``insight demo``: a month at a fictional company.

:func:`generate_demo_logs` writes one JSON Lines file per day and the truth about them:
``labels.csv`` (the true category of every valid prompt) and ``ground_truth.json`` (the three
trend events planted in the month, the bad rows, the duplicates and every fake PII string).
The demo and the tests use that truth to check that the pipeline finds the events, quarantines
the bad rows, skips the duplicates and lets no PII into the warehouse.

The company (departments, activity, event parameters) is ``resources/company.yaml``
(:mod:`insight_core.demo.scenario`); the wording comes from the phrase bank in
``resources/`` (:mod:`insight_core.demo.phrase_bank`), varied by
:mod:`insight_core.demo.writer`; :mod:`insight_core.demo.month` draws the days and
:mod:`insight_core.demo.truth` writes down what was planted. Counts and times are drawn from
a NumPy generator and wording from a ``random.Random``, both seeded with ``seed``, so a seed
always gives identical files.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from insight_core.demo.company import EventPlan, plan_events
from insight_core.demo.month import MonthGenerator
from insight_core.demo.phrase_bank import PhraseBank, load_phrase_bank
from insight_core.demo.scenario import (
    CATEGORIES,
    DEPARTMENT_NAMES,
    DEPARTMENTS,
    TOOLS,
    Department,
)
from insight_core.demo.truth import ground_truth
from insight_core.demo.writer import add_typos

__all__ = [
    "CATEGORIES",
    "DEPARTMENTS",
    "DEPARTMENT_NAMES",
    "TOOLS",
    "DemoDataset",
    "Department",
    "PhraseBank",
    "add_typos",
    "generate_demo_logs",
    "generate_prompt_records",
    "load_phrase_bank",
]


@dataclass(frozen=True)
class DemoDataset:
    """Where :func:`generate_demo_logs` wrote a demo month, and how many rows it holds."""

    root: Path
    log_files: list[Path]
    dates: list[date]
    ground_truth_file: Path
    labels_file: Path
    n_prompts: int


def generate_demo_logs(
    out_dir: Path, start: date, days: int = 30, seed: int = 7, n_users: int = 600
) -> DemoDataset:
    """Write ``days`` daily JSON Lines logs from ``start`` plus labels and ground truth.

    Files: ``<out_dir>/logs/YYYY-MM-DD.jsonl`` (stale files of that name pattern in the folder
    are removed first), ``<out_dir>/labels.csv`` and ``<out_dir>/ground_truth.json``.

    Event days, counted from ``start`` (day 0), for runs of 30 days or more: the VPN outage on
    the first weekday from day 9 (so in the second week), burnout rising linearly from day 14
    to 5x on day 27 and staying there, and the SQL surge from the first weekday from day 12.
    Shorter runs squeeze these positions in proportion; runs under 3 days have no events.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    if n_users < len(DEPARTMENTS):
        raise ValueError(f"n_users must be at least {len(DEPARTMENTS)} (one per department)")
    out_dir = Path(out_dir)
    logs_dir = out_dir / "logs"
    logs_dir.mkdir(parents=True, exist_ok=True)
    for stale in logs_dir.glob("????-??-??.jsonl"):
        stale.unlink()

    plan = plan_events(start, days)
    generator = MonthGenerator(seed, n_users, plan)
    dates = [start + timedelta(days=offset) for offset in range(days)]
    log_files: list[Path] = []
    labels: list[tuple[str, str]] = []
    n_rows = 0
    for offset, day in enumerate(dates):
        rows, day_labels = generator.day(offset, day)
        path = logs_dir / f"{day.isoformat()}.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for record in rows:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        log_files.append(path)
        labels.extend(day_labels)
        n_rows += len(rows)

    labels_file = out_dir / "labels.csv"
    with labels_file.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prompt_id", "category"])
        writer.writerows(labels)

    truth = ground_truth(generator, start, dates, n_rows, len(labels))
    ground_truth_file = out_dir / "ground_truth.json"
    ground_truth_file.write_text(
        json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return DemoDataset(
        root=out_dir,
        log_files=log_files,
        dates=dates,
        ground_truth_file=ground_truth_file,
        labels_file=labels_file,
        n_prompts=n_rows,
    )


def generate_prompt_records(n: int, run_date: date, seed: int = 0) -> list[dict[str, Any]]:
    """n clean, valid records all timestamped on run_date (for benchmarks).

    No bad rows, duplicates or trend events; prompt ids are unique. Texts have the same mix
    as the demo month, including its ~3% of fake PII, so redaction is exercised too.
    """
    if n < 0:
        raise ValueError("n must not be negative")
    generator = MonthGenerator(seed, 600, EventPlan.none())
    return generator.sample_records(n, run_date)
