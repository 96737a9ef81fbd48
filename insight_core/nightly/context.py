"""What the nightly run's stages hand each other: the run's identity and small, typed
references to the files each stage wrote."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import ClassVar, Literal

from insight_core.settings import InsightSettings

TopicMode = Literal["auto", "fit", "infer"]


@dataclass(frozen=True)
class CrashedRun:
    """A run whose process died mid-run, found and cleaned up by a later run."""

    run_id: str
    flow_run_id: str | None
    mlflow_run_id: str | None


@dataclass(frozen=True)
class RunContext:
    """Identity and configuration of one run, passed to every stage."""

    run_id: str
    run_date: date
    source: str
    mode: TopicMode
    settings: InsightSettings
    work_dir: Path
    started_at: datetime
    flow_run_id: str | None = None
    mlflow_run_id: str | None = None
    # Runs found dead when this one began: recorded as crashed here, left for the flow to
    # mark in Prefect (insight_core never talks to Prefect).
    crashed_runs: tuple[CrashedRun, ...] = ()
    # The operator allows the run to leave its date with fewer prompts than are loaded.
    replace: bool = False

    def with_tracking(self, mlflow_run_id: str) -> RunContext:
        return replace(self, mlflow_run_id=mlflow_run_id)

    def path(self, name: str) -> Path:
        return self.work_dir / name


@dataclass(frozen=True, kw_only=True)
class StageChunk:
    """One chunk of the batch as a file written by a stage; subclasses add what the stage
    counted, as typed fields (a typo fails at type check, not in the last stage)."""

    stage: ClassVar[str]
    index: int
    path: Path
    rows: int
    seconds: float
    # Wall-clock end of the work; with ``seconds`` it places the chunk on the run's timeline.
    finished_at: float = field(default_factory=time.time)


@dataclass(frozen=True, kw_only=True)
class ValidatedChunk(StageChunk):
    """Valid rows of a chunk (raw text); its quarantined rows are in ``quarantine_file``.

    After deduplication: only new rows, with conflicting repeats in ``conflict_file``
    (counted in ``rows_quarantined``) and plain repeats counted in ``rows_duplicate``.
    """

    stage: ClassVar[str] = "validate"
    quarantine_file: Path
    rows_quarantined: int
    rows_in: int
    conflict_file: Path | None = None
    rows_duplicate: int = 0


@dataclass(frozen=True, kw_only=True)
class RedactedChunk(StageChunk):
    stage: ClassVar[str] = "redact"
    rows_pii_redacted: int


@dataclass(frozen=True, kw_only=True)
class EmbeddedChunk(StageChunk):
    stage: ClassVar[str] = "embed"
    rows_embedded_new: int


@dataclass(frozen=True, kw_only=True)
class TopicChunk(StageChunk):
    stage: ClassVar[str] = "topics"
    outliers: int


@dataclass(frozen=True, kw_only=True)
class ClassifiedChunk(StageChunk):
    stage: ClassVar[str] = "categories"
    by_rule: int
    categories: dict[str, int]
    # With the embedding cascade: prompts the static model was unsure of (transformer-embedded).
    rows_escalated: int = 0


@dataclass(frozen=True)
class IngestResult:
    staged_file: Path
    rows_read: int  # rows staged + lines/files rejected as unreadable
    bounds: list[tuple[int, int]]
    seconds: float
    # Unreadable lines/files, as quarantine records (counted as read and quarantined).
    rejected_file: Path | None = None
    rows_rejected: int = 0
    lines_bytes_replaced: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ModelChoice:
    version: str  # bundle version, stored with every classification
    fitted: bool
    seconds: float
    registry_version: str | None = None  # MLflow registered model version


@dataclass(frozen=True)
class NightOutputs:
    """What the stages before the publication wrote, handed to it."""

    staged: IngestResult
    validated: Sequence[ValidatedChunk]
    redacted: Sequence[RedactedChunk]
    embedded: Sequence[EmbeddedChunk]
    topics: Sequence[TopicChunk]
    classified: Sequence[ClassifiedChunk]
    model: ModelChoice
