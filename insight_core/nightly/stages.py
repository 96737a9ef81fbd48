"""The nightly run's stages, one function each, with their file I/O at the edges.

Each Prefect task in ``tasks/`` calls exactly one function here. Stages hand each other small
references to Parquet/NumPy files in the run's work folder rather than frames, so chunks can
fan out over workers and memory stays flat however large the batch is. The work folder holds
unredacted input only transiently and is deleted when the run ends, failed or not.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from insight_core import warehouse
from insight_core.errors import ConfigError, InsightError
from insight_core.lifecycle.champion import train_champion
from insight_core.nlp.decision import decide_categories, embed_views
from insight_core.nlp.embed import embed_with_cache
from insight_core.nlp.taxonomy import load_taxonomy
from insight_core.nlp.topics import OUTLIER_LABEL
from insight_core.prep.ingest import (
    ColumnDefaults,
    chunk_bounds,
    parse_timestamps,
    read_chunk,
    rejected_frame,
)
from insight_core.prep.ingest import stage_source as stage_source_file
from insight_core.prep.redact import hash_user_id, redact_frame, redact_text, resolve_hash_secret
from insight_core.prep.validate import (
    CONFLICTING_DUPLICATE,
    classify_repeats,
    quarantine_rows,
    validate_chunk,
)
from insight_core.registry import open_tracker
from insight_core.runtime import (
    champion_bundle_version,
    get_embedder,
    load_decision_config,
    load_model_bundle,
    open_embedding_cache,
    require_champion,
)
from insight_core.settings import DEMO_USER_HASH_SECRET, InsightSettings
from schemas.classified import CLASSIFIED_SCHEMA

log = logging.getLogger(__name__)

TopicMode = Literal["auto", "fit", "infer"]
_EMBED_LOCK = threading.Lock()


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

    def with_tracking(self, mlflow_run_id: str) -> RunContext:
        return replace(self, mlflow_run_id=mlflow_run_id)

    def path(self, name: str) -> Path:
        return self.work_dir / name


@dataclass(frozen=True)
class ChunkFile:
    """A chunk of the batch as a file written by a stage."""

    index: int
    path: Path
    rows: int
    seconds: float
    stage: str
    extra: dict[str, Any] = field(default_factory=dict)
    # Wall-clock end of the work; with ``seconds`` it places the chunk on the run's timeline.
    finished_at: float = field(default_factory=time.time)


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


def _hash_secret(settings: InsightSettings) -> str:
    secret = settings.user_hash_secret.get_secret_value() if settings.user_hash_secret else None
    return resolve_hash_secret(secret, settings.demo_mode, DEMO_USER_HASH_SECRET)


def default_run_date(settings: InsightSettings) -> date:
    """Yesterday in the schedule's timezone: the night a scheduled run processes."""
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(settings.schedule_timezone)).date() - timedelta(days=1)


def begin_run(
    settings: InsightSettings,
    run_date: date | None,
    source: str | None,
    mode: TopicMode = "auto",
    flow_run_id: str | None = None,
) -> RunContext:
    """Check what can be checked up front and open the run's work folder.

    ``run_date`` defaults to yesterday and ``source`` to the ``INSIGHT_SOURCE`` setting, so a
    scheduled deployment needs no parameters.
    """
    run_date = run_date or default_run_date(settings)
    source = source or settings.source
    if not source:
        raise ConfigError(
            "no source given: pass --source or set INSIGHT_SOURCE "
            "(e.g. '/data/prompt-logs/{date}.jsonl')"
        )
    if mode not in ("auto", "fit", "infer"):
        raise InsightError(f"unknown topic mode '{mode}' (use auto, fit or infer)")
    _hash_secret(settings)  # fail before any work when the key is missing
    if mode == "infer":
        require_champion(settings)
    run_id = f"{run_date:%Y%m%d}-{uuid.uuid4().hex[:10]}"
    work_dir = settings.runs_dir / run_id
    work_dir.mkdir(parents=True, exist_ok=True)
    log.info("run %s for %s from %s (mode %s)", run_id, run_date, source, mode)
    return RunContext(
        run_id, run_date, source, mode, settings, work_dir, datetime.now(UTC), flow_run_id
    )


