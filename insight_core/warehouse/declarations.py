"""What each ``analytics`` relation declares about its privacy (``warehouse/analytics.toml``).

The declarations are the one list of analyst-facing relations: the checks that keep cells
above their thresholds and keys unique are generated from them, a relation the models create
without one fails the publication, and the analyst copy holds only the published ones.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from typing import Any

from insight_core.errors import InsightError
from insight_core.warehouse.sql import sql_literal, warehouse_text

SUPPRESSION_KINDS = ("cells", "derived", "unpublished")
BUILD_KINDS = ("scoped", "replaced")
_FIELDS = {"suppression", "key", "users", "category", "visible", "derived_from", "build"}
_NEEDED = {
    "cells": {"key", "users", "category", "visible"},
    "derived": {"key", "derived_from"},
    "unpublished": set[str](),
}


@dataclass(frozen=True)
class Relation:
    """One ``analytics`` relation and how its rows are protected (see the declarations file)."""

    name: str
    suppression: str
    build: str
    key: tuple[str, ...] = ()
    users: str | None = None
    category: str | None = None
    visible: str | None = None
    derived_from: tuple[str, ...] = ()

    @property
    def published(self) -> bool:
        """Is it copied to the analyst copy?"""
        return self.suppression != "unpublished"

    def cell_sql(self) -> str:
        """The SQL text of one row's key: its columns joined by ``|``."""
        if len(self.key) == 1:
            return self.key[0]
        return f"concat_ws('|', {', '.join(self.key)})"


def _relation(name: str, fields: dict[str, Any]) -> Relation:
    unknown = set(fields) - _FIELDS
    kind = fields.get("suppression")
    build = fields.get("build", "replaced")
    if unknown or kind not in SUPPRESSION_KINDS or build not in BUILD_KINDS:
        raise InsightError(
            f"warehouse/analytics.toml: relation {name} needs suppression in {SUPPRESSION_KINDS}, "
            f"build in {BUILD_KINDS} and no other fields than {sorted(_FIELDS)}"
        )
    missing = _NEEDED[str(kind)] - set(fields)
    if missing:
        raise InsightError(
            f"warehouse/analytics.toml: relation {name} ({kind}) lacks {sorted(missing)}"
        )
    return Relation(
        name=name,
        suppression=str(kind),
        build=str(build),
        key=tuple(str(c) for c in fields.get("key", ())),
        users=str(fields["users"]) if "users" in fields else None,
        category=str(fields["category"]) if "category" in fields else None,
        visible=str(fields["visible"]) if "visible" in fields else None,
        derived_from=tuple(str(r) for r in fields.get("derived_from", ())),
    )


@cache
def analytics_relations() -> tuple[Relation, ...]:
    """Every declared ``analytics`` relation, in the order of the declarations file."""
    declared = tomllib.loads(warehouse_text("analytics.toml")).get("relations", {})
    relations = tuple(_relation(name, fields) for name, fields in declared.items())
    cells = {r.name for r in relations if r.suppression == "cells"}
    for relation in relations:
        if not set(relation.derived_from) <= cells:
            raise InsightError(
                f"warehouse/analytics.toml: {relation.name} is derived from relations not "
                f"declared as cells: {sorted(set(relation.derived_from) - cells)}"
            )
    if not relations:
        raise InsightError("warehouse/analytics.toml declares no relation")
    return relations


def published_relations() -> list[str]:
    """Names of the relations the analyst copy holds."""
    return [r.name for r in analytics_relations() if r.published]


def scoped_relations() -> list[str]:
    """``analytics.<name>`` of the relations a full rebuild drops (``build = "scoped"``)."""
    return [f"analytics.{r.name}" for r in analytics_relations() if r.build == "scoped"]


def _template(name: str) -> str:
    return warehouse_text("checks", "from_declarations", f"{name}.sql")


def no_small_cells_sql() -> str:
    """The small-cell check over every relation declared ``cells``."""
    visible = "\n    UNION ALL\n".join(
        f"    SELECT {sql_literal(r.name)} AS table_name, {r.cell_sql()} AS cell,\n"
        f"           {r.category} AS category, {r.users} AS users\n"
        f"    FROM analytics.{r.name} WHERE {r.visible}"
        for r in analytics_relations()
        if r.suppression == "cells"
    )
    return _template("no_small_cells").replace("{{visible_cells}}", visible)


def unique_keys_sql() -> str:
    """The one-row-per-key check over every published relation."""
    keyed = "\nUNION ALL\n".join(
        f"SELECT {sql_literal(r.name)} AS table_name, {r.cell_sql()} AS key, count(*) AS copies\n"
        f"FROM analytics.{r.name} GROUP BY {', '.join(r.key)} HAVING count(*) > 1"
        for r in analytics_relations()
        if r.published
    )
    return _template("unique_analytics_keys").replace("{{keyed_rows}}", keyed)


def undeclared_relations_sql() -> str:
    """The check that every table and view of the ``analytics`` schema is declared."""
    declared = ", ".join(sql_literal(r.name) for r in analytics_relations())
    return _template("analytics_relations_declared").replace("{{declared}}", declared)


def generated_checks() -> list[tuple[str, str]]:
    """(check file name, SQL) of the checks built from the declarations."""
    return [
        ("analytics_relations_declared.sql", undeclared_relations_sql()),
        ("no_small_cells.sql", no_small_cells_sql()),
        ("unique_analytics_keys.sql", unique_keys_sql()),
    ]
