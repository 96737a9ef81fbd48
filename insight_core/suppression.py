"""Complementary suppression over the published marginals (models/core/004_cell_suppression.sql).

Prompt counts add up along the hierarchy the analytics tables publish: departments add up to
the company-wide cell, days to the week, categories to the company's period total, topics to
their model version's period total. Whenever such a parent is published, the analyst gets
the sum of its hidden children back by subtraction. This module hides enough further cells
that every such sum covers at least two hidden cells whose users together (distinct users
over the union, not the sum of the cells' counts: a person may be in several days) reach the
strictest threshold among them. The union is a set operation over per-user rows, which is
why this step is Python and not a recursive SQL query.

The SQL model writes the temp tables ``suppression_inputs`` (every non-empty cell) and
``suppression_weeks`` (the weeks to decide); :func:`decide_weeks` writes their rows of
``core.cell_suppression``. The published tables are attacked independently, after the build,
by :mod:`insight_core.disclosure_audit`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from typing import Any

import duckdb
import polars as pl

# Every cell of one week that the fixpoint decides.
_CELLS_SQL = """
SELECT cell_id, kind, grain, period, week_start, department, category, model_version,
       topic_id, prompts, users, min_users, small_group
FROM suppression_inputs
WHERE week_start IN (SELECT week_start FROM suppression_weeks)
ORDER BY week_start, cell_id
"""

# A family's grouping key: a tuple of the cell fields that group it.
_Key = tuple[Any, ...]

# A fixpoint that has not settled after this many passes over a week is a bug, not data.
MAX_PASSES = 10_000


@dataclass
class Cell:
    """One non-empty cell of an analyst-facing grid."""

    cell_id: str
    kind: str  # 'category' or 'topic'
    grain: str  # 'day' or 'week'
    period: date
    week_start: date
    department: str  # '(all)' for company-wide and topic cells
    category: str | None
    model_version: str | None
    topic_id: int | None
    prompts: int
    users: int
    min_users: int
    small_group: bool
    suppressed: bool = False


@dataclass
class Family:
    """A published parent and the cells that add up to it.

    ``parent`` is a cell id, or None when the parent is a period total that has no row of its
    own; ``total_of`` then names the cells whose visibility publishes it (any visible one), and
    ``sum_of`` the cells that publish it when all of them are visible (the company's total is
    the sum of the departments' totals, each known once all its cells are visible).
    """

    name: str
    children: list[str]
    parent: str | None = None
    total_of: list[str] = field(default_factory=list)
    sum_of: list[str] = field(default_factory=list)


def sql_query(name: str) -> str:
    """SQL text of ``warehouse/queries/<name>``."""
    return resources.files("warehouse").joinpath("queries", name).read_text(encoding="utf-8")


def families(cells: Mapping[str, Cell]) -> list[Family]:
    """Every parent/children family of one week's cells (see the module docstring)."""
    departments: dict[_Key, list[str]] = defaultdict(list)
    company_categories: dict[_Key, list[str]] = defaultdict(list)
    days: dict[_Key, list[str]] = defaultdict(list)
    topics: dict[_Key, list[str]] = defaultdict(list)
    period_cells: dict[_Key, list[str]] = defaultdict(list)
    department_cells: dict[_Key, list[str]] = defaultdict(list)
    week_days: dict[_Key, list[str]] = defaultdict(list)
    week_cells: dict[_Key, list[str]] = defaultdict(list)
    ids: dict[_Key, str] = {}
    for cell in cells.values():
        series = (cell.kind, cell.department, cell.category, cell.model_version, cell.topic_id)
        ids[(cell.grain, cell.period, *series)] = cell.cell_id
        group = (cell.week_start, cell.kind, cell.department, cell.model_version)
        if cell.grain == "day":
            days[(cell.week_start, *series)].append(cell.cell_id)
            week_days[group].append(cell.cell_id)
        else:
            week_cells[group].append(cell.cell_id)
        if cell.kind == "category":
            if cell.department == "(all)":
                company_categories[(cell.grain, cell.period)].append(cell.cell_id)
                period_cells[(cell.grain, cell.period)].append(cell.cell_id)
            else:
                departments[(cell.grain, cell.period, cell.category)].append(cell.cell_id)
                department_cells[(cell.grain, cell.period)].append(cell.cell_id)
        else:
            topics[(cell.grain, cell.period, cell.model_version)].append(cell.cell_id)
            period_cells[(cell.grain, cell.period)].append(cell.cell_id)
    found = []
    for (grain, period, category), children in departments.items():
        parent = ids.get((grain, period, "category", "(all)", category, None, None))
        found.append(Family("departments", sorted(children), parent=parent))
    for (grain, period), children in company_categories.items():
        # The company's period total: published by any visible company-wide category cell
        # (shares are of visible cells, so only when all are visible) or by the topic tables
        # (the same prompts). Treated as published while any of them is visible.
        found.append(
            Family(
                "categories",
                sorted(children),
                total_of=sorted(period_cells[(grain, period)]),
                sum_of=sorted(department_cells[(grain, period)]),
            )
        )
    for (grain, period), children in department_cells.items():
        # The company's period total minus the totals of the departments known in full gives
        # the hidden cells of the others: of every department, taken together.
        found.append(
            Family(
                "department totals",
                sorted(children),
                total_of=sorted(period_cells[(grain, period)]),
                sum_of=sorted(children),
            )
        )
    for group, children in week_days.items():
        # A department's (or the company's, or a model version's) week total minus its day
        # totals: treated as published while any of its weekly cells is visible.
        found.append(Family("day totals", sorted(children), total_of=sorted(week_cells[group])))
    for (grain, period, _version), children in topics.items():
        found.append(
            Family(
                "topics",
                sorted(children),
                total_of=sorted(period_cells[(grain, period)]),
                sum_of=sorted(department_cells[(grain, period)]),
            )
        )
    for key, children in days.items():
        parent = ids.get(("week", *key))
        found.append(Family("days", sorted(children), parent=parent))
    return sorted(found, key=lambda f: (f.name, f.children))


def _published(family: Family, cells: Mapping[str, Cell]) -> bool:
    if family.parent is not None:
        return not cells[family.parent].suppressed
    if any(not cells[c].suppressed for c in family.total_of):
        return True
    return bool(family.sum_of) and all(not cells[c].suppressed for c in family.sum_of)


def _splits(week_families: Iterable[Family]) -> dict[str, list[list[str]]]:
    """Every way a cell with a row splits into other cells (its families as the parent)."""
    found: dict[str, list[list[str]]] = defaultdict(list)
    for family in week_families:
        if family.parent is not None:
            found[family.parent].append(family.children)
    return found


def _residual(
    cell_id: str,
    cells: Mapping[str, Cell],
    splits: Mapping[str, list[list[str]]],
    memo: dict[str, frozenset[str]],
) -> frozenset[str]:
    """The finest hidden cells a cell still stands for once an analyst subtracts the visible
    parts of its best split (the one that leaves the fewest), as the disclosure audit reduces it:
    nothing for a visible cell, the cell itself when it does not split."""
    if not cells[cell_id].suppressed:
        return frozenset()
    if cell_id not in memo:
        best: frozenset[str] | None = None
        for children in splits.get(cell_id, []):
            left = frozenset().union(*(_residual(c, cells, splits, memo) for c in children))
            if best is None or len(left) < len(best):
                best = left
        memo[cell_id] = frozenset([cell_id]) if best is None else best
    return memo[cell_id]


def _safe(
    hidden: Iterable[Cell],
    user_sets: Mapping[str, frozenset[str]],
    cells: Mapping[str, Cell] | None = None,
    splits: Mapping[str, list[list[str]]] | None = None,
) -> bool:
    """Do these hidden cells (two or more) together reach the strictest of their thresholds?

    With ``cells`` and ``splits`` the people counted are those of the finest hidden cells the
    hidden ones reduce to (:func:`_residual`): a hidden company day whose departments are
    mostly visible gives back only its hidden departments, not all its people. A sum that
    reduces to nothing is known anyway, and the rule for a hidden parent whose children are
    all visible decides it.
    """
    hidden = list(hidden)
    if len(hidden) < 2:
        return False
    if cells is None or splits is None:
        finest = hidden
    else:
        memo: dict[str, frozenset[str]] = {}
        ids = frozenset().union(*(_residual(c.cell_id, cells, splits, memo) for c in hidden))
        if not ids:
            return True
        finest = [cells[c] for c in sorted(ids)]
    needed = max(c.min_users for c in [*hidden, *finest])
    if any(c.users >= needed for c in finest):
        return True
    union: set[str] = set()
    for cell in finest:
        union |= user_sets.get(cell.cell_id, frozenset())
        if len(union) >= needed:
            return True
    return False


def _next_to_hide(
    family: Family, cells: Mapping[str, Cell], splits: Mapping[str, list[list[str]]]
) -> Cell | None:
    """The smallest visible cell (fewest prompts, then cell_id) that adds to what the family's
    hidden children give back: one of its visible children, or a visible part of a hidden child
    (a department of a hidden company day), which keeps the larger cell's siblings visible."""
    candidates = [c for c in family.children if not cells[c].suppressed]
    for child in family.children:
        if cells[child].suppressed:
            for parts in splits.get(child, []):
                candidates.extend(c for c in parts if not cells[c].suppressed)
    if not candidates:
        return None
    return min((cells[c] for c in set(candidates)), key=lambda c: (c.prompts, c.cell_id))


def settle(cells: Mapping[str, Cell], user_sets: Mapping[str, frozenset[str]]) -> int:
    """Run the fixpoint over one week's cells in place; returns the passes it took.

    ``user_sets`` holds the users of every cell with fewer users than the strictest threshold.
    """
    for cell in cells.values():
        cell.suppressed = cell.small_group
    week_families = families(cells)
    splits = _splits(week_families)
    for passes in range(1, MAX_PASSES + 1):
        changed = False
        for family in week_families:
            if family.parent is not None and cells[family.parent].suppressed:
                # A hidden cell whose children are all visible is their sum: hide one of them.
                if all(not cells[c].suppressed for c in family.children):
                    smallest = min(
                        (cells[c] for c in family.children), key=lambda c: (c.prompts, c.cell_id)
                    )
                    smallest.suppressed = True
                    changed = True
                continue
            if not _published(family, cells):
                continue
            hidden = [cells[c] for c in family.children if cells[c].suppressed]
            if not hidden:
                continue
            while not _safe(hidden, user_sets, cells, splits):
                following = _next_to_hide(family, cells, splits)
                if following is not None:
                    following.suppressed = True
                    if following.cell_id in family.children:
                        hidden.append(following)
                elif family.parent is not None:
                    cells[family.parent].suppressed = True
                    break
                else:
                    # A total without a row of its own: published only while some cell is
                    # visible, and hiding them all is what the other families then decide.
                    # It is also the sum of the departments' totals (a topic the catalogue
                    # hides can leave a period's topics all hidden while every department cell
                    # is visible): hiding one department cell leaves that sum unknown.
                    for cell_id in family.total_of:
                        cells[cell_id].suppressed = True
                    if family.sum_of and all(not cells[c].suppressed for c in family.sum_of):
                        min(
                            (cells[c] for c in family.sum_of), key=lambda c: (c.prompts, c.cell_id)
                        ).suppressed = True
                    break
                changed = True
        if not changed:
            return passes
    raise RuntimeError(f"complementary suppression did not settle in {MAX_PASSES} passes")


def decide_weeks(con: duckdb.DuckDBPyConnection) -> None:
    """Decide every cell of ``suppression_weeks`` and write it to ``core.cell_suppression``."""
    cursor = con.execute(_CELLS_SQL)
    names = [d[0] for d in cursor.description]
    by_week: dict[date, dict[str, Cell]] = defaultdict(dict)
    for row in cursor.fetchall():
        cell = Cell(**dict(zip(names, row, strict=True)))
        by_week[cell.week_start][cell.cell_id] = cell
    if not by_week:
        return
    con.execute(sql_query("suppression_user_set_cells.sql"))
    user_sets = {
        cell_id: frozenset(users)
        for cell_id, users in con.execute(sql_query("cell_users.sql")).fetchall()
    }
    rows = []
    for week_start in sorted(by_week):
        cells = by_week[week_start]
        passes = settle(cells, user_sets)
        for cell in cells.values():
            reason = (
                "small_group" if cell.small_group else "complementary" if cell.suppressed else None
            )
            rows.append(
                (
                    cell.cell_id,
                    week_start,
                    cell.prompts,
                    cell.small_group,
                    cell.suppressed,
                    reason,
                    passes,
                )
            )
    decided = pl.DataFrame(  # noqa: F841 - read by DuckDB
        rows,
        schema={
            "cell_id": pl.String,
            "week_start": pl.Date,
            "prompts": pl.Int64,
            "small_group": pl.Boolean,
            "suppressed": pl.Boolean,
            "reason": pl.String,
            "passes": pl.Int32,
        },
        orient="row",
    )
    con.execute("INSERT INTO core.cell_suppression BY NAME SELECT * FROM decided")