def ingest(ctx: RunContext) -> IngestResult:
    """Stage 1: stream the night's source into contract form, in chunks."""
    started = time.perf_counter()
    settings = ctx.settings
    staged = ctx.path("staged.parquet")
    outcome = stage_source_file(
        ctx.source,
        ctx.run_date,
        staged,
        settings.column_mapping,
        ColumnDefaults(
            settings.default_department, settings.default_user_id, settings.default_tool
        ),
        settings.timezone,
        settings.chunk_size,
    )
    log.info("read %d rows from %s", outcome.rows_read, ctx.source)
    rejected_file = ctx.path("ingest.quarantine.parquet")
    rejected_frame(outcome.rejected).write_parquet(rejected_file)
    return IngestResult(
        staged,
        outcome.rows_read,
        chunk_bounds(outcome.rows_staged, settings.chunk_size),
        time.perf_counter() - started,
        rejected_file=rejected_file,
        rows_rejected=len(outcome.rejected),
        lines_bytes_replaced=outcome.lines_bytes_replaced,
        warnings=list(outcome.warnings),
    )


def _redacted_quarantine(quarantine: pl.DataFrame, secret: str) -> pl.DataFrame:
    def clean(record_json: str) -> str:
        record = json.loads(record_json)
        if isinstance(record.get("text"), str):
            record["text"] = redact_text(record["text"])
        if record.get("user_id") is not None:
            record["user_hash"] = hash_user_id(str(record.pop("user_id")), secret)
        return json.dumps(record, ensure_ascii=False)

    return quarantine.with_columns(pl.col("record").map_elements(clean, return_dtype=pl.String))


def validate(ctx: RunContext, staged: IngestResult, index: int) -> ChunkFile:
    """Stage 2a: validate one chunk; invalid rows go to a (redacted) quarantine file."""
    started = time.perf_counter()
    offset, length = staged.bounds[index]
    settings = ctx.settings
    raw = parse_timestamps(read_chunk(staged.staged_file, offset, length), settings.timezone)
    outcome = validate_chunk(
        raw, ctx.run_date, settings.timezone, settings.max_text_chars, settings.department_pattern
    )
    valid_file = ctx.path(f"chunk-{index:04d}.valid.parquet")
    quarantine_file = ctx.path(f"chunk-{index:04d}.quarantine.parquet")
    outcome.valid.write_parquet(valid_file)
    _redacted_quarantine(outcome.quarantine, _hash_secret(settings)).write_parquet(quarantine_file)
    return ChunkFile(
        index,
        valid_file,
        outcome.valid.height,
        time.perf_counter() - started,
        "validate",
        {
            "quarantine_file": str(quarantine_file),
            "rows_quarantined": outcome.quarantine.height,
            "rows_in": raw.height,
        },
    )


def _loaded_text_differs(
    ctx: RunContext, frame: pl.DataFrame, loaded: Mapping[str, date]
) -> dict[str, bool]:
    """For ids loaded on another date: does this row's (redacted) text differ from theirs?

    Only redacted texts are kept (``texts_dir``), so the new text is redacted the same way
    before comparing. Where the stored text is gone, the row counts as the same (duplicate).
    """
    if not loaded:
        return {}
    new_texts = dict(
        frame.filter(pl.col("prompt_id").is_in(list(loaded)))
        .select("prompt_id", "text")
        .iter_rows()
    )
    stored: dict[str, str] = {}
    for day in sorted(set(loaded.values())):
        path = ctx.settings.texts_dir / f"{day:%Y-%m-%d}.parquet"
        if path.exists():
            ids = [i for i, d in loaded.items() if d == day]
            found = pl.scan_parquet(path).filter(pl.col("prompt_id").is_in(ids)).collect()
            stored.update(dict(found.select("prompt_id", "text").iter_rows()))
    return {
        prompt_id: prompt_id in stored
        and redact_text(new_texts.get(prompt_id) or "") != stored[prompt_id]
        for prompt_id in loaded
    }


