"""What a run could not write into the warehouse catalog, kept until a later run can.

Recording a run in ``ops.runs`` rewrites a copy of the catalog (the publication's all-or-
nothing swap), which fails exactly when the disk is full or the warehouse is unavailable. The
run's outcome then goes to ``<home>/journal/runs.jsonl`` instead: one small JSON line per
``ops.runs`` record (no prompt data), appended and fsynced. Every run folds the journal into
``ops.runs`` when it begins (:func:`fold`); entries leave the journal only once the catalog
holds them.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

JOURNAL_FILE = "runs.jsonl"
# Fields of an ops.runs record that are dates or timestamps in the catalog.
_DATE_FIELDS = ("run_date",)
_TIME_FIELDS = ("started_at", "finished_at")


def journal_dir(home: Path) -> Path:
    return home / "journal"


def append(home: Path, record: Mapping[str, Any]) -> Path:
    """Append one ``ops.runs`` record (or a warnings update of one) to the journal."""
    folder = journal_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / JOURNAL_FILE
    line = json.dumps(dict(record), default=_plain, ensure_ascii=False) + "\n"
    # One write of a whole line with O_APPEND: concurrent writers never interleave a line.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def _plain(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _typed(record: dict[str, Any]) -> dict[str, Any]:
    for name in _DATE_FIELDS:
        if isinstance(record.get(name), str):
            record[name] = date.fromisoformat(record[name])
    for name in _TIME_FIELDS:
        if isinstance(record.get(name), str):
            record[name] = datetime.fromisoformat(record[name])
    return record


def _read(path: Path) -> list[dict[str, Any]]:
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(_typed(json.loads(line)))
        except ValueError:  # a line cut short by a full disk or a crash mid-write
            log.warning("%s line %d is not a whole record: skipped", path, number)
    return records


def fold(home: Path, write: Callable[[Sequence[Mapping[str, Any]]], None]) -> int:
    """Hand every journal record to ``write`` (one catalog write), then drop them.

    The journal is first renamed aside, so lines appended meanwhile by a concurrent run stay
    in a new journal for the next fold. When ``write`` fails the renamed files stay and are
    folded again next time (``write`` must be idempotent per run id). Returns the records
    folded.
    """
    folder = journal_dir(home)
    current = folder / JOURNAL_FILE
    if current.exists():
        current.replace(folder / f"runs.{uuid.uuid4().hex[:8]}.folding.jsonl")
    pending = sorted(folder.glob("runs.*.folding.jsonl")) if folder.is_dir() else []
    if not pending:
        return 0
    records = [record for path in pending for record in _read(path)]
    if records:
        write(records)
    for path in pending:
        path.unlink(missing_ok=True)
    log.info("folded %d journal records into ops.runs", len(records))
    return len(records)
