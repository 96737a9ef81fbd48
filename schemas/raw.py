"""Stage boundary 1: a raw prompt log batch mapped onto the input contract."""

from __future__ import annotations

from datetime import datetime

import pandera.polars as pa
import polars as pl

# Characters that leave nothing to read: whitespace and separators, control characters (NUL
# included) and invisible format characters (zero-width space/joiners, BOM, bidi marks).
INVISIBLE = r"[\s\p{Z}\p{Cc}\p{Cf}]"


def _not_blank(column: str) -> pa.Check:
    """Something visible is left once whitespace, control and zero-width characters go."""
    return pa.Check(
        lambda data: data.lazyframe.select(
            pl.col(data.key).str.replace_all(INVISIBLE, "").str.len_chars() > 0
        ),
        name="not_blank",
    )


def raw_prompt_schema(
    window_start: datetime, window_end: datetime, max_text_chars: int, department_pattern: str
) -> pa.DataFrameSchema:
    """Schema of one night's batch; the run window and limits come from settings."""
    return pa.DataFrameSchema(
        {
            "source_row": pa.Column(pl.UInt32, nullable=False),
            "prompt_id": pa.Column(pl.String, nullable=False, checks=[_not_blank("prompt_id")]),
            "user_id": pa.Column(pl.String, nullable=False, checks=[_not_blank("user_id")]),
            "department": pa.Column(
                pl.String,
                nullable=False,
                checks=[
                    pa.Check(
                        lambda data: data.lazyframe.select(
                            pl.col(data.key).str.contains(department_pattern)
                        ),
                        name="format",
                    ),
                ],
            ),
            "text": pa.Column(
                pl.String,
                nullable=False,
                checks=[
                    _not_blank("text"),
                    pa.Check(
                        lambda data: data.lazyframe.select(
                            pl.col(data.key).str.len_chars() <= max_text_chars
                        ),
                        name=f"max_length_{max_text_chars}",
                    ),
                ],
            ),
            "tool": pa.Column(pl.String, nullable=True),
            "timestamp": pa.Column(pl.String, nullable=True),
            # Null here means the timestamp text could not be parsed as ISO 8601.
            "event_ts": pa.Column(
                pl.Datetime("us", "UTC"),
                nullable=False,
                checks=[
                    pa.Check(
                        lambda data: data.lazyframe.select(
                            pl.col(data.key).is_between(window_start, window_end, closed="left")
                        ),
                        name="in_run_window",
                    ),
                ],
            ),
        },
        strict=False,
        coerce=False,
        name="raw_prompts",
    )