def deduplicate(ctx: RunContext, chunks: Sequence[ChunkFile]) -> list[ChunkFile]:
    """Stage 2b: skip ids seen earlier in the batch or already loaded on another date.

    A repeated id with a different text is a conflict, not a duplicate: it is quarantined
    (``prompt_id:conflicting_duplicate_id``) and the first occurrence stands.
    """
    seen: dict[str, str] = {}
    result = []
    for chunk in sorted(chunks, key=lambda c: c.index):
        started = time.perf_counter()
        frame = pl.read_parquet(chunk.path)
        ids = frame.get_column("prompt_id").to_list()
        loaded = warehouse.loaded_dates_elsewhere(ctx.settings.warehouse_file, ids, ctx.run_date)
        kinds = pl.Series(
            classify_repeats(
                ids,
                frame.get_column("text").to_list(),
                seen,
                _loaded_text_differs(ctx, frame, loaded),
            )
        )
        kept = frame.filter(kinds == "new")
        conflicts = frame.filter(kinds == "conflict")
        if conflicts.height:
            log.warning("chunk %d: %d conflicting duplicate ids", chunk.index, conflicts.height)
        # A file of its own (not appended to the validation quarantine) so a retry is harmless.
        conflict_file = ctx.path(f"chunk-{chunk.index:04d}.conflicts.parquet")
        _redacted_quarantine(
            quarantine_rows(conflicts, CONFLICTING_DUPLICATE), _hash_secret(ctx.settings)
        ).write_parquet(conflict_file)
        extra = {
            **chunk.extra,
            "conflict_file": str(conflict_file),
            "rows_quarantined": int(chunk.extra["rows_quarantined"]) + conflicts.height,
        }
        path = ctx.path(f"chunk-{chunk.index:04d}.unique.parquet")
        kept.write_parquet(path)
        result.append(
            ChunkFile(
                chunk.index,
                path,
                kept.height,
                chunk.seconds + time.perf_counter() - started,
                "validate",
                {**extra, "rows_duplicate": int((kinds == "duplicate").sum())},
            )
        )
    return result


def redact(ctx: RunContext, chunk: ChunkFile) -> ChunkFile:
    """Stage 3: replace PII by typed placeholders and user ids by keyed hashes."""
    started = time.perf_counter()
    frame = pl.read_parquet(chunk.path)
    original = frame.get_column("text")
    redacted = redact_frame(frame, _hash_secret(ctx.settings))
    changed = int((redacted.get_column("text") != original).sum()) if frame.height else 0
    redacted = redacted.with_columns(
        (pl.col("text") != original).cast(pl.Int32).alias("pii_redacted")
    ).select("prompt_id", "event_ts", "user_hash", "department", "tool", "text", "pii_redacted")
    path = ctx.path(f"chunk-{chunk.index:04d}.redacted.parquet")
    redacted.write_parquet(path)
    return ChunkFile(
        chunk.index,
        path,
        redacted.height,
        time.perf_counter() - started,
        "redact",
        {"rows_pii_redacted": changed},
    )


