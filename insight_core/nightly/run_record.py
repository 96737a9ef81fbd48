"""A run's row of ``ops.runs``, typed: the one definition its catalog row, its journal line and
its summary (and so its MLflow record) are made from."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any

from insight_core.nightly.context import RunContext


@dataclass(frozen=True, kw_only=True)
class RunRecord:
    """What ``ops.runs`` holds of one run; fields left ``None`` are stored as NULL."""

    run_id: str
    run_date: date
    status: str
    mode: str | None = None
    source: str | None = None
    flow_run_id: str | None = None
    mlflow_run_id: str | None = None
    model_version: str | None = None
    registry_version: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    rows_read: int | None = None
    rows_loaded: int | None = None
    rows_quarantined: int | None = None
    rows_duplicate: int | None = None
    rows_pii_redacted: int | None = None
    rows_embedded_new: int | None = None
    outlier_share: float | None = None
    rule_share: float | None = None
    # Seconds per stage, rounded to the millisecond; stored as JSON.
    stage_seconds: dict[str, float] | None = None
    total_seconds: float | None = None
    prompts_per_second: float | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def unpublished(
        cls, ctx: RunContext, status: str, error: str, finished_at: datetime
    ) -> RunRecord:
        """A run that ended without publishing (failed or cancelled)."""
        return cls(
            run_id=ctx.run_id,
            run_date=ctx.run_date,
            status=status,
            mode=ctx.mode,
            source=ctx.source,
            flow_run_id=ctx.flow_run_id,
            mlflow_run_id=ctx.mlflow_run_id,
            started_at=ctx.started_at,
            finished_at=finished_at,
            error=error,
            total_seconds=(finished_at - ctx.started_at).total_seconds(),
        )

    def as_row(self) -> dict[str, Any]:
        """The record as the warehouse functions take it: column name to value."""
        row = {f.name: getattr(self, f.name) for f in fields(self)}
        if self.stage_seconds is not None:
            row["stage_seconds"] = json.dumps(self.stage_seconds)
        row["warnings"] = list(self.warnings)
        return row


def warnings_update(run_id: str, warnings: list[str]) -> dict[str, Any]:
    """An ``ops.runs`` update that only adds warnings to run ``run_id`` (no outcome)."""
    return {"run_id": run_id, "warnings": warnings}
