"""Every analytics relation declares its suppression (warehouse/analytics.toml)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from insight_core import warehouse
from insight_core.errors import ChecksFailedError, InsightError
from insight_core.warehouse import declarations
from insight_core.warehouse.declarations import Relation
from tests.unit.test_warehouse import DAY, _classified, _request, _users

pytestmark = pytest.mark.unit


def _analytics_relations(path: Path) -> set[str]:
    """Every table and view of the analytics schema of the DuckDB file ``path``."""
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'analytics'"
        ).fetchall()
    return {row[0] for row in rows}


def _publish_with_analyst_copy(tmp_path: Path) -> tuple[Path, Path]:
    published, analyst = tmp_path / "w.duckdb", tmp_path / "analyst.duckdb"
    files = [
        _classified(tmp_path, DAY, _users(6), "coding"),
        _classified(tmp_path, DAY, _users(7), "it_support", prefix="q"),
    ]
    warehouse.publish_run(published, _request(files), analyst_copy=analyst)
    return published, analyst


def _with_throwaway_model(monkeypatch: pytest.MonkeyPatch, sql: str) -> None:
    models = [*warehouse.model_files(), ("999_throwaway.sql", sql)]
    monkeypatch.setattr(warehouse.models, "model_files", lambda: models)


def test_every_analytics_relation_is_covered_by_a_suppression_declaration(
    tmp_path: Path,
) -> None:
    published, analyst = _publish_with_analyst_copy(tmp_path)
    declared = {r.name: r for r in warehouse.analytics_relations()}
    built, copied = _analytics_relations(published), _analytics_relations(analyst)
    assert sorted(built - set(declared)) == [], "no suppression declaration (analytics.toml)"
    assert sorted(copied - set(declared)) == [], "in the analyst copy without a declaration"
    assert copied == {name for name, r in declared.items() if r.published}
    for relation in declared.values():
        # Protected by its own cells, or computed only from relations that are.
        if relation.suppression == "cells":
            assert relation.users and relation.category and relation.visible and relation.key
        elif relation.suppression == "derived":
            assert relation.derived_from
            assert all(declared[s].suppression == "cells" for s in relation.derived_from)


def test_an_undeclared_analytics_table_fails_the_publication(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    published = tmp_path / "w.duckdb"
    warehouse.publish_run(published, _request([_classified(tmp_path, DAY, _users(6))]))
    before = published.read_bytes()
    _with_throwaway_model(monkeypatch, "CREATE OR REPLACE TABLE analytics.throwaway AS SELECT 1")
    rerun = _request([_classified(tmp_path, DAY, _users(6))], run_id="r2")
    with pytest.raises(ChecksFailedError, match="analytics_relations_declared"):
        warehouse.publish_run(published, rerun)
    assert published.read_bytes() == before


def test_an_unpublished_relation_stays_out_of_the_analyst_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    internal = Relation(name="internal_cells", suppression="unpublished", build="replaced")
    relations = (*declarations.analytics_relations(), internal)
    monkeypatch.setattr(declarations, "analytics_relations", lambda: relations)
    _with_throwaway_model(
        monkeypatch, "CREATE OR REPLACE TABLE analytics.internal_cells AS SELECT 1 AS n"
    )
    published, analyst = _publish_with_analyst_copy(tmp_path)
    assert "internal_cells" in _analytics_relations(published)
    assert "internal_cells" not in _analytics_relations(analyst)
    assert "daily_category_trends" in _analytics_relations(analyst)


def test_a_declaration_without_its_user_count_is_refused() -> None:
    with pytest.raises(InsightError, match=r"lacks \['users'\]"):
        declarations._relation(
            "t", {"suppression": "cells", "key": ["a"], "category": "c", "visible": "TRUE"}
        )


def test_a_model_may_read_only_the_temp_relations_handed_over_to_it() -> None:
    scope = "-- hands over: build_from\nCREATE OR REPLACE TEMP TABLE build_from AS SELECT 1;"
    reader = "SELECT * FROM build_from;"
    with pytest.raises(InsightError, match="reads build_from without declaring it"):
        warehouse.models._check_hand_overs([("000_scope.sql", scope), ("010_trend.sql", reader)])
    with pytest.raises(InsightError, match="takes build_from, which no earlier model hands over"):
        warehouse.models._check_hand_overs([("010_trend.sql", f"-- takes: build_from\n{reader}")])
    warehouse.models._check_hand_overs(
        [("000_scope.sql", scope), ("010_trend.sql", f"-- takes: build_from\n{reader}")]
    )