def embed(ctx: RunContext, chunk: ChunkFile) -> ChunkFile:
    """Stage 4: embed the redacted texts of a chunk, reusing the on-disk cache."""
    started = time.perf_counter()
    texts = pl.read_parquet(chunk.path, columns=["text"]).get_column("text").to_list()
    cache = open_embedding_cache(ctx.settings)
    try:
        # One model forward pass at a time per process: concurrent chunks on the same CPU
        # cores only add memory (activations per thread) without adding throughput.
        with _EMBED_LOCK:
            vectors, computed = embed_with_cache(
                texts,
                get_embedder(ctx.settings),
                cache,
                sort_by_length=ctx.settings.embedding_sort_by_length,
            )
    finally:
        cache.close()
    path = ctx.path(f"chunk-{chunk.index:04d}.embeddings.npy")
    np.save(path, vectors)
    seconds = time.perf_counter() - started
    log.info(
        "chunk %d: embedded %d prompts (%d new) in %.1fs",
        chunk.index,
        len(texts),
        computed,
        seconds,
    )
    return ChunkFile(
        chunk.index,
        path,
        len(texts),
        seconds,
        "embed",
        {"rows_embedded_new": computed, "redacted_file": str(chunk.path)},
    )


@dataclass(frozen=True)
class ModelChoice:
    version: str  # bundle version, stored with every classification
    fitted: bool
    seconds: float
    registry_version: str | None = None  # MLflow registered model version


def prepare_model(ctx: RunContext, redacted: Sequence[ChunkFile]) -> ModelChoice:
    """Stage 5a: load the champion, or fit one (``fit`` mode, or no champion yet).

    A model fitted here is registered in MLflow and becomes the champion: the first model
    has nothing to compare with, and ``fit`` mode is an operator's explicit choice. Weekly
    refits go through the ``refit`` flow's promotion checks instead.
    """
    started = time.perf_counter()
    settings = ctx.settings
    champion = champion_bundle_version(settings)
    if ctx.mode == "infer" or (ctx.mode == "auto" and champion is not None):
        registry_version, bundle_version = require_champion(settings)
        return ModelChoice(bundle_version, False, time.perf_counter() - started, registry_version)
    tonight = [text for c in redacted for text in pl.read_parquet(c.path, columns=["text"])["text"]]
    reason = "first model" if champion is None else f"fit requested by run {ctx.run_id}"
    fit = train_champion(
        settings, reason, end=ctx.run_date, tonight=tonight, run_id=ctx.mlflow_run_id
    )
    bundle, registry_version = fit.bundle, fit.registry_version
    return ModelChoice(bundle.version, True, time.perf_counter() - started, registry_version)


def assign_topics(ctx: RunContext, embedded: ChunkFile, model: ModelChoice) -> ChunkFile:
    """Stage 5b: nearest topic of every prompt in a chunk."""
    started = time.perf_counter()
    bundle = load_model_bundle(ctx.settings, model.version)
    vectors = np.load(embedded.path)
    topic_ids, scores = bundle.topic_index.assign(vectors, ctx.settings.topics.min_similarity)
    path = ctx.path(f"chunk-{embedded.index:04d}.topics.parquet")
    pl.DataFrame({"topic_id": topic_ids, "topic_score": scores}).write_parquet(path)
    return ChunkFile(
        embedded.index,
        path,
        len(topic_ids),
        time.perf_counter() - started,
        "topics",
        {"outliers": int((topic_ids == -1).sum())},
    )


