"""Stage 7 of the nightly run: reconcile the night's counts, publish its date in one
transaction and keep its texts for later refits."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from insight_core import warehouse
from insight_core.errors import InsightError, disk_full_names
from insight_core.modelling.bundle import BundleCatalogue
from insight_core.nightly.context import (
    ClassifiedChunk,
    NightOutputs,
    RedactedChunk,
    RunContext,
    StageChunk,
)
from insight_core.nightly.run_record import RunRecord
from insight_core.nightly.stage_files import (
    ids_looked_up_in,
    names_full_disk,
)
from insight_core.nightly.summary import RunSummary
from insight_core.nlp.taxonomy import load_taxonomy
from insight_core.runtime import (
    model_bundle_catalogue,
)

log = logging.getLogger(__name__)


def _stage_seconds(*groups: Sequence[StageChunk]) -> dict[str, float]:
    """Wall-clock seconds per stage: from its first chunk's start to its last chunk's end.

    Chunks of a stage run concurrently, so summing their durations would overstate the time.
    """
    spans: dict[str, tuple[float, float]] = {}
    for group in groups:
        for chunk in group:
            start, end = chunk.finished_at - chunk.seconds, chunk.finished_at
            first, last = spans.get(chunk.stage, (start, end))
            spans[chunk.stage] = (min(first, start), max(last, end))
    return {stage: end - start for stage, (start, end) in spans.items()}


@dataclass(frozen=True)
class Publication:
    """A night ready to publish: its ``ops.runs`` record (timed up to the publication) and
    what only its summary holds."""

    record: RunRecord
    bundle: BundleCatalogue
    quarantine_files: list[Path]
    quarantine_reasons: dict[str, int]
    category_counts: dict[str, int]
    # Unrounded seconds per stage, the aggregate stage's up to the publication.
    stage_seconds: dict[str, float]
    started: float  # time.perf_counter() when the stage began

    @property
    def rows_loaded(self) -> int:
        """Prompts the publication loads."""
        return self.record.rows_loaded or 0


@dataclass(frozen=True)
class _RowCounts:
    loaded: int
    quarantined: int
    duplicate: int


@names_full_disk
def prepare_publication(ctx: RunContext, night: NightOutputs) -> Publication:
    """Stage 7a: reconcile the night's counts and make its ``ops.runs`` record."""
    started = time.perf_counter()
    # Read without the models, which a large night releases before publishing.
    bundle = model_bundle_catalogue(ctx.settings, night.model.version)
    quarantine_files = _quarantine_files(night)
    reasons = _quarantine_reasons(quarantine_files)
    counts = _reconciled_counts(night)
    categories: Counter[str] = Counter()
    for chunk in night.classified:
        categories.update(chunk.categories)
    stage_seconds = _night_stage_seconds(night)
    record = _published_record(ctx, night, counts, stage_seconds)
    # The record holds the time up to publication; the summary gets the whole stage.
    stage_seconds["aggregate"] = time.perf_counter() - started
    finished = datetime.now(UTC)
    total = (finished - ctx.started_at).total_seconds()
    record = replace(
        record,
        finished_at=finished,
        stage_seconds={k: round(v, 3) for k, v in stage_seconds.items()},
        total_seconds=total,
        prompts_per_second=night.staged.rows_read / total if total > 0 else 0.0,
    )
    return Publication(
        record=record,
        bundle=bundle,
        quarantine_files=quarantine_files,
        quarantine_reasons=dict(reasons),
        category_counts=dict(categories),
        stage_seconds=stage_seconds,
        started=started,
    )


