"""Stage 3 of the nightly run: redact a chunk's PII and hash its user ids."""

from __future__ import annotations

import logging
import time

import polars as pl

from insight_core.environment import parallelism
from insight_core.nightly.context import (
    RedactedChunk,
    RunContext,
    ValidatedChunk,
)
from insight_core.nightly.preflight import hash_secret
from insight_core.nightly.stage_files import (
    discard,
    names_full_disk,
)
from insight_core.nlp.kept_text import kept_text
from insight_core.prep.redact import (
    redact_frame,
)

log = logging.getLogger(__name__)


@names_full_disk
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
    discard(chunk.path)  # the raw (unredacted) chunk
    return RedactedChunk(
        index=chunk.index,
        path=path,
        rows=redacted.height,
        seconds=time.perf_counter() - started,
        rows_pii_redacted=changed,
    )
