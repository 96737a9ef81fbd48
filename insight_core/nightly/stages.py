"""The nightly run's stages, one function each, with their file I/O at the edges.

Each Prefect task in ``tasks/`` calls exactly one function here. Stages hand each other small
references to Parquet/NumPy files in the run's work folder rather than frames, so chunks can
fan out over workers and memory stays flat however large the batch is. The work folder holds
unredacted input only transiently and is deleted when the run ends, failed or not.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import numpy as np
import polars as pl

from insight_core import warehouse
from insight_core.environment import parallelism
from insight_core.errors import InsightError, disk_full_names, is_disk_full
from insight_core.lifecycle.champion import train_champion
from insight_core.nightly import journal, run_state
from insight_core.nightly.context import (
    ClassifiedChunk,
    CrashedRun,
    EmbeddedChunk,
    IngestResult,
    ModelChoice,
    RedactedChunk,
    RunContext,
    StageChunk,
    TopicChunk,
    TopicMode,
    ValidatedChunk,
)
from insight_core.nightly.preflight import check_run_request, default_run_date, hash_secret
from insight_core.nightly.run_log import track_cancelled, track_failure
from insight_core.nightly.summary import RunSummary
from insight_core.nlp.cascade import decide
from insight_core.nlp.embed import embed_with_cache
from insight_core.nlp.kept_text import kept_text
from insight_core.nlp.taxonomy import load_taxonomy
from insight_core.nlp.topics import OUTLIER_LABEL, OUTLIER_TOPIC
from insight_core.prep.ingest import (
    ColumnDefaults,
    chunk_bounds,
    parse_timestamps,
    read_chunk,
    rejected_frame,
)
from insight_core.prep.ingest import stage_source as stage_source_file
from insight_core.prep.redact import (
    cap_text,
    protect_fields,
    redact_frame,
    redact_record,
    redact_text,
)
from insight_core.prep.validate import (
    CONFLICTING_DUPLICATE,
    classify_repeats,
    ids_that_may_recur,
    quarantine_rows,
    recurring_id_keys,
    validate_chunk,
)
from insight_core.registry import open_tracker
from insight_core.runtime import (
    champion_bundle_version,
    load_decision_config,
    load_model_bundle,
    model_bundle_catalogue,
    open_embedding_cache,
    release_freed_memory,
    release_models,
    require_champion,
    shared_embedder,
)
from insight_core.settings import InsightSettings
from schemas.classified import CLASSIFIED_SCHEMA

log = logging.getLogger(__name__)

# Written by the duplicate stage, read by the publication: the per-date files whose ids the
# night's lookup compared with its own.
ID_LOOKUP_FILE = "id-lookup.json"

# From this many loaded prompts, a night publishes after releasing its models: the
# publication's DuckDB memory then does not come on top of them at the night's end. The next
# night in the same process loads them again, which only a small night would notice.
RELEASE_MODELS_FROM_ROWS = 50_000

# A run's temporary texts file while it is written: texts/.<date>.<run id>.parquet
TEXTS_TEMP = re.compile(r"^\.\d{4}-\d{2}-\d{2}\.(?P<run_id>[0-9]{8}-[0-9a-f]+)\.parquet$")

P = ParamSpec("P")
R = TypeVar("R")


def _names_full_disk(stage: Callable[Concatenate[RunContext, P], R]) -> Callable[..., R]:
    """A full disk in ``stage`` fails it with a DiskFullError naming the file (or the run's
    work folder, where the error names none), not with a bare ``OSError: [Errno 28]``."""

    @functools.wraps(stage)
    def wrapper(ctx: RunContext, *args: P.args, **kwargs: P.kwargs) -> R:
        with disk_full_names(ctx.work_dir):
            return stage(ctx, *args, **kwargs)

    return wrapper


def begin_run(
    settings: InsightSettings,
    run_date: date | None,
    source: str | None,
    mode: TopicMode = "auto",
    flow_run_id: str | None = None,
    replace: bool = False,
) -> RunContext:
    """Check what can be checked up front, clean up after dead runs, open the work folder.

    ``run_date`` defaults to yesterday and ``source`` to the ``INSIGHT_SOURCE`` setting, so a
    scheduled deployment needs no parameters. The run holds its lock (see
    :mod:`insight_core.nightly.run_state`) until :func:`cleanup`. Without ``replace`` the run
    refuses to leave its date with fewer prompts than are loaded (:func:`deduplicate` checks
    early, the publication under its lock).
    """
    run_date = run_date or default_run_date(settings)
    source = check_run_request(settings, source, mode).source
    if mode == "infer":
        require_champion(settings)
    crashed = recover_crashed_runs(settings)
    run_id = f"{run_date:%Y%m%d}-{uuid.uuid4().hex[:10]}"
    started_at = datetime.now(UTC)
    work_dir = run_state.start_run(
        settings.runs_dir,
        run_id,
        {
            "run_date": run_date.isoformat(),
            "source": source,
            "mode": mode,
            "flow_run_id": flow_run_id,
            "started_at": started_at.isoformat(),
            "replace": replace,
        },
    )
    log.info("run %s for %s from %s (mode %s)", run_id, run_date, source, mode)
    return RunContext(
        run_id,
        run_date,
        source,
        mode,
        settings,
        work_dir,
        started_at,
        flow_run_id,
        crashed_runs=tuple(crashed),
        replace=replace,
    )


def _crashed_record(run: run_state.DeadRun, found_at: datetime) -> dict[str, Any] | None:
    """The ``ops.runs`` row of a dead run, from its marker (or its run id for old runs)."""
    marker = run.marker
    try:
        run_date = date.fromisoformat(marker["run_date"])
    except (KeyError, TypeError, ValueError):
        try:
            run_date = datetime.strptime(run.run_id.split("-")[0], "%Y%m%d").date()
        except ValueError:
            return None
    started = marker.get("started_at")
    return {
        "run_id": run.run_id,
        "run_date": run_date,
        "status": "crashed",
        "mode": marker.get("mode"),
        "source": marker.get("source"),
        "flow_run_id": marker.get("flow_run_id"),
        "mlflow_run_id": marker.get("mlflow_run_id"),
        "started_at": datetime.fromisoformat(started) if started else None,
        "finished_at": found_at,
        "error": f"process {marker.get('pid', '?')} died before the run finished; its work "
        "folder was deleted by a later run",
    }


def recover_crashed_runs(settings: InsightSettings) -> list[CrashedRun]:
    """Clean up after runs whose process died (kill -9, power loss) and record them.

    Deletes their work folders (raw input), discards stale warehouse staging files, adds each
    run to ``ops.runs`` as 'crashed' and closes its MLflow run as KILLED. Live concurrent runs
    are left alone: they hold their run lock.
    """
    # Outcomes earlier runs could not write into the catalog (a full disk) go in first.
    try:
        journal.fold(
            settings.home, lambda records: warehouse.record_runs(settings.warehouse_file, records)
        )
    except Exception as error:  # kept for the next run; this one may still publish
        log.warning("could not fold the journal into ops.runs: %s", error)
    crashed: list[CrashedRun] = []
    with run_state.claim_dead_runs(settings.runs_dir) as dead:
        found_at = datetime.now(UTC)
        tracker = open_tracker(settings) if dead else None
        records = [r for r in (_crashed_record(run, found_at) for run in dead) if r is not None]
        if records:
            warehouse.record_runs(settings.warehouse_file, records)
        for run in dead:
            closed = tracker.close_abandoned_runs(run.run_id) if tracker else []
            mlflow_run_id = run.marker.get("mlflow_run_id") or (closed[0] if closed else None)
            crashed.append(CrashedRun(run.run_id, run.marker.get("flow_run_id"), mlflow_run_id))
    removed = warehouse.discard_stale_staging(
        settings.warehouse_file, settings.analyst_warehouse_file
    )
    for path in removed:
        log.warning("deleted %s, left by a run that died while publishing", path.name)
    for path in discard_stale_texts(settings):
        log.warning("deleted %s, left by a run that stopped while keeping its texts", path.name)
    return crashed


def discard_stale_texts(settings: InsightSettings) -> list[Path]:
    """Delete partial ``texts/.<date>.<run id>.parquet`` files of runs no longer running."""
    folder = settings.texts_dir
    if not folder.is_dir():
        return []
    removed = []
    for path in folder.iterdir():
        matched = TEXTS_TEMP.match(path.name)
        if matched and not run_state.is_alive(settings.runs_dir, matched["run_id"]):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


@_names_full_disk
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
        source_format=settings.source_format,
        prompt_turn=settings.prompt_turn,
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


def _redacted_quarantine(quarantine: pl.DataFrame, secret: str, max_chars: int) -> pl.DataFrame:
    def clean(record_json: str) -> str:
        record = json.loads(record_json)
        if not isinstance(record, dict):
            record = {"record": record}
        return json.dumps(redact_record(record, secret, max_chars), ensure_ascii=False)

    def clean_id(prompt_id: str) -> str:
        return cap_text(redact_text(prompt_id), max_chars)

    return quarantine.with_columns(
        pl.col("record").map_elements(clean, return_dtype=pl.String),
        pl.col("prompt_id").map_elements(clean_id, return_dtype=pl.String),
    )


@_names_full_disk
def validate(ctx: RunContext, staged: IngestResult, index: int) -> ValidatedChunk:
    """Stage 2a: validate one chunk; invalid rows go to a (redacted) quarantine file."""
    started = time.perf_counter()
    offset, length = staged.bounds[index]
    settings = ctx.settings
    raw = parse_timestamps(
        read_chunk(staged.staged_file, offset, length),
        settings.timezone,
        settings.timestamp_format,
    )
    # Ids, departments and tools in their stored form before anything else sees them: validation
    # judges that form, duplicates match on it, and quarantine and every later stage get it.
    raw = protect_fields(raw, hash_secret(settings), settings.max_label_chars)
    outcome = validate_chunk(
        raw,
        ctx.run_date,
        settings.timezone,
        settings.max_text_chars,
        settings.department_pattern,
        settings.timestamp_format,
    )
    valid_file = ctx.path(f"chunk-{index:04d}.valid.parquet")
    quarantine_file = ctx.path(f"chunk-{index:04d}.quarantine.parquet")
    outcome.valid.write_parquet(valid_file)
    _redacted_quarantine(
        outcome.quarantine, hash_secret(settings), settings.quarantine_max_field_chars
    ).write_parquet(quarantine_file)
    return ValidatedChunk(
        index=index,
        path=valid_file,
        rows=outcome.valid.height,
        seconds=time.perf_counter() - started,
        quarantine_file=quarantine_file,
        rows_quarantined=outcome.quarantine.height,
        rows_in=raw.height,
    )


def _loaded_text_differs(
    ctx: RunContext, frame: pl.DataFrame, loaded: Mapping[str, date]
) -> dict[str, bool]:
    """For ids loaded on another date: does this row's (redacted) text differ from theirs?

    Only the kept form of redacted texts is stored (``texts_dir``, :func:`kept_text`), so the
    new text is redacted and reduced the same way before comparing (and so is the stored one:
    texts kept before the kept form existed are the full redacted text). Where the stored text
    is gone, the row counts as the same (duplicate).
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
        and kept_text(redact_text(new_texts.get(prompt_id) or "")) != kept_text(stored[prompt_id])
        for prompt_id in loaded
    }


