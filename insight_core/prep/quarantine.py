"""The shape of a quarantined row: shared by the reader (unreadable lines and files) and the
validator (rows that fail a check), so neither imports the other for it."""

from __future__ import annotations

import polars as pl

QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "source_row": pl.Int64(),
    "prompt_id": pl.String(),
    "record": pl.String(),
    "failed_checks": pl.List(pl.String),
    "source_file": pl.String(),
    "source_line": pl.Int64(),
}
