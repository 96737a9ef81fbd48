"""Pure logic behind the API and the web app: settings, hard cases, trend display, CSV input."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
import typer.main

from flows.cli import app as cli_app
from insight_core.errors import SourceError
from insight_core.nlp.taxonomy import load_taxonomy
from insight_core.serve.webapp import APP_SCRIPT, data, streamlit_command
from insight_core.settings import InsightSettings

pytestmark = pytest.mark.unit


def test_surface_settings_have_loopback_defaults_and_env_overrides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = InsightSettings()
    assert (settings.api_host, settings.api_port, settings.api_max_batch) == (
        "127.0.0.1",
        8000,
        256,
    )
    assert (settings.app_host, settings.app_port) == ("127.0.0.1", 8501)
    monkeypatch.setenv("INSIGHT_API_MAX_BATCH", "32")
    monkeypatch.setenv("INSIGHT_APP_PORT", "9000")
    settings = InsightSettings()
    assert settings.api_max_batch == 32 and settings.app_port == 9000
    monkeypatch.setenv("INSIGHT_API_MAX_BATCH", "0")
    with pytest.raises(ValueError, match="api_max_batch"):
        InsightSettings()


def test_cli_registers_api_and_app_with_host_and_port_options() -> None:
    group = typer.main.get_command(cli_app)
    for name in ("api", "app"):
        command = group.commands[name]  # type: ignore[attr-defined]
        options = {opt for param in command.params for opt in param.opts}
        assert {"--host", "--port"} <= options


def test_streamlit_command_runs_the_app_script_offline() -> None:
    command = streamlit_command("0.0.0.0", 8600)
    assert APP_SCRIPT.exists() and str(APP_SCRIPT) in command
    flags = dict(zip(command[5::2], command[6::2], strict=True))
    assert flags["--server.address"] == "0.0.0.0" and flags["--server.port"] == "8600"
    assert flags["--browser.gatherUsageStats"] == "false"
    assert flags["--server.headless"] == "true"


def test_hard_cases_cover_every_kind_with_valid_expectations() -> None:
    version, cases = data.load_hard_cases()
    assert version.isdigit()
    categories = set(load_taxonomy(InsightSettings().taxonomy_file).categories)
    assert len({c.id for c in cases}) == len(cases)
    for kind in data.HARD_CASE_KINDS:
        assert sum(c.kind == kind for c in cases) >= 4, kind
    for case in cases:
        assert case.kind in data.HARD_CASE_KINDS, case.id
        assert case.expected in categories, case.id
        assert case.text.strip() and len(case.note) > 40, case.id


def _daily() -> pl.DataFrame:
    """Published rows: Sales' wellbeing cell of Oct 5 is hidden, so it has no row."""
    return pl.DataFrame(
        {
            "date": [date(2026, 10, 5)] * 2 + [date(2026, 10, 6)] * 2,
            "department": ["Sales", "Sales", "Sales", "IT"],
            "category": ["coding", "other", "coding", "coding"],
            "prompts": [6, 4, 9, 12],
            "users": [6, 4, 7, 8],
            "share": [0.6, 0.4, 1.0, 1.0],
            "suppressed": [False] * 4,
        }
    )


def _legacy_row() -> pl.DataFrame:
    """A row that marks a hidden cell, as publications made before hidden cells lost their
    rows still have."""
    return pl.DataFrame(
        {
            "date": [date(2026, 10, 5)],
            "department": ["Sales"],
            "category": ["wellbeing"],
            "prompts": [None],
            "users": [None],
            "share": [None],
            "suppressed": [True],
        },
        schema=_daily().schema,
    )


