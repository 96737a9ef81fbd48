"""CSV that is safe to open in a spreadsheet (formula injection, OWASP "CSV Injection").

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return can run as a
formula (``=HYPERLINK(...)``) when an analyst opens the file in Excel or LibreOffice. Such text
cells get a leading apostrophe, which spreadsheets show as text. Numeric columns are left
alone, and so are text cells that are plain numbers (``-3.5``), so numbers stay numbers.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

FORMULA_START = r"^[=+\-@\t\r]"
PLAIN_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


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
    """``frame`` as CSV text with formula-like cells neutralised."""
    return neutralise_formulas(frame).write_csv()


def write_safe_csv(frame: pl.DataFrame, destination: Path) -> None:
    """Write ``frame`` to ``destination`` as CSV with formula-like cells neutralised."""
    neutralise_formulas(frame).write_csv(destination)