def _ids_looked_up_in(ctx: RunContext) -> list[str] | None:
    """The files the duplicate stage's lookup read; None (check every date) if it left none."""
    record = ctx.path(ID_LOOKUP_FILE)
    return json.loads(record.read_text()) if record.exists() else None


@_names_full_disk
def deduplicate(ctx: RunContext, chunks: Sequence[ValidatedChunk]) -> list[ValidatedChunk]:
    """Stage 2b: skip ids seen earlier in the batch or already loaded on another date.

    A repeated id with a different text is a conflict, not a duplicate: it is quarantined
    (``prompt_id:conflicting_duplicate_id``) and the first occurrence stands.
    """
    ordered = sorted(chunks, key=lambda c: c.index)
    # Memory follows the chunk: only ids that occur twice in the night are remembered
    # across chunks, found first from the ids' hash keys alone. The ids loaded on other dates
    # are looked up once for the night: a lookup reads every loaded date's ids.
    started = time.perf_counter()
    recurring = recurring_id_keys(
        pl.read_parquet(chunk.path, columns=["prompt_id"]).get_column("prompt_id")
        for chunk in ordered
    )
    lookup = warehouse.look_up_loaded_ids(
        ctx.settings.warehouse_file,
        [chunk.path for chunk in ordered],
        ctx.run_date,
        memory_limit=ctx.settings.warehouse_memory_limit,
    )
    # The publication's check need not read these files' ids again (ops.id_lookup_partitions).
    ctx.path(ID_LOOKUP_FILE).write_text(json.dumps(list(lookup.partition_files)))
    elsewhere = lookup.loaded
    key_pass_share = (time.perf_counter() - started) / max(len(ordered), 1)
    seen: dict[str, str] = {}
    result = []
    for chunk in ordered:
        started = time.perf_counter() - key_pass_share  # each chunk carries its share
        frame = pl.read_parquet(chunk.path)
        id_column = frame.get_column("prompt_id")
        ids = id_column.to_list()
        loaded = {i: elsewhere[i] for i in ids if i in elsewhere} if elsewhere else {}
        kinds = pl.Series(
            classify_repeats(
                ids,
                frame.get_column("text").to_list(),
                seen,
                _loaded_text_differs(ctx, frame, loaded),
                ids_that_may_recur(id_column, recurring),
            )
        )
        kept = frame.filter(kinds == "new")
        conflicts = frame.filter(kinds == "conflict")
        if conflicts.height:
            log.warning("chunk %d: %d conflicting duplicate ids", chunk.index, conflicts.height)
        # A file of its own (not appended to the validation quarantine) so a retry is harmless.
        conflict_file = ctx.path(f"chunk-{chunk.index:04d}.conflicts.parquet")
        _redacted_quarantine(
            quarantine_rows(conflicts, CONFLICTING_DUPLICATE),
            hash_secret(ctx.settings),
            ctx.settings.quarantine_max_field_chars,
        ).write_parquet(conflict_file)
        path = ctx.path(f"chunk-{chunk.index:04d}.unique.parquet")
        kept.write_parquet(path)
        result.append(
            replace(
                chunk,
                path=path,
                rows=kept.height,
                seconds=chunk.seconds + time.perf_counter() - started,
                finished_at=time.time(),
                conflict_file=conflict_file,
                rows_quarantined=chunk.rows_quarantined + conflicts.height,
                rows_duplicate=int((kinds == "duplicate").sum()),
            )
        )
    # The staged batch and the validated chunks hold raw text and user ids: gone as soon as
    # nothing reads them any more (the unique chunks go once redacted).
    _discard(ctx.path("staged.parquet"), *(chunk.path for chunk in chunks))
    # Every row left now is loaded (later stages drop none): a night that would replace its
    # date with fewer prompts stops here, before a model is fitted or anything is embedded.
    # The publication checks again under its lock, against what is loaded by then.
    warehouse.refuse_fewer_rows(
        warehouse.loaded_rows(ctx.settings.warehouse_file, ctx.run_date),
        sum(chunk.rows for chunk in result),
        ctx.run_date,
        ctx.replace,
    )
    return result