def categorize(
    ctx: RunContext,
    redacted: ChunkFile,
    embedded: ChunkFile,
    topics: ChunkFile,
    model: ModelChoice,
) -> ChunkFile:
    """Stage 6: rules, then the model; one category per prompt with its evidence."""
    started = time.perf_counter()
    settings = ctx.settings
    bundle = load_model_bundle(settings, model.version)
    taxonomy, rules = load_decision_config(settings)
    frame = pl.read_parquet(redacted.path)
    texts = frame.get_column("text").to_list()
    vectors = np.load(embedded.path)
    topic_frame = pl.read_parquet(topics.path)
    cache = open_embedding_cache(settings)
    try:
        with _EMBED_LOCK:
            views = embed_views(texts, get_embedder(settings), cache, vectors, bundle.head)
    finally:
        cache.close()
    decisions = decide_categories(
        texts,
        vectors,
        rules,
        bundle.head,
        settings.abstain_threshold,
        taxonomy.fallback,
        views=views,
    )
    lookup = bundle.topic_lookup()
    topic_ids = topic_frame.get_column("topic_id").to_list()
    classified = (
        frame.drop("text")
        .with_columns(
            pl.lit(ctx.run_date).alias("run_date"),
            pl.Series("category", [d.category for d in decisions], dtype=pl.String),
            pl.Series("decided_by", [d.decided_by for d in decisions], dtype=pl.String),
            pl.Series("rule_id", [d.rule_id for d in decisions], dtype=pl.String),
            pl.Series("confidence", [d.confidence for d in decisions], dtype=pl.Float64),
            pl.Series("topic_id", topic_ids, dtype=pl.Int64),
            pl.Series(
                "topic_label",
                [lookup.get(t, (OUTLIER_LABEL, "", None))[0] for t in topic_ids],
                dtype=pl.String,
            ),
            pl.Series(
                "topic_words",
                [lookup.get(t, ("", "", None))[1] for t in topic_ids],
                dtype=pl.String,
            ),
            pl.lit(bundle.version).alias("model_version"),
        )
        .select(
            "prompt_id",
            "run_date",
            "event_ts",
            "user_hash",
            "department",
            "tool",
            "category",
            "decided_by",
            "rule_id",
            "confidence",
            "topic_id",
            "topic_label",
            "topic_words",
            "model_version",
            "pii_redacted",
        )
    )
    CLASSIFIED_SCHEMA.validate(classified, lazy=True)
    path = ctx.path(f"chunk-{redacted.index:04d}.classified.parquet")
    classified.write_parquet(path)
    counts = Counter(d.category for d in decisions)
    return ChunkFile(
        redacted.index,
        path,
        classified.height,
        time.perf_counter() - started,
        "categories",
        {"by_rule": sum(d.decided_by == "rule" for d in decisions), "categories": dict(counts)},
    )


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
    # Alerts this run raised for the first time (rows of analytics.alerts, JSON-ready).
    new_alerts: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

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


def _stage_seconds(*groups: Sequence[ChunkFile]) -> dict[str, float]:
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


