"""The run summary: what a nightly run did, for people (markdown, one progress line) and for
machines (a dict for MLflow and Prefect)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from insight_core.nightly.run_record import RunRecord


@dataclass(frozen=True)
class RunSummary:
    """What a run did: counts, timings, categories and where the results are."""

    run_id: str
    run_date: str
    status: str
    mode: str
    warehouse: str
    model_version: str | None = None
    model_fitted: bool = False
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rows_pii_redacted: int = 0
    rows_embedded_new: int = 0
    # Embedding cascade only: prompts sent on to the transformer (None without the cascade).
    rows_escalated: int | None = None
    outlier_share: float = 0.0
    rule_share: float = 0.0
    category_counts: dict[str, int] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    total_seconds: float = 0.0
    prompts_per_second: float = 0.0
    flow_run_id: str | None = None
    mlflow_run_id: str | None = None
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    # Lines whose invalid UTF-8 bytes were replaced (rows kept) and what the operator should
    # know although the run succeeded (no rows, unreadable lines or files).
    lines_bytes_replaced: int = 0
    warnings: list[str] = field(default_factory=list)
    # Of ``warnings``, those that came after the publication (not yet in ops.runs).
    late_warnings: list[str] = field(default_factory=list)
    # Alerts this run raised for the first time (rows of analytics.alerts, JSON-ready).
    new_alerts: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_record(cls, record: RunRecord, warehouse: str, **more: Any) -> RunSummary:
        """The summary of a run from its ``ops.runs`` record, with what only the summary holds
        (``more``: the model's fit, category counts, whole-stage timings, alerts...)."""
        shared: dict[str, Any] = {
            "run_id": record.run_id,
            "run_date": record.run_date.isoformat(),
            "status": record.status,
            "mode": record.mode,
            "warehouse": warehouse,
            "model_version": record.model_version,
            "rows_read": record.rows_read or 0,
            "rows_loaded": record.rows_loaded or 0,
            "rows_quarantined": record.rows_quarantined or 0,
            "rows_duplicate": record.rows_duplicate or 0,
            "rows_pii_redacted": record.rows_pii_redacted or 0,
            "rows_embedded_new": record.rows_embedded_new or 0,
            "outlier_share": record.outlier_share or 0.0,
            "rule_share": record.rule_share or 0.0,
            "total_seconds": record.total_seconds or 0.0,
            "prompts_per_second": record.prompts_per_second or 0.0,
            "flow_run_id": record.flow_run_id,
            "mlflow_run_id": record.mlflow_run_id,
            "error": record.error,
            "warnings": list(record.warnings),
        }
        return cls(**{**shared, **more})

    def with_late_warning(self, warning: str) -> RunSummary:
        """This summary with one more warning from after the publication."""
        return replace(
            self,
            warnings=[*self.warnings, warning],
            late_warnings=[*self.late_warnings, warning],
        )

    def as_dict(self) -> dict[str, Any]:
        """The summary as plain data (MLflow's run_summary.json, Prefect)."""
        return asdict(self)

    def progress_line(self) -> str:
        """One line per night for progress output (the demo, backfills)."""
        return (
            f"{self.run_date}: read {self.rows_read}, loaded {self.rows_loaded}, quarantined "
            f"{self.rows_quarantined}, duplicates {self.rows_duplicate}, "
            f"{self.prompts_per_second:.0f} prompts/s"
            + (f", fitted model {self.model_version}" if self.model_fitted else "")
        )

    def to_markdown(self) -> str:
        """Human-readable run summary (Prefect artifact, MLflow artifact, CLI)."""
        lines = [
            f"# Insight run {self.run_id} ({self.run_date}): {self.status}",
            "",
            "| stage | rows | seconds |",
            "|---|---:|---:|",
            f"| read | {self.rows_read} | {self.stage_seconds.get('ingest', 0):.2f} |",
            f"| quarantined | {self.rows_quarantined} | |",
            f"| duplicates skipped | {self.rows_duplicate} | |",
            f"| PII redacted (prompts) | {self.rows_pii_redacted} | "
            f"{self.stage_seconds.get('redact', 0):.2f} |",
            f"| embedded (new) | {self.rows_embedded_new} | "
            f"{self.stage_seconds.get('embed', 0):.2f} |",
            *(
                [f"| sent on to the transformer (cascade) | {self.rows_escalated} | |"]
                if self.rows_escalated is not None
                else []
            ),
            f"| loaded | {self.rows_loaded} | {self.stage_seconds.get('aggregate', 0):.2f} |",
            "",
            f"Model `{self.model_version}` "
            f"({'fitted this run' if self.model_fitted else 'inference'}); "
            f"outlier share {self.outlier_share:.1%}; decided by rules {self.rule_share:.1%}; "
            f"{self.prompts_per_second:.0f} prompts/s end to end ({self.total_seconds:.1f}s).",
            "",
            "| category | prompts |",
            "|---|---:|",
            *[
                f"| {c} | {n} |"
                for c, n in sorted(self.category_counts.items(), key=lambda kv: -kv[1])
            ],
        ]
        if self.warnings:
            lines += ["", "Warnings:", "", *[f"- {w}" for w in self.warnings]]
        if self.quarantine_reasons:
            lines += [
                "",
                "| quarantine reason | rows |",
                "|---|---:|",
                *[f"| {r} | {n} |" for r, n in sorted(self.quarantine_reasons.items())],
            ]
        if self.new_alerts:
            lines += [
                "",
                f"New alerts ({len(self.new_alerts)}):",
                "",
                *[f"- {a.get('headline')}" for a in self.new_alerts],
            ]
        lines += [
            "",
            f"Warehouse: `{self.warehouse}`",
            f"MLflow run: `{self.mlflow_run_id}`  Prefect flow run: `{self.flow_run_id}`",
        ]
        if self.error:
            lines += ["", f"Error: {self.error}"]
        return "\n".join(lines) + "\n"