def test_share_table_reads_the_same_for_a_hidden_cell_and_an_absent_category() -> None:
    table = data.share_table(data.in_scope(_daily(), "Sales"))
    assert table.columns == ["date", "coding", "other"]
    assert table.row(0) == ("2026-10-05", "60.0 %", "40.0 %")
    assert table.row(1) == ("2026-10-06", "100.0 %", "–")
    # a legacy row marking a hidden cell is dropped on reading: no column, no count, no mark
    legacy = data.visible_rows(pl.concat([_daily(), _legacy_row()]))
    assert "suppressed" not in legacy.columns
    assert data.share_table(data.in_scope(legacy, "Sales")).equals(table)


def test_share_series_charts_the_published_cells() -> None:
    series = data.share_series(data.in_scope(_daily(), "Sales"))
    assert "wellbeing" not in series.columns
    assert series.get_column("coding").to_list() == [60.0, 100.0]
    assert data.departments_by_size(_daily()) == ["Sales", "IT"]


def _weekly() -> pl.DataFrame:
    """Published rows: wellbeing is hidden in W41 and W42 (no rows)."""
    weeks = ["2026-W41"] * 2 + ["2026-W42"] * 2 + ["2026-W43"]
    return pl.DataFrame(
        {
            "iso_week": weeks,
            "complete": [True] * 4 + [False],
            "department": ["Sales"] * 5,
            "category": ["coding", "other"] * 2 + ["coding"],
            "prompts": [10, 10, 15, 5, 3],
            "share": [0.5, 0.5, 0.75, 0.25, 1.0],
            "share_change": [None, None, 0.25, -0.3, None],
            "prompts_change_rel": [None, None, 0.5, -0.5, None],
            "suppressed": [False] * 5,
        }
    )


def test_movers_rank_the_latest_complete_week_without_counting_hidden_cells() -> None:
    movers = data.weekly_movers(_weekly())
    assert movers.week == "2026-W42" and movers.complete
    assert movers.table.get_column("category").to_list() == ["other", "coding"]
    assert movers.cells == 2  # the published cells; hidden ones are neither rows nor counted
    in_progress = data.weekly_movers(_weekly().filter(pl.col("iso_week") == "2026-W43"))
    assert in_progress.week == "2026-W43" and not in_progress.complete
    assert data.weekly_movers(_weekly().clear()).week is None


def test_display_table_formats_published_rows_and_drops_hidden_ones() -> None:
    legacy = pl.DataFrame(
        {
            "iso_week": ["2026-W42"],
            "complete": [True],
            "department": ["Sales"],
            "category": ["wellbeing"],
            "prompts": [None],
            "share": [None],
            "share_change": [None],
            "prompts_change_rel": [None],
            "suppressed": [True],
        },
        schema=_weekly().schema,
    )
    shown = data.display_table(pl.concat([_weekly(), legacy]))
    assert "suppressed" not in shown.columns
    assert "wellbeing" not in shown.get_column("category").to_list()
    assert shown.height == _weekly().height
    row = shown.filter(pl.col("iso_week") == "2026-W42", pl.col("category") == "other").row(
        0, named=True
    )
    assert row["share"] == "25.0 %" and row["share_change"] == "-30.0 pp"
    assert row["prompts_change_rel"] == "-50 %" and row["prompts"] == "5"
    first_week = shown.filter(pl.col("iso_week") == "2026-W41")
    assert set(first_week.get_column("share_change").to_list()) == {"–"}


def test_csv_upload_errors_are_clear() -> None:
    with pytest.raises(SourceError, match="empty"):
        data.read_csv_upload(b"  \n", max_rows=10)
    with pytest.raises(SourceError, match="no rows"):
        data.read_csv_upload(b"text\n", max_rows=10)
    with pytest.raises(SourceError, match="over the web app's limit of 2"):
        data.read_csv_upload(b"text\na\nb\nc\n", max_rows=2)
    frame = data.read_csv_upload(b"id,department,prompt\n1,Sales,hello\n", max_rows=10)
    assert data.default_text_column(frame) == "department"
    assert data.default_text_column(frame.rename({"prompt": "text"})) == "text"