@names_full_disk
def publish(ctx: RunContext, night: NightOutputs, publication: Publication) -> RunSummary:
    """Stage 7b: write the date in one transaction, rebuild trends, check, publish; then keep
    the night's texts. Exactly once per run: a retry after the publication publishes nothing."""
    settings = ctx.settings
    if warehouse.run_published(settings.warehouse_file, ctx.run_id):
        log.warning("run %s already published its date: not publishing again", ctx.run_id)
        published = {"new_alerts": warehouse.published_alerts(settings.warehouse_file, ctx.run_id)}
    else:
        published = _publish(ctx, night.classified, publication)
    late_warnings = _keep_texts(ctx, night.redacted)
    stage_seconds = {
        **publication.stage_seconds,
        "aggregate": time.perf_counter() - publication.started,
    }
    return RunSummary.from_record(
        publication.record,
        str(settings.warehouse_file),
        model_fitted=night.model.fitted,
        rows_escalated=(
            sum(c.rows_escalated for c in night.classified) if publication.bundle.cascade else None
        ),
        category_counts=publication.category_counts,
        stage_seconds={k: round(v, 3) for k, v in stage_seconds.items()},
        quarantine_reasons=publication.quarantine_reasons,
        new_alerts=list(published.get("new_alerts", [])),
        lines_bytes_replaced=night.staged.lines_bytes_replaced,
        warnings=[*night.staged.warnings, *late_warnings],
        late_warnings=late_warnings,
    )


def _quarantine_files(night: NightOutputs) -> list[Path]:
    files = [c.quarantine_file for c in night.validated] + [
        c.conflict_file for c in night.validated if c.conflict_file is not None
    ]
    if night.staged.rejected_file is not None:
        files.append(night.staged.rejected_file)
    return files


def _quarantine_reasons(quarantine_files: Sequence[Path]) -> Counter[str]:
    quarantine = (
        pl.concat([pl.read_parquet(p) for p in quarantine_files])
        if quarantine_files
        else pl.DataFrame(schema={"failed_checks": pl.List(pl.String)})
    )
    return Counter(r for checks in quarantine.get_column("failed_checks").to_list() for r in checks)


def _reconciled_counts(night: NightOutputs) -> _RowCounts:
    """Loaded, quarantined and duplicate rows; an error unless they add up to the rows read."""
    staged, validated = night.staged, night.validated
    rows_loaded = sum(c.rows for c in night.classified)
    rows_quarantined = staged.rows_rejected + sum(c.rows_quarantined for c in validated)
    rows_duplicate = sum(c.rows_duplicate for c in validated)
    if staged.rows_read != rows_loaded + rows_quarantined + rows_duplicate:
        raise InsightError(
            f"rows do not reconcile: read {staged.rows_read} != loaded {rows_loaded} + "
            f"quarantined {rows_quarantined} + duplicates {rows_duplicate}"
        )
    return _RowCounts(rows_loaded, rows_quarantined, rows_duplicate)


def _night_stage_seconds(night: NightOutputs) -> dict[str, float]:
    stage_seconds = {
        "ingest": night.staged.seconds,
        **_stage_seconds(
            night.validated, night.redacted, night.embedded, night.topics, night.classified
        ),
    }
    stage_seconds["topics"] = stage_seconds.get("topics", 0.0) + night.model.seconds
    return stage_seconds


def _published_record(
    ctx: RunContext, night: NightOutputs, counts: _RowCounts, stage_seconds: dict[str, float]
) -> RunRecord:
    """The night's ``ops.runs`` record, before its end is timed."""
    outliers = sum(c.outliers for c in night.topics)
    by_rule = sum(c.by_rule for c in night.classified)
    loaded = counts.loaded
    return RunRecord(
        run_id=ctx.run_id,
        run_date=ctx.run_date,
        status="succeeded",
        mode=ctx.mode,
        source=ctx.source,
        flow_run_id=ctx.flow_run_id,
        mlflow_run_id=ctx.mlflow_run_id,
        model_version=night.model.version,
        registry_version=night.model.registry_version,
        started_at=ctx.started_at,
        rows_read=night.staged.rows_read,
        rows_loaded=loaded,
        rows_quarantined=counts.quarantined,
        rows_duplicate=counts.duplicate,
        rows_pii_redacted=sum(c.rows_pii_redacted for c in night.redacted),
        rows_embedded_new=sum(c.rows_embedded_new for c in night.embedded),
        outlier_share=outliers / loaded if loaded else 0.0,
        rule_share=by_rule / loaded if loaded else 0.0,
        warnings=list(night.staged.warnings),
    )


