"""Which of a night's prompt ids are already loaded for another date."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from insight_core.warehouse.sql import sql_literal


@dataclass(frozen=True)
class LoadedIdLookup:
    """What :func:`look_up_loaded_ids` found: ids loaded on other dates, and the files it read."""

    loaded: dict[str, date]  # prompt_id -> the other date it is loaded for
    partition_files: tuple[str, ...]  # every date's per-prompt file the lookup compared with


def _has_classifications(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = 'core' AND table_name = 'classifications'"
    ).fetchone()
    return bool(found and found[0])


def look_up_loaded_ids(
    published: Path, id_files: Sequence[Path], run_date: date, memory_limit: str | None = None
) -> LoadedIdLookup:
    """Which ``prompt_id``s of the Parquet ``id_files`` are already loaded for another date than
    ``run_date``, and which per-date files that was decided from.

    One lookup for a whole night: unless ids sort by date (then Parquet statistics skip the
    other dates' files), every loaded date's ids are read, so a lookup per chunk made a night's
    cost follow the history. Pass ``partition_files`` to the publication
    (:attr:`PublishRequest.ids_looked_up_in`): its check then reads only dates published since.
    ``memory_limit`` caps DuckDB's memory (its hash table of the night's ids).
    """
    if not id_files or not published.exists():
        return LoadedIdLookup({}, ())
    config: dict[str, str | bool | int | float | list[str]] = (
        {"memory_limit": memory_limit} if memory_limit else {}
    )
    with duckdb.connect(str(published), read_only=True, config=config) as con:
        if not _has_classifications(con):
            return LoadedIdLookup({}, ())
        night = f"read_parquet([{', '.join(sql_literal(str(f)) for f in id_files)}])"
        # IN builds DuckDB's hash table on the night's ids, not on the history's.
        loaded = con.execute(
            "SELECT prompt_id, run_date FROM core.classifications "
            f"WHERE run_date <> ? AND prompt_id IN (SELECT prompt_id FROM {night})",
            [run_date],
        ).fetchall()
        return LoadedIdLookup(
            {row[0]: row[1] for row in loaded},
            tuple(
                row[0]
                for row in con.execute(
                    "SELECT path FROM ops.partitions WHERE dataset = 'classifications' "
                    "ORDER BY run_date"
                ).fetchall()
            ),
        )