def aggregate(
    ctx: RunContext,
    staged: IngestResult,
    validated: Sequence[ChunkFile],
    redacted: Sequence[ChunkFile],
    embedded: Sequence[ChunkFile],
    topics: Sequence[ChunkFile],
    classified: Sequence[ChunkFile],
    model: ModelChoice,
) -> RunSummary:
    """Stage 7: write the date in one transaction, rebuild trends, check, publish."""
    started = time.perf_counter()
    settings = ctx.settings
    taxonomy = load_taxonomy(settings.taxonomy_file)
    bundle = load_model_bundle(settings, model.version)
    quarantine_files = [Path(c.extra["quarantine_file"]) for c in validated] + [
        Path(c.extra["conflict_file"]) for c in validated if "conflict_file" in c.extra
    ]
    if staged.rejected_file is not None:
        quarantine_files.append(staged.rejected_file)
    quarantine = (
        pl.concat([pl.read_parquet(p) for p in quarantine_files])
        if quarantine_files
        else pl.DataFrame(schema={"failed_checks": pl.List(pl.String)})
    )
    reasons = Counter(
        r for checks in quarantine.get_column("failed_checks").to_list() for r in checks
    )
    rows_loaded = sum(c.rows for c in classified)
    rows_quarantined = staged.rows_rejected + sum(
        int(c.extra["rows_quarantined"]) for c in validated
    )
    rows_duplicate = sum(int(c.extra["rows_duplicate"]) for c in validated)
    if staged.rows_read != rows_loaded + rows_quarantined + rows_duplicate:
        raise InsightError(
            f"rows do not reconcile: read {staged.rows_read} != loaded {rows_loaded} + "
            f"quarantined {rows_quarantined} + duplicates {rows_duplicate}"
        )
    categories: Counter[str] = Counter()
    for chunk in classified:
        categories.update(chunk.extra["categories"])
    stage_seconds = {
        "ingest": staged.seconds,
        **_stage_seconds(validated, redacted, embedded, topics, classified),
    }
    stage_seconds["topics"] = stage_seconds.get("topics", 0.0) + model.seconds
    outliers = sum(int(c.extra["outliers"]) for c in topics)
    by_rule = sum(int(c.extra["by_rule"]) for c in classified)
    record: dict[str, Any] = {
        "run_id": ctx.run_id,
        "run_date": ctx.run_date,
        "status": "succeeded",
        "mode": ctx.mode,
        "source": ctx.source,
        "flow_run_id": ctx.flow_run_id,
        "mlflow_run_id": ctx.mlflow_run_id,
        "model_version": model.version,
        "registry_version": model.registry_version,
        "started_at": ctx.started_at,
        "rows_read": staged.rows_read,
        "rows_loaded": rows_loaded,
        "rows_quarantined": rows_quarantined,
        "rows_duplicate": rows_duplicate,
        "rows_pii_redacted": sum(int(c.extra["rows_pii_redacted"]) for c in redacted),
        "rows_embedded_new": sum(int(c.extra["rows_embedded_new"]) for c in embedded),
        "outlier_share": outliers / rows_loaded if rows_loaded else 0.0,
        "rule_share": by_rule / rows_loaded if rows_loaded else 0.0,
    }
    manifest = bundle.manifest
    model_row = {
        "model_version": bundle.version,
        "registry_version": model.registry_version,
        "created_at": manifest.get("created_at"),
        "embedding_model": manifest.get("embedding_model"),
        "taxonomy_version": manifest.get("taxonomy_version"),
        "rules_hash": manifest.get("rules_hash"),
        "n_training_docs": manifest.get("n_training_docs"),
        "n_topics": manifest.get("n_topics"),
        "outlier_share": manifest.get("outlier_share"),
        "manifest": json.dumps(manifest, default=str),
    }
    thresholds = {"*": settings.min_group_size, **settings.min_group_size_by_category}

    def finish_record() -> dict[str, Any]:
        finished = datetime.now(UTC)
        stage_seconds["aggregate"] = time.perf_counter() - started
        total = (finished - ctx.started_at).total_seconds()
        return {
            **record,
            "finished_at": finished,
            "stage_seconds": json.dumps({k: round(v, 3) for k, v in stage_seconds.items()}),
            "total_seconds": total,
            "prompts_per_second": staged.rows_read / total if total > 0 else 0.0,
        }

    final_record = finish_record()
    published = warehouse.publish_run(
        settings.warehouse_file,
        warehouse.PublishRequest(
            run_date=ctx.run_date,
            run_id=ctx.run_id,
            classified_files=[c.path for c in classified],
            quarantine_files=quarantine_files,
            topics=bundle.topics.with_columns(pl.lit(bundle.version).alias("model_version")),
            model_version_row=model_row,
            run_record=final_record,
            thresholds=thresholds,
            categories=taxonomy.descriptions,
            taxonomy_version=taxonomy.version,
        ),
        analyst_copy=settings.analyst_warehouse_file,
    )
    _store_texts(ctx, redacted)
    # ops.runs holds the time up to publication; the summary and MLflow get the whole stage.
    stage_seconds["aggregate"] = time.perf_counter() - started
    return RunSummary(
        run_id=ctx.run_id,
        run_date=ctx.run_date.isoformat(),
        status="succeeded",
        mode=ctx.mode,
        model_version=model.version,
        model_fitted=model.fitted,
        rows_read=staged.rows_read,
        rows_loaded=rows_loaded,
        rows_quarantined=rows_quarantined,
        rows_duplicate=rows_duplicate,
        rows_pii_redacted=record["rows_pii_redacted"],
        rows_embedded_new=record["rows_embedded_new"],
        outlier_share=record["outlier_share"],
        rule_share=record["rule_share"],
        category_counts=dict(categories),
        stage_seconds={k: round(v, 3) for k, v in stage_seconds.items()},
        total_seconds=final_record["total_seconds"],
        prompts_per_second=final_record["prompts_per_second"],
        warehouse=str(settings.warehouse_file),
        flow_run_id=ctx.flow_run_id,
        mlflow_run_id=ctx.mlflow_run_id,
        quarantine_reasons=dict(reasons),
        new_alerts=list(published.get("new_alerts", [])),
        lines_bytes_replaced=staged.lines_bytes_replaced,
        warnings=list(staged.warnings),
    )


