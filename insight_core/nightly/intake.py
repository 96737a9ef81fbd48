"""Stages 1-2 of the nightly run: ingest the source in chunks, validate each chunk, skip the
night's duplicates.

Stages hand each other small references to Parquet/NumPy files in the run's work folder
rather than frames, so chunks can fan out over workers and memory stays flat however large
the batch is. The work folder holds unredacted input only transiently and is deleted when the
run ends, failed or not."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date

import polars as pl

from insight_core import warehouse
from insight_core.nightly.context import (
    IngestResult,
    RunContext,
    ValidatedChunk,
)
from insight_core.nightly.preflight import hash_secret
from insight_core.nightly.stage_files import (
    ID_LOOKUP_FILE,
    discard,
    names_full_disk,
    redacted_quarantine,
)
from insight_core.nlp.kept_text import kept_text
from insight_core.prep.ingest import (
    ColumnDefaults,
    chunk_bounds,
    parse_timestamps,
    read_chunk,
    rejected_frame,
)
from insight_core.prep.ingest import stage_source as stage_source_file
from insight_core.prep.redact import (
    protect_fields,
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

log = logging.getLogger(__name__)


@names_full_disk
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


@names_full_disk
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
    redacted_quarantine(
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


@names_full_disk
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
        # String even when every row of the chunk was quarantined (an empty list is typeless).
        kinds = pl.Series(
            "kind",
            classify_repeats(
                ids,
                frame.get_column("text").to_list(),
                seen,
                _loaded_text_differs(ctx, frame, loaded),
                ids_that_may_recur(id_column, recurring),
            ),
            dtype=pl.String,
        )
        kept = frame.filter(kinds == "new")
        conflicts = frame.filter(kinds == "conflict")
        if conflicts.height:
            log.warning("chunk %d: %d conflicting duplicate ids", chunk.index, conflicts.height)
        # A file of its own (not appended to the validation quarantine) so a retry is harmless.
        conflict_file = ctx.path(f"chunk-{chunk.index:04d}.conflicts.parquet")
        redacted_quarantine(
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
    discard(ctx.path("staged.parquet"), *(chunk.path for chunk in chunks))
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
