"""Prefect task of the demo flow: generating the fictional company's logs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from insight_core.demo.generator import DemoDataset
from insight_core.demo.generator import generate_demo_logs as generate
from tasks.policy import project_task


@project_task("generate-demo-logs")
def generate_demo_logs(out_dir: Path, start: date, days: int, seed: int, users: int) -> DemoDataset:
    return generate(out_dir, start, days, seed, users)
