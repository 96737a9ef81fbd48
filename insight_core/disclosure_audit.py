"""The disclosure audit: attack the analyst-facing tables the way an analyst could.

It runs with the checks after every build (``warehouse.run_checks``) and fails the publication
when it finds anything, so it is the proof that complementary suppression
(:mod:`insight_core.suppression`) did its job, made without looking at how it was done: it
reads only what the trend tables publish, and measures it against the truth in ``core``.

What an analyst knows: every visible cell's prompts; every period total a share gives away
(``prompts / share``: the true total when shares are of all prompts, only the visible sum when
shares are of visible prompts, which gives nothing away); the company's total from the topic
tables and the other way round. Prompt counts add up along the hierarchy, so a known parent
minus its known children is the sum of the unknown ones. The audit

1. closes that knowledge: a node with every child known is known, and a known parent with a
   single unknown child gives it back exactly (an *exposed* cell, a finding whatever its size,
   since it can be subtracted further);
2. attacks every known parent through every way it splits (company cell minus departments,
   period total minus categories, company total minus department totals, week minus days,
   week total minus day totals, model version's total minus topics, topic week minus days),
   reducing each unknown child as far as its own children allow, down to the finest cells (a
   department's day and category, a topic's day);
3. reports every derived sum whose people (distinct users over the union of those finest
   cells, from ``core.classifications``) are fewer than the strictest threshold among them;
4. reports every row that marks a hidden cell: it tells that the group exists.

Distinct-user counts are not additive and are not attacked; baselines and scores are computed
from visible shares only (models/core/005, 006) and are not attacked either.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb
import polars as pl

from insight_core.suppression import sql_query

log = logging.getLogger(__name__)

# A node of the published hierarchy: ("cell", kind, grain, period, group, member) or
# ("total", kind, grain, period, group). kind is 'category' (group: a department or '(all)')
# or 'topic' (group: the model version).
Node = tuple[Any, ...]
ALL = "(all)"


@dataclass(frozen=True)
class Finding:
    """A group an analyst can single out."""

    attack: str
    target: str
    cells: int
    users: int
    min_users: int

    def __str__(self) -> str:
        if not self.cells or self.attack == "exposed cell":
            return f"{self.attack}: {self.target}"
        return (
            f"{self.attack}: {self.target} gives back {self.cells} hidden cell(s) of "
            f"{self.users} people (threshold {self.min_users})"
        )


@dataclass(frozen=True)
class _Atom:
    prompts: int
    users: int
    min_users: int


class _Hierarchy:
    """Every non-empty node of the published grids, and how each splits into others."""

    def __init__(self, atoms: Mapping[Node, _Atom]) -> None:
        self.atoms = atoms
        self.splits: dict[Node, list[tuple[str, list[Node]]]] = defaultdict(list)
        self.prompts: dict[Node, int] = defaultdict(int)
        children: dict[tuple[Node, str], set[Node]] = defaultdict(set)
        for atom, facts in atoms.items():
            _, kind, _, day, group, member = atom
            week = day - timedelta(days=day.weekday())
            groups = [group, ALL] if kind == "category" else [group]
            for g in groups:
                day_cell = ("cell", kind, "day", day, g, member)
                week_cell = ("cell", kind, "week", week, g, member)
                day_total = ("total", kind, "day", day, g)
                week_total = ("total", kind, "week", week, g)
                for node in {day_cell, week_cell, day_total, week_total}:
                    self.prompts[node] += facts.prompts
                children[(week_cell, "week minus its days")].add(day_cell)
                children[(day_total, "period total minus its cells")].add(day_cell)
                children[(week_total, "period total minus its cells")].add(week_cell)
                children[(week_total, "week total minus its day totals")].add(day_total)
            if kind == "category":
                for grain, period in (("day", day), ("week", week)):
                    children[
                        (("cell", kind, grain, period, ALL, member), "company minus departments")
                    ].add(("cell", kind, grain, period, group, member))
                    children[
                        (("total", kind, grain, period, ALL), "company total minus departments")
                    ].add(("total", kind, grain, period, group))
        for (parent, how), kids in children.items():
            self.splits[parent].append((how, sorted(kids, key=repr)))

    def nodes(self) -> list[Node]:
        return sorted(self.prompts, key=repr)


def _describe(node: Node) -> str:
    if node[0] == "cell":
        _, kind, grain, period, group, member = node
        return f"{kind} {grain} {period} {group} {member}"
    _, kind, grain, period, group = node
    return f"{kind} {grain} {period} {group} total"


def _known_nodes(
    hierarchy: _Hierarchy, published: pl.DataFrame
) -> tuple[set[Node], list[tuple[Node, Node]]]:
    """What the published rows tell an analyst exactly, closed under subtraction; and every
    (parent, hidden cell) where a parent minus all but one child gives that cell back."""
    known: set[Node] = set()
    visible_sum: dict[Node, int] = defaultdict(int)
    denominators: dict[Node, int] = {}
    for row in published.filter(~pl.col("hidden_row")).iter_rows(named=True):
        member = row["member"]
        cell = ("cell", row["kind"], row["grain"], row["period"], row["grp"], member)
        total = ("total", row["kind"], row["grain"], row["period"], row["grp"])
        known.add(cell)
        visible_sum[total] += row["prompts"]
        if row["share"]:
            denominators[total] = round(row["prompts"] / row["share"])
    for total, denominator in denominators.items():
        # A share's denominator is a known number; it tells the true total only when it is one
        # (a denominator of visible prompts only is the visible sum, already known).
        if denominator == hierarchy.prompts.get(total) or denominator != visible_sum[total]:
            known.add(total)
    # The company's total and the topic tables' totals count the same prompts.
    versions: dict[tuple[str, date], list[Node]] = defaultdict(list)
    for node in hierarchy.nodes():
        if node[0] == "total" and node[1] == "topic":
            versions[(node[2], node[3])].append(node)
    exposed: list[tuple[Node, Node]] = []
    changed = True
    while changed:
        changed = False
        for (grain, period), totals in versions.items():
            company = ("total", "category", grain, period, ALL)
            if company not in known and all(t in known for t in totals):
                known.add(company)
                changed = True
            if company in known and len(totals) == 1 and totals[0] not in known:
                known.add(totals[0])
                changed = True
        for parent in hierarchy.nodes():
            for _, kids in hierarchy.splits.get(parent, []):
                unknown = [k for k in kids if k not in known]
                if parent not in known and not unknown:
                    known.add(parent)
                    changed = True
                elif parent in known and len(unknown) == 1:
                    known.add(unknown[0])
                    changed = True
                    if unknown[0][0] == "cell":
                        exposed.append((parent, unknown[0]))
    return known, exposed


def _residual(
    node: Node, hierarchy: _Hierarchy, known: set[Node], memo: dict[Node, frozenset[Node]]
) -> frozenset[Node]:
    """The finest cells an unknown node still hides once every known part is subtracted (the
    split that leaves the fewest)."""
    if node in known:
        return frozenset()
    if node in hierarchy.atoms:
        return frozenset([node])
    if node not in memo:
        best: frozenset[Node] | None = None
        for _, kids in hierarchy.splits.get(node, []):
            left = frozenset().union(*(_residual(k, hierarchy, known, memo) for k in kids))
            if best is None or len(left) < len(best):
                best = left
        memo[node] = best or frozenset()
    return memo[node]


def _people(
    cells: Iterable[Node], hierarchy: _Hierarchy, user_sets: Mapping[Node, frozenset[str]]
) -> tuple[int, int]:
    """(distinct people, strictest threshold) of some finest cells; the count stops once it
    reaches the threshold."""
    cells = list(cells)
    needed = max(hierarchy.atoms[c].min_users for c in cells)
    largest = max(hierarchy.atoms[c].users for c in cells)
    if largest >= needed:
        return largest, needed
    union: set[str] = set()
    for cell in cells:
        union |= user_sets[cell]
    return len(union), needed


def audit(con: duckdb.DuckDBPyConnection, since: date | None = None) -> list[Finding]:
    """Every group below its threshold an analyst can single out in the published tables, from
    ``since`` (default: the first period the last build rewrote; earlier ones were audited when
    they were published)."""
    if since is None:
        since = _last_rebuilt_from(con)
    params = {"since": since}
    published = _frame(con, sql_query("audit_published.sql"), params).with_columns(
        pl.col("hidden_row").cast(pl.Boolean)
    )
    truth = _frame(con, sql_query("audit_cells.sql"), params)
    findings = [
        Finding(
            "hidden row",
            f"{r['kind']} {r['grain']} {r['period']} {r['grp']} {r['member']}",
            0,
            0,
            0,
        )
        for r in published.filter(pl.col("hidden_row")).iter_rows(named=True)
    ]
    atoms = {
        ("cell", r["kind"], "day", r["period"], r["grp"], r["member"]): _Atom(
            r["prompts"], r["users"], r["min_users"]
        )
        for r in truth.iter_rows(named=True)
    }
    if not atoms:
        return findings
    hierarchy = _Hierarchy(atoms)
    known, exposed = _known_nodes(hierarchy, published)
    for parent, cell in exposed:
        if cell in atoms or hierarchy.prompts[cell]:
            findings.append(
                Finding("exposed cell", f"{_describe(parent)} gives {_describe(cell)}", 1, 0, 0)
            )
    user_sets = _user_sets(con, truth)
    memo: dict[Node, frozenset[Node]] = {}
    seen: set[frozenset[Node]] = set()
    for parent in hierarchy.nodes():
        if parent not in known:
            continue
        for how, kids in hierarchy.splits.get(parent, []):
            left = frozenset().union(*(_residual(k, hierarchy, known, memo) for k in kids))
            if not left or left in seen:
                continue
            seen.add(left)
            people, needed = _people(left, hierarchy, user_sets)
            if people < needed:
                findings.append(Finding(how, _describe(parent), len(left), people, needed))
    return findings


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> pl.DataFrame:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return pl.DataFrame(cursor.fetchall(), schema=names, orient="row", infer_schema_length=None)


def _last_rebuilt_from(con: duckdb.DuckDBPyConnection) -> date:
    row = con.execute(
        "SELECT rebuilt_from FROM ops.model_builds ORDER BY built_at DESC, rowid DESC LIMIT 1"
    ).fetchone()
    return row[0] if row and row[0] else date.min


def _user_sets(con: duckdb.DuckDBPyConnection, truth: pl.DataFrame) -> dict[Node, frozenset[str]]:
    """The users of every finest cell with fewer users than the strictest threshold."""
    strictest = truth.get_column("min_users").max()
    small = truth.filter(pl.col("users") < strictest)
    if not small.height:
        return {}
    cells = small.select(  # noqa: F841 - read by DuckDB
        pl.concat_str(
            [pl.col("kind"), pl.col("period").cast(pl.String), pl.col("grp"), pl.col("member")],
            separator="|",
        ).alias("cell_id"),
        "kind",
        pl.lit("day").alias("grain"),
        "period",
        "week_start",
        pl.when(pl.col("kind") == "category")
        .then(pl.col("grp"))
        .otherwise(pl.lit(ALL))
        .alias("department"),
        pl.when(pl.col("kind") == "category").then(pl.col("member")).alias("category"),
        pl.when(pl.col("kind") == "topic").then(pl.col("grp")).alias("model_version"),
        pl.when(pl.col("kind") == "topic").then(pl.col("member").cast(pl.Int32)).alias("topic_id"),
    )
    con.execute("CREATE OR REPLACE TEMP TABLE user_set_cells AS SELECT * FROM cells")
    found = {
        cell_id: frozenset(users)
        for cell_id, users in con.execute(sql_query("cell_users.sql")).fetchall()
    }
    return {
        ("cell", r["kind"], "day", r["period"], r["grp"], r["member"]): found.get(
            f"{r['kind']}|{r['period']}|{r['grp']}|{r['member']}", frozenset()
        )
        for r in small.iter_rows(named=True)
    }


def log_findings(findings: list[Finding]) -> None:
    for finding in findings[:20]:
        log.error("disclosure audit: %s", finding)
