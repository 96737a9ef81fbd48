"""The SQL model runner: ``warehouse/models/<layer>/*.sql`` in order, over the per-prompt rows.

Layers run in order, ``core`` (cells, suppression, scores: restricted) then ``analytics``
(what analysts read, and the alert log behind it); files by name within a layer. A model file
hands state to later ones only through temp relations it declares in its first lines
(``-- hands over: a, b``); a file that reads another's temp relation declares it
(``-- takes: a``). :func:`model_files` refuses files that read an undeclared or not yet handed
over relation, so no model relies on a temp table another file happens to create.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from datetime import date

import duckdb
import polars as pl

from insight_core import suppression
from insight_core.errors import InsightError
from insight_core.warehouse.declarations import scoped_relations
from insight_core.warehouse.partitions import partition_files, rows_sql
from insight_core.warehouse.sql import sql_files

log = logging.getLogger(__name__)

# Derived state a full rebuild starts from scratch (everything else is recreated each build).
_INCREMENTAL_TABLES = (
    "core.category_cell_counts",
    "core.topic_cell_counts",
    "core.topic_users",
    "core.baseline_users",
    "core.cell_suppression",
    "ops.build_dimensions",
)
# Core tables the models rewrite only from the first period a build can change (build_from in
# models/core/000_build_scope.sql); the analytics ones are those warehouse/analytics.toml declares
# build = "scoped". Each model creates its table from its own SELECT when it is missing, so a
# full rebuild drops them and they take the shape the models give them now.
_SCOPED_CORE_TABLES = (
    "core.category_cells",
    "core.topic_cells",
    "core.category_scores",
    "core.topic_scores",
)

# Steps whose set logic is Python, run right after the model file that prepares their input.
_AFTER_MODEL: dict[str, Callable[[duckdb.DuckDBPyConnection], None]] = {
    "004_cell_suppression.sql": suppression.decide_weeks
}


MODEL_LAYERS = ("core", "analytics")
# Temp relations the runner keeps for the models (see build_models); build_dates is also
# handed back to the runner, which shows its dates' rows as build_rows.
_RUNNER_RELATIONS = frozenset(
    {"build_touched", "build_dates", "build_rows", "touched_rows", "replaced_rows"}
)
_TEMP_RELATION = re.compile(r"CREATE\s+OR\s+REPLACE\s+TEMP\s+(?:TABLE|VIEW)\s+(\w+)", re.I)


def _declared(sql: str, what: str) -> set[str]:
    found = re.search(rf"^-- {what}:(.*)$", sql, re.M)
    names = found.group(1).split(",") if found else []
    return {name.strip() for name in names if name.strip()}


def _check_hand_overs(models: Sequence[tuple[str, str]]) -> None:
    """Raise unless every temp relation a model reads from elsewhere is declared and handed
    over by an earlier model (or the runner), and every hand-over is one the model makes."""
    code = {name: re.sub(r"--[^\n]*", "", sql) for name, sql in models}
    made = {name: set(_TEMP_RELATION.findall(code[name])) for name, _ in models}
    elsewhere = set(_RUNNER_RELATIONS).union(*made.values())
    handed = set(_RUNNER_RELATIONS)
    for name, sql in models:
        takes, hands_over = _declared(sql, "takes"), _declared(sql, "hands over")
        read = {r for r in elsewhere - made[name] if re.search(rf"\b{r}\b", code[name])}
        problems = [
            *(f"reads {r} without declaring it (-- takes:)" for r in sorted(read - takes)),
            *(f"takes {r}, which no earlier model hands over" for r in sorted(takes - handed)),
            *(f"hands over {r}, which it does not create" for r in sorted(hands_over - made[name])),
        ]
        if problems:
            raise InsightError(f"warehouse model {name}: {'; '.join(problems)}")
        handed |= hands_over


def model_files() -> list[tuple[str, str]]:
    """(file name, SQL) of every model, in build order (layer by layer)."""
    models = [model for layer in MODEL_LAYERS for model in sql_files(f"models/{layer}")]
    _check_hand_overs(models)
    return models


def _define_rows_view(
    con: duckdb.DuckDBPyConnection, name: str, files: Sequence[str]
) -> tuple[str, ...]:
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {rows_sql(con, 'classifications', files)}")
    return tuple(files)


def _start_from_scratch(con: duckdb.DuckDBPyConnection) -> list[date]:
    """Empty the incremental state, drop the scoped tables; returns every loaded date."""
    for table in _INCREMENTAL_TABLES:
        con.execute(f"DELETE FROM {table}")
    for table in (*_SCOPED_CORE_TABLES, *scoped_relations()):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return [
        row[0]
        for row in con.execute(
            "SELECT run_date FROM ops.partitions WHERE dataset = 'classifications'"
        ).fetchall()
    ]


def build_models(
    con: duckdb.DuckDBPyConnection,
    touched_dates: Sequence[date] | None = None,
    replaced_files: Sequence[str] = (),
) -> None:
    """Bring every analytics model up to date with ``core``.

    ``touched_dates`` are the dates whose per-prompt rows changed since the last build (their
    previous files in ``replaced_files``): only their ISO weeks are recounted, only the weeks
    whose cells changed rerun the suppression fixpoint, and only the baseline windows that hold
    a touched date are recounted; the cell grids, scores and trend tables are rewritten from
    the first period the touched dates can affect on (``build_from``,
    models/core/000_build_scope.sql) and kept before it.
    Without ``touched_dates`` the build starts from scratch over every loaded date. Both give
    the same tables for the same per-prompt rows (tests/integration/test_incremental_publish.py).

    Models read per-prompt rows only through temp views the runner keeps current: before each
    model file, ``build_rows`` shows the files of the dates in the temp table ``build_dates``
    (which a model may rewrite for the models after it), ``touched_rows`` the live files of the
    touched dates and ``replaced_rows`` the files they replaced.
    """
    if touched_dates is None:
        touched = _start_from_scratch(con)
        replaced_files = ()
        mode = "full"
    else:
        touched = sorted(set(touched_dates))
        mode = "incremental"
    touched_frame = pl.DataFrame({"run_date": touched}, schema={"run_date": pl.Date})  # noqa: F841
    con.execute("CREATE OR REPLACE TEMP TABLE build_touched AS SELECT run_date FROM touched_frame")
    con.execute("CREATE OR REPLACE TEMP TABLE build_dates (run_date DATE)")
    _define_rows_view(
        con,
        "touched_rows",
        partition_files(con, "classifications", "SELECT run_date FROM build_touched"),
    )
    _define_rows_view(con, "replaced_rows", list(replaced_files))
    shown: tuple[str, ...] | None = None
    for name, sql in model_files():
        files = partition_files(con, "classifications", "SELECT run_date FROM build_dates")
        if tuple(files) != shown:
            shown = _define_rows_view(con, "build_rows", files)
        started = time.perf_counter()
        try:
            con.execute(sql)
            if name in _AFTER_MODEL:
                _AFTER_MODEL[name](con)
        except duckdb.Error as exc:
            raise InsightError(f"warehouse model {name} failed: {exc}".splitlines()[0]) from exc
        log.debug("model %s (%s) took %.3f s", name, mode, time.perf_counter() - started)
    con.execute("DELETE FROM ops.build_scope")
    con.execute("INSERT INTO ops.build_scope SELECT run_date FROM build_touched")
    con.execute(
        "INSERT INTO ops.model_builds (mode, touched_dates, rebuilt_from) "
        "SELECT ?, ?, period FROM build_from",
        [mode, touched],
    )