def _store_texts(ctx: RunContext, redacted: Sequence[ChunkFile]) -> None:
    """Keep the date's redacted texts (outside the warehouse) for later topic refits."""
    target_dir = ctx.settings.texts_dir
    target_dir.mkdir(parents=True, exist_ok=True)
    frames = [pl.read_parquet(c.path, columns=["prompt_id", "text"]) for c in redacted]
    texts = (
        pl.concat(frames)
        if frames
        else pl.DataFrame(schema={"prompt_id": pl.String, "text": pl.String})
    )
    tmp = target_dir / f".{ctx.run_date:%Y-%m-%d}.{ctx.run_id}.parquet"
    texts.write_parquet(tmp)
    tmp.replace(target_dir / f"{ctx.run_date:%Y-%m-%d}.parquet")


def fail_run(ctx: RunContext, error: BaseException) -> RunSummary:
    """Record a failed run in ``ops.runs`` and MLflow (published data untouched); clean up."""
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    finished = datetime.now(UTC)
    error_text = f"{type(error).__name__}: {message}"[:2000]
    total_seconds = (finished - ctx.started_at).total_seconds()
    record: dict[str, Any] = {
        "run_id": ctx.run_id,
        "run_date": ctx.run_date,
        "status": "failed",
        "mode": ctx.mode,
        "source": ctx.source,
        "flow_run_id": ctx.flow_run_id,
        "mlflow_run_id": ctx.mlflow_run_id,
        "started_at": ctx.started_at,
        "finished_at": finished,
        "error": error_text,
        "total_seconds": total_seconds,
    }
    try:
        warehouse.record_failed_run(ctx.settings.warehouse_file, record)
    except Exception:  # the original error matters more than the bookkeeping one
        log.exception("could not record failed run %s in ops.runs", ctx.run_id)
    cleanup(ctx)
    summary = RunSummary(
        run_id=ctx.run_id,
        run_date=ctx.run_date.isoformat(),
        status="failed",
        mode=ctx.mode,
        total_seconds=total_seconds,
        warehouse=str(ctx.settings.warehouse_file),
        flow_run_id=ctx.flow_run_id,
        mlflow_run_id=ctx.mlflow_run_id,
        error=error_text,
    )
    try:
        track_failure(ctx, summary)
    except Exception:
        log.exception("could not mark MLflow run %s as failed", ctx.mlflow_run_id)
    return summary


def cleanup(ctx: RunContext) -> None:
    """Delete the run's work folder (it held unredacted input)."""
    shutil.rmtree(ctx.work_dir, ignore_errors=True)


