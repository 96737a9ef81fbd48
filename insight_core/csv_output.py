"""CSV that is safe to open in a spreadsheet (formula injection, OWASP "CSV Injection").

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return can run as a
formula (``=HYPERLINK(...)``) when an analyst opens the file in Excel or LibreOffice, and so can
one where whitespace comes first (`` =1+1``: spreadsheets skip it). Such text cells get a
leading apostrophe, which spreadsheets show as text. Numeric columns are left alone, and so are
text cells that are plain numbers (``-3.5``), so numbers stay numbers.

CSV has no nested values: list, array and struct columns (a DuckDB ``MAP`` arrives as a list of
key/value structs) are written as JSON text, then neutralised like any other text.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

FORMULA_START = r"^[\t\r]|^\s*[=+\-@]"
PLAIN_NUMBER = r"^ *[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def flatten_nested(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every list, array and struct column as JSON text (null stays null)."""
    nested = [name for name, dtype in frame.schema.items() if dtype.is_nested()]
    return frame.with_columns(
        pl.Series(
            name,
            [
                None if value is None else json.dumps(value, ensure_ascii=False, default=str)
                for value in frame.get_column(name).to_list()
            ],
            dtype=pl.String,
        )
        for name in nested
    )


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every formula-like text cell prefixed by an apostrophe."""
    text_columns = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(FORMULA_START) & ~pl.col(name).str.contains(PLAIN_NUMBER))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name in text_columns
    )


def safe_csv(frame: pl.DataFrame) -> str:
    """``frame`` as CSV text: nested values as JSON, formula-like cells neutralised."""
    return neutralise_formulas(flatten_nested(frame)).write_csv()


def write_safe_csv(frame: pl.DataFrame, destination: Path) -> None:
    """Write ``frame`` to ``destination`` as CSV like :func:`safe_csv`."""
    neutralise_formulas(flatten_nested(frame)).write_csv(destination)
