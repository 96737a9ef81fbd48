"""Stage boundary 2: per-prompt classifications as written to ``core.classifications``."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

CLASSIFIED_SCHEMA = pa.DataFrameSchema(
    {
        "prompt_id": pa.Column(pl.String, unique=True),
        "run_date": pa.Column(pl.Date),
        "event_ts": pa.Column(pl.Datetime("us", "UTC")),
        "user_hash": pa.Column(pl.String, checks=pa.Check.str_length(32, 32)),
        "department": pa.Column(pl.String),
        "tool": pa.Column(pl.String, nullable=True),
        "category": pa.Column(pl.String),
        "decided_by": pa.Column(pl.String, checks=pa.Check.isin(["rule", "model"])),
        "rule_id": pa.Column(pl.String, nullable=True),
        "confidence": pa.Column(pl.Float64, checks=pa.Check.in_range(0.0, 1.0)),
        "topic_id": pa.Column(pl.Int64),
        "topic_label": pa.Column(pl.String),
        "topic_words": pa.Column(pl.String),
        "model_version": pa.Column(pl.String),
        "pii_redacted": pa.Column(pl.Int32, checks=pa.Check.ge(0)),
    },
    strict=True,
    ordered=True,
    name="classified_prompts",
)
"""One classified prompt per row; carries no prompt text."""