def begin_tracking(ctx: RunContext) -> RunContext:
    """Open the MLflow run of this flow run and log what is known up front."""
    tracker = open_tracker(ctx.settings)
    run_id = tracker.start_run(
        f"nightly-{ctx.run_date}",
        tags={
            "insight.run_id": ctx.run_id,
            "insight.run_date": ctx.run_date.isoformat(),
            "prefect.flow_run_id": ctx.flow_run_id or "",
            "insight.mode": ctx.mode,
        },
    )
    settings = ctx.settings
    _, rules = load_decision_config(settings)
    tracker.log_params(
        run_id,
        {
            "run_date": ctx.run_date.isoformat(),
            "source": ctx.source,
            "mode": ctx.mode,
            "embedding_model": settings.embedding_model,
            "abstain_threshold": settings.abstain_threshold,
            "rules_hash": rules.file_hash,
            "rules_version": rules.version,
            "min_group_size": settings.min_group_size,
            "min_group_size_by_category": json.dumps(settings.min_group_size_by_category),
            "chunk_size": settings.chunk_size,
            **{
                f"topics.{k}": v
                for k, v in settings.topics.model_dump().items()
                if k != "extra_stopwords"
            },
        },
    )
    return ctx.with_tracking(run_id)


def track(ctx: RunContext, summary: RunSummary) -> RunSummary:
    """Stage 8: metrics and artifacts of a finished run into its MLflow run."""
    started = time.perf_counter()
    if ctx.mlflow_run_id is None:
        return summary
    tracker = open_tracker(ctx.settings)
    run_id = ctx.mlflow_run_id
    taxonomy = load_taxonomy(ctx.settings.taxonomy_file)
    loaded = max(summary.rows_loaded, 1)
    metrics: dict[str, float] = {
        "rows_read": summary.rows_read,
        "rows_loaded": summary.rows_loaded,
        "rows_quarantined": summary.rows_quarantined,
        "rows_duplicate": summary.rows_duplicate,
        "lines_bytes_replaced": summary.lines_bytes_replaced,
        "rows_pii_redacted": summary.rows_pii_redacted,
        "rows_embedded_new": summary.rows_embedded_new,
        "outlier_share": summary.outlier_share,
        "rule_share": summary.rule_share,
        "prompts_per_second": summary.prompts_per_second,
        "total_seconds": summary.total_seconds,
        **{f"seconds_{stage}": s for stage, s in summary.stage_seconds.items()},
        **{
            f"category_share_{c}": summary.category_counts.get(c, 0) / loaded
            for c in taxonomy.categories
        },
    }
    tracker.log_metrics(run_id, metrics)
    if summary.model_version:
        tracker.log_params(
            run_id, {"model_version": summary.model_version, "model_fitted": summary.model_fitted}
        )
        bundle = load_model_bundle(ctx.settings, summary.model_version)
        tracker.log_files(run_id, {"topics.csv": bundle.topics.write_csv()})
        if summary.model_fitted:
            # A refit: how the new head scores, out of fold, on the shipped example set.
            cv_scores = bundle.manifest.get("examples_cv") or {}
            tracker.log_metrics(run_id, {f"examples_cv_{k}": v for k, v in cv_scores.items()})
            tracker.log_params(
                run_id,
                {
                    "head_temperature": bundle.manifest.get("head_temperature"),
                    "n_training_docs": bundle.manifest.get("n_training_docs"),
                },
            )
    final = replace(
        summary,
        stage_seconds={**summary.stage_seconds, "track": round(time.perf_counter() - started, 3)},
    )
    tracker.log_files(run_id, {"run_summary.md": final.to_markdown()})
    tracker.log_json(run_id, "run_summary.json", final.as_dict())
    tracker.end_run(run_id, succeeded=True)
    cleanup(ctx)
    return final


def track_failure(ctx: RunContext, summary: RunSummary) -> None:
    """Close the MLflow run of a failed flow run as FAILED, with the error."""
    if ctx.mlflow_run_id is None:
        return
    tracker = open_tracker(ctx.settings)
    tracker.set_tags(ctx.mlflow_run_id, {"insight.error": summary.error or "unknown"})
    tracker.log_files(ctx.mlflow_run_id, {"run_summary.md": summary.to_markdown()})
    tracker.end_run(ctx.mlflow_run_id, succeeded=False)