def _discard(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


@_names_full_disk
def redact(ctx: RunContext, chunk: ValidatedChunk) -> RedactedChunk:
    """Stage 3: replace PII by typed placeholders and user ids by keyed hashes."""
    started = time.perf_counter()
    frame = pl.read_parquet(chunk.path)
    original = frame.get_column("text")
    redacted = redact_frame(
        frame,
        hash_secret(ctx.settings),
        parallelism(ctx.settings).redaction_processes,
        derive=("kept_text", kept_text),  # the form kept after the night (_store_texts)
    )
    changed = int((redacted.get_column("text") != original).sum()) if frame.height else 0
    redacted = redacted.with_columns(
        (pl.col("text") != original).cast(pl.Int32).alias("pii_redacted")
    ).select(
        "prompt_id",
        "event_ts",
        "user_hash",
        "department",
        "tool",
        "text",
        "kept_text",
        "pii_redacted",
    )
    path = ctx.path(f"chunk-{chunk.index:04d}.redacted.parquet")
    redacted.write_parquet(path)
    _discard(chunk.path)  # the raw (unredacted) chunk
    return RedactedChunk(
        index=chunk.index,
        path=path,
        rows=redacted.height,
        seconds=time.perf_counter() - started,
        rows_pii_redacted=changed,
    )


@_names_full_disk
def embed(ctx: RunContext, chunk: RedactedChunk, model: ModelChoice) -> EmbeddedChunk:
    """Stage 4: embed the redacted texts of a chunk in the space of the model's topics.

    Transformer vectors reuse the on-disk cache. A cascade model's topics live in its static
    model's space: those vectors are a table lookup, computed afresh (no cache needed).
    """
    started = time.perf_counter()
    texts = pl.read_parquet(chunk.path, columns=["text"]).get_column("text").to_list()
    bundle = load_model_bundle(ctx.settings, model.version)
    if bundle.cascade is not None:
        vectors, computed = embed_with_cache(texts, bundle.cascade.static, None)
    else:
        cache = open_embedding_cache(ctx.settings)
        try:
            vectors, computed = embed_with_cache(
                texts,
                shared_embedder(ctx.settings),
                cache,
                sort_by_length=ctx.settings.embedding_sort_by_length,
            )
        finally:
            cache.close()
            release_freed_memory()
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
    return EmbeddedChunk(
        index=chunk.index, path=path, rows=len(texts), seconds=seconds, rows_embedded_new=computed
    )


@_names_full_disk
def prepare_model(ctx: RunContext, redacted: Sequence[RedactedChunk]) -> ModelChoice:
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
    # One fit at a time per home: concurrent first runs wait here, and all but the first
    # find the champion it registered and use it (one first model, not one per run).
    with run_state.model_fit_lock(settings.home.resolve()):
        champion = champion_bundle_version(settings)
        if ctx.mode == "auto" and champion is not None:
            registry_version, bundle_version = require_champion(settings)
            return ModelChoice(
                bundle_version, False, time.perf_counter() - started, registry_version
            )
        return _fit_champion(ctx, redacted, champion, started)


def _fit_champion(
    ctx: RunContext,
    redacted: Sequence[RedactedChunk],
    champion: tuple[str, str] | None,
    started: float,
) -> ModelChoice:
    tonight = pl.concat(
        [pl.read_parquet(c.path, columns=["prompt_id", "text", "user_hash"]) for c in redacted]
    )
    reason = "first model" if champion is None else f"fit requested by run {ctx.run_id}"
    fit = train_champion(
        ctx.settings, reason, end=ctx.run_date, tonight=tonight, run_id=ctx.mlflow_run_id
    )
    bundle, registry_version = fit.bundle, fit.registry_version
    return ModelChoice(bundle.version, True, time.perf_counter() - started, registry_version)


@_names_full_disk
def assign_topics(ctx: RunContext, embedded: EmbeddedChunk, model: ModelChoice) -> TopicChunk:
    """Stage 5b: nearest topic of every prompt in a chunk."""
    started = time.perf_counter()
    bundle = load_model_bundle(ctx.settings, model.version)
    vectors = np.load(embedded.path)
    topic_ids, scores = bundle.topic_index.assign(vectors, ctx.settings.topics.min_similarity)
    path = ctx.path(f"chunk-{embedded.index:04d}.topics.parquet")
    pl.DataFrame({"topic_id": topic_ids, "topic_score": scores}).write_parquet(path)
    return TopicChunk(
        index=embedded.index,
        path=path,
        rows=len(topic_ids),
        seconds=time.perf_counter() - started,
        outliers=int((topic_ids == OUTLIER_TOPIC).sum()),
    )


@_names_full_disk
def categorize(
    ctx: RunContext,
    redacted: RedactedChunk,
    embedded: EmbeddedChunk,
    topics: TopicChunk,
    model: ModelChoice,
) -> ClassifiedChunk:
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
        # Only the transformer's passes wait for each other (shared_embedder): this chunk's
        # rules and cheap heads run while another chunk's prompts are in the transformer.
        result = decide(
            texts,
            vectors,
            rules,
            bundle.head,
            bundle.cascade,
            shared_embedder(settings),
            cache,
            settings.abstain_threshold,
            taxonomy.fallback,
        )
    finally:
        cache.close()
        release_freed_memory()
    decisions, escalated = result.decisions, int(result.escalated.sum())
    lookup = bundle.topic_lookup()
    topic_ids = topic_frame.get_column("topic_id").to_list()
    classified = (
        frame.drop("text", "kept_text", strict=False)
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
    return ClassifiedChunk(
        index=redacted.index,
        path=path,
        rows=classified.height,
        seconds=time.perf_counter() - started,
        by_rule=sum(d.decided_by == "rule" for d in decisions),
        rows_escalated=escalated,
        categories=dict(counts),
    )


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


@_names_full_disk
def aggregate(
    ctx: RunContext,
    staged: IngestResult,
    validated: Sequence[ValidatedChunk],
    redacted: Sequence[RedactedChunk],
    embedded: Sequence[EmbeddedChunk],
    topics: Sequence[TopicChunk],
    classified: Sequence[ClassifiedChunk],
    model: ModelChoice,
) -> RunSummary:
    """Stage 7: write the date in one transaction, rebuild trends, check, publish."""
    started = time.perf_counter()
    settings = ctx.settings
    # Read without the models, which a large night releases before publishing (release_models).
    bundle = model_bundle_catalogue(settings, model.version)
    quarantine_files = [c.quarantine_file for c in validated] + [
        c.conflict_file for c in validated if c.conflict_file is not None
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
    rows_quarantined = staged.rows_rejected + sum(c.rows_quarantined for c in validated)
    rows_duplicate = sum(c.rows_duplicate for c in validated)
    if staged.rows_read != rows_loaded + rows_quarantined + rows_duplicate:
        raise InsightError(
            f"rows do not reconcile: read {staged.rows_read} != loaded {rows_loaded} + "
            f"quarantined {rows_quarantined} + duplicates {rows_duplicate}"
        )
    categories: Counter[str] = Counter()
    for chunk in classified:
        categories.update(chunk.categories)
    stage_seconds = {
        "ingest": staged.seconds,
        **_stage_seconds(validated, redacted, embedded, topics, classified),
    }
    stage_seconds["topics"] = stage_seconds.get("topics", 0.0) + model.seconds
    outliers = sum(c.outliers for c in topics)
    by_rule = sum(c.by_rule for c in classified)
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
        "rows_pii_redacted": sum(c.rows_pii_redacted for c in redacted),
        "rows_embedded_new": sum(c.rows_embedded_new for c in embedded),
        "outlier_share": outliers / rows_loaded if rows_loaded else 0.0,
        "rule_share": by_rule / rows_loaded if rows_loaded else 0.0,
        "warnings": list(staged.warnings),
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
    if rows_loaded >= RELEASE_MODELS_FROM_ROWS:
        release_models()
    # Exactly once per run: a retry of this stage after its publication (a failure or a stop
    # after the swap) finds the run published and does not publish again.
    if warehouse.run_published(settings.warehouse_file, ctx.run_id):
        log.warning("run %s already published its date: not publishing again", ctx.run_id)
        published = {"new_alerts": warehouse.published_alerts(settings.warehouse_file, ctx.run_id)}
    else:
        published = _publish(ctx, classified, quarantine_files, bundle, model_row, final_record)
    late_warnings = _keep_texts(ctx, redacted)
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
        rows_escalated=sum(c.rows_escalated for c in classified) if bundle.cascade else None,
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
        warnings=[*staged.warnings, *late_warnings],
        late_warnings=late_warnings,
    )


def _publish(
    ctx: RunContext,
    classified: Sequence[ClassifiedChunk],
    quarantine_files: list[Path],
    bundle: Any,
    model_row: dict[str, Any],
    final_record: dict[str, Any],
) -> dict[str, Any]:
    settings = ctx.settings
    taxonomy = load_taxonomy(settings.taxonomy_file)
    return warehouse.publish_run(
        settings.warehouse_file,
        warehouse.PublishRequest(
            run_date=ctx.run_date,
            run_id=ctx.run_id,
            classified_files=[c.path for c in classified],
            quarantine_files=quarantine_files,
            topics=bundle.topics.with_columns(pl.lit(bundle.version).alias("model_version")),
            model_version_row=model_row,
            run_record=final_record,
            thresholds={"*": settings.min_group_size, **settings.min_group_size_by_category},
            categories=taxonomy.descriptions,
            taxonomy_version=taxonomy.version,
            ids_looked_up_in=_ids_looked_up_in(ctx),
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
        # polars' default row groups held 325-354 MB of a 1M-prompt night's texts at the
        # end of the run; a chunk's size, 52 MB, as fast (docs/benchmarks.md).
        pl.scan_parquet([c.path for c in redacted]).select(
            "prompt_id", pl.col("kept_text").alias("text"), "user_hash"
        ).sink_parquet(tmp, row_group_size=ctx.settings.chunk_size)
    else:
        pl.DataFrame(schema=dict.fromkeys(columns, pl.String)).write_parquet(tmp)
    tmp.replace(target_dir / f"{ctx.run_date:%Y-%m-%d}.parquet")


def record_outcomes(settings: InsightSettings, records: Sequence[Mapping[str, Any]]) -> bool:
    """Write ``ops.runs`` records into the catalog or, when that fails (a full disk, the
    warehouse unavailable), into the journal the next run folds in. False if journalled."""
    try:
        warehouse.record_runs(settings.warehouse_file, records)
        return True
    except Exception as error:
        log.error(
            "could not record run(s) %s in ops.runs (%s): journalled for the next run",
            ", ".join(str(r["run_id"]) for r in records),
            error,
        )
    for record in records:
        try:
            journal.append(settings.home, record)
        except Exception:
            log.exception("could not journal run %s either", record["run_id"])
    return False


def _unpublished_record(
    ctx: RunContext, status: str, error_text: str, finished: datetime
) -> dict[str, Any]:
    return {
        "run_id": ctx.run_id,
        "run_date": ctx.run_date,
        "status": status,
        "mode": ctx.mode,
        "source": ctx.source,
        "flow_run_id": ctx.flow_run_id,
        "mlflow_run_id": ctx.mlflow_run_id,
        "started_at": ctx.started_at,
        "finished_at": finished,
        "error": error_text,
        "total_seconds": (finished - ctx.started_at).total_seconds(),
    }


def _unpublished_summary(ctx: RunContext, record: Mapping[str, Any]) -> RunSummary:
    return RunSummary(
        run_id=ctx.run_id,
        run_date=ctx.run_date.isoformat(),
        status=record["status"],
        mode=ctx.mode,
        total_seconds=record["total_seconds"],
        warehouse=str(ctx.settings.warehouse_file),
        flow_run_id=ctx.flow_run_id,
        mlflow_run_id=ctx.mlflow_run_id,
        error=record["error"],
    )


def describe_error(error: BaseException) -> str:
    """``Type: first line`` of an error, a full disk said as such."""
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    text = f"{type(error).__name__}: {message}"
    if is_disk_full(error) and "disk full" not in text:
        text = f"disk full: {text}"
    return text[:2000]


def fail_run(ctx: RunContext, error: BaseException) -> RunSummary:
    """Record a failed run in ``ops.runs`` and MLflow (published data untouched); clean up.

    A run that already published stays ``succeeded`` in ops.runs, the failure becoming one of
    its warnings (:func:`insight_core.warehouse.record_runs`).
    """
    if _published(ctx):  # a failure after the publication: a warning on the succeeded run
        cleanup(ctx)
        return _stopped_after_publication(ctx, f"failed ({describe_error(error)})", None)
    record = _unpublished_record(ctx, "failed", describe_error(error), datetime.now(UTC))
    record_outcomes(ctx.settings, [record])
    cleanup(ctx)
    summary = _unpublished_summary(ctx, record)
    try:
        track_failure(ctx, summary)
    except Exception:
        log.exception("could not mark MLflow run %s as failed", ctx.mlflow_run_id)
    return summary


def cancel_run(ctx: RunContext, reason: str, summary: RunSummary | None = None) -> RunSummary:
    """A run stopped by a signal: cleaned up like a crash and recorded as ``cancelled`` in
    ops.runs and MLflow; returns its summary.

    A run stopped after its publication is not undone: it stays ``succeeded`` with the stop as
    a warning, and that is what the returned summary (``summary``, the publication's, if the
    caller has it) says.
    """
    cleanup(ctx)
    if _published(ctx):
        return _stopped_after_publication(ctx, reason, summary)
    record = _unpublished_record(ctx, "cancelled", reason, datetime.now(UTC))
    record_outcomes(ctx.settings, [record])
    try:
        track_cancelled(ctx, reason)
    except Exception:
        log.exception("could not mark the MLflow run of %s as cancelled", ctx.run_id)
    return _unpublished_summary(ctx, record)


def _published(ctx: RunContext) -> bool:
    try:
        return warehouse.run_published(ctx.settings.warehouse_file, ctx.run_id)
    except Exception:  # unreadable: say not (record_runs keeps a published run succeeded)
        log.exception("could not tell whether run %s published", ctx.run_id)
        return False


def _stopped_after_publication(
    ctx: RunContext, what: str, summary: RunSummary | None
) -> RunSummary:
    """A published run that then failed or was stopped: still succeeded, with a warning (in
    ops.runs and MLflow too); ``summary`` is the publication's if the caller has it."""
    warning = f"{what} after the publication: MLflow logging may be incomplete"
    log.warning("run %s %s", ctx.run_id, warning)
    published = (summary or _published_summary(ctx)).with_late_warning(warning)
    record_late_warnings(ctx, published)
    if ctx.mlflow_run_id is not None:
        try:
            tracker = open_tracker(ctx.settings)
            tracker.set_tags(ctx.mlflow_run_id, {"insight.warning": warning[:5000]})
            tracker.end_run(ctx.mlflow_run_id, succeeded=True)
        except Exception:
            log.exception("could not close MLflow run %s", ctx.mlflow_run_id)
    return replace(published, late_warnings=[])


def _published_summary(ctx: RunContext) -> RunSummary:
    """The summary of a published run from its ops.runs row (when the run lost its own)."""
    row = warehouse.query(
        ctx.settings.warehouse_file,
        f"SELECT * FROM ops.runs WHERE run_id = '{ctx.run_id}'",  # a date-hex id, no quote
    ).row(0, named=True)
    counts = ("rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate")
    return RunSummary(
        run_id=ctx.run_id,
        run_date=ctx.run_date.isoformat(),
        status="succeeded",
        mode=ctx.mode,
        warehouse=str(ctx.settings.warehouse_file),
        model_version=row.get("model_version"),
        **{name: int(row.get(name) or 0) for name in counts},  # type: ignore[arg-type]
        total_seconds=float(row.get("total_seconds") or 0.0),
        prompts_per_second=float(row.get("prompts_per_second") or 0.0),
        flow_run_id=ctx.flow_run_id,
        mlflow_run_id=ctx.mlflow_run_id,
        warnings=list(row.get("warnings") or []),
    )


def record_late_warnings(ctx: RunContext, summary: RunSummary) -> RunSummary:
    """Add the warnings that came after the publication to the run's ops.runs row (or the
    journal); the summary is returned with them marked as recorded."""
    if not summary.late_warnings:
        return summary
    record_outcomes(ctx.settings, [{"run_id": ctx.run_id, "warnings": summary.late_warnings}])
    return replace(summary, late_warnings=[])


def cleanup(ctx: RunContext) -> None:
    """Delete the run's work folder (it held unredacted input) and end its run lock."""
    shutil.rmtree(ctx.work_dir, ignore_errors=True)
    run_state.finish_run(ctx.settings.runs_dir, ctx.run_id)
