"""What staging a source produces: the rows staged, the lines and files that could not be
read, and the tags that say where each row came from."""

from __future__ import annotations

from dataclasses import dataclass, field

# Where each row came from; internal names so they cannot clash with a source's own columns.
FILE_TAG = "__source_file"
LINE_TAG = "__source_line"


@dataclass(frozen=True)
class RejectedInput:
    """A line (or, with ``line`` None, a whole file) that could not be read as a row.

    ``detail`` is the reader's message, never the content: a broken line may hold PII.
    """

    file: str
    line: int | None
    check: str
    detail: str


@dataclass
class StagedSource:
    """What staging a source produced: the rows staged and what could not be read."""

    rows_staged: int
    rejected: list[RejectedInput] = field(default_factory=list)
    # Lines whose invalid bytes (UTF-8, or the file's marked encoding) were replaced with
    # U+FFFD (the rows are kept).
    lines_bytes_replaced: int = 0
    # Spans of an OTel export that are no GenAI calls (HTTP, database): no records.
    spans_skipped: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        """Rows staged plus rejected lines/files: every one is accounted for downstream."""
        return self.rows_staged + len(self.rejected)
