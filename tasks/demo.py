"""Prefect task of the demo flow: generating the fictional company's logs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import task

from insight_core.demo.generator import DemoDataset
from insight_core.demo.generator import generate_demo_logs as generate
from tasks.nightly import PLAIN


@task(name="generate-demo-logs", **PLAIN)
def generate_demo_logs(out_dir: Path, start: date, days: int, seed: int, users: int) -> DemoDataset:
    return generate(out_dir, start, days, seed, users)