def _model_row(bundle: BundleCatalogue, registry_version: str | None) -> dict[str, Any]:
    """The ``ops.model_versions`` row of the night's model."""
    manifest = bundle.manifest
    return {
        "model_version": bundle.version,
        "registry_version": registry_version,
        "created_at": manifest.get("created_at"),
        "embedding_model": manifest.get("embedding_model"),
        "taxonomy_version": manifest.get("taxonomy_version"),
        "rules_hash": manifest.get("rules_hash"),
        "n_training_docs": manifest.get("n_training_docs"),
        "n_topics": manifest.get("n_topics"),
        "outlier_share": manifest.get("outlier_share"),
        "manifest": json.dumps(manifest, default=str),
    }


def _publish(
    ctx: RunContext, classified: Sequence[ClassifiedChunk], publication: Publication
) -> dict[str, Any]:
    settings = ctx.settings
    bundle = publication.bundle
    taxonomy = load_taxonomy(settings.taxonomy_file)
    return warehouse.publish_run(
        settings.warehouse_file,
        warehouse.PublishRequest(
            run_date=ctx.run_date,
            run_id=ctx.run_id,
            classified_files=[c.path for c in classified],
            quarantine_files=publication.quarantine_files,
            topics=bundle.topics.with_columns(pl.lit(bundle.version).alias("model_version")),
            model_version_row=_model_row(bundle, publication.record.registry_version),
            run_record=publication.record.as_row(),
            thresholds={"*": settings.min_group_size, **settings.min_group_size_by_category},
            categories=taxonomy.descriptions,
            taxonomy_version=taxonomy.version,
            ids_looked_up_in=ids_looked_up_in(ctx),
            replace=ctx.replace,
        ),
        analyst_copy=settings.analyst_warehouse_file,
        memory_limit=settings.warehouse_memory_limit,
    )


def _keep_texts(ctx: RunContext, redacted: Sequence[RedactedChunk]) -> list[str]:
    """:func:`_store_texts` after the publication: a failure is a warning, never a failed run
    (the date is published; only later refits and duplicate checks miss its texts)."""
    try:
        with disk_full_names(ctx.settings.texts_dir):
            _store_texts(ctx, redacted)
    except Exception as error:
        with contextlib.suppress(OSError):  # no folder, or the disk that failed: best effort
            _texts_temp(ctx).unlink(missing_ok=True)
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        warning = f"the redacted texts of {ctx.run_date} were not kept: {first_line}"
        log.error("%s (the run is published and stays succeeded)", warning)
        return [warning]
    return []


def _texts_temp(ctx: RunContext) -> Path:
    return ctx.settings.texts_dir / f".{ctx.run_date:%Y-%m-%d}.{ctx.run_id}.parquet"


def _store_texts(ctx: RunContext, redacted: Sequence[RedactedChunk]) -> None:
    """Keep the date's texts (outside the warehouse) for later topic refits, in their kept form
    (:func:`kept_text`: only words that cannot name a person or hold a secret)."""
    target_dir = ctx.settings.texts_dir
    target_dir.mkdir(parents=True, exist_ok=True)
    # user_hash lets refits count how many distinct users use a topic word.
    columns = ["prompt_id", "text", "user_hash"]
    tmp = _texts_temp(ctx)
    if redacted:
        # Streamed in row groups of a chunk: a night's texts never sit in memory at once.
        # polars' default row groups hold several times a chunk's texts at the end of a
        # large night; a chunk's size is as fast (docs/benchmarks.md).
        pl.scan_parquet([c.path for c in redacted]).select(
            "prompt_id", pl.col("kept_text").alias("text"), "user_hash"
        ).sink_parquet(tmp, row_group_size=ctx.settings.chunk_size)
    else:
        pl.DataFrame(schema=dict.fromkeys(columns, pl.String)).write_parquet(tmp)
    tmp.replace(target_dir / f"{ctx.run_date:%Y-%m-%d}.parquet")
