"""Page: category trends, the week's movers and alerts, read-only from the warehouse."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import streamlit as st

from insight_core.serve.webapp import common, data

COMPANY = "Whole company"
MOVER_COLUMNS = (
    "iso_week",
    "department",
    "category",
    "prompts",
    "users",
    "share",
    "share_change",
    "prompts_change",
    "prompts_change_rel",
    "spike_score",
    "is_spike",
)
ALERT_COLUMNS = (
    "headline",
    "status",
    "kind",
    "scope",
    "department",
    "category",
    "topic_label",
    "period",
    "share",
    "baseline_share",
    "spike_score",
    "detected_on",
)

Key = tuple[str, int]


# Keyed by the file's modification time: a new publication (an atomic replace) is a new key.
@st.cache_data(show_spinner=False, max_entries=8)
def _tables(published: str, stamp: int) -> set[str]:
    return data.analytics_tables(Path(published))


@st.cache_data(show_spinner=False, max_entries=32)
def _view(published: str, stamp: int, name: str) -> pl.DataFrame:
    return data.read_view(Path(published), name)


@st.cache_data(show_spinner=False, max_entries=8)
def _thresholds(published: str, stamp: int) -> dict[str, int]:
    return data.privacy_thresholds(Path(published))


def _threshold_note(thresholds: dict[str, int]) -> str:
    default = thresholds.get("*")
    specific = ", ".join(f"{k} {v}" for k, v in sorted(thresholds.items()) if k != "*")
    rule = (
        f"fewer than {default} distinct users"
        + (f" (per category: {specific})" if specific else "")
        if default is not None
        else "too few distinct users"
    )
    return (
        f"Cells with {rule}, and cells hidden so that no total gives one back, are **not "
        "shown**: they have no row, like a category without prompts, and read *–* in the "
        "tables. They are not counted either: a count would tell that such groups exist."
    )


def _selected(columns: tuple[str, ...], frame: pl.DataFrame) -> list[str]:
    return [c for c in columns if c in frame.columns]


def render() -> None:
    """The trends page."""
    st.title("Trends")
    published = common.get_settings().warehouse_file
    if not published.exists():
        st.warning(f"No warehouse at {published} yet: run `insight demo` or `insight run` first.")
        return
    key: Key = (str(published), published.stat().st_mtime_ns)
    try:
        tables = _tables(*key)
        thresholds = _thresholds(*key)
    except Exception as exc:
        st.error(f"Cannot read the warehouse: {common.describe(exc)}")
        return
    st.caption(f"Read-only from `{published}`. " + _threshold_note(thresholds))
    if data.DAILY_VIEW not in tables:
        _missing(data.DAILY_VIEW)
        return
    daily = _view(*key, data.DAILY_VIEW)
    scopes = data.departments_by_size(daily)
    if data.COMPANY_DAILY_VIEW in tables:
        scopes = [COMPANY, *scopes]
    if not scopes:
        st.info("No published days yet.")
        return
    choice = st.selectbox("Department", scopes, key="trend_scope")
    department = None if choice == COMPANY else choice
    _daily_section(key, daily, department)
    _movers_section(key, tables, department)
    _alerts_section(key, tables)


def _missing(view: str) -> None:
    st.info(
        f"This warehouse has no `analytics.{view}` yet: it is built by a newer version of the "
        "nightly flow. Upgrade, then the next nightly run (or `insight demo`) adds it."
    )


def _daily_section(key: Key, daily: pl.DataFrame, department: str | None) -> None:
    st.header("Category shares over time")
    name = department or "the whole company"
    rows = data.in_scope(
        _view(*key, data.COMPANY_DAILY_VIEW) if department is None else daily, department
    )
    series = data.share_series(rows)
    if series.height:
        st.line_chart(series, x="date", y_label="share of prompts (%)")
    st.caption(
        f"Share of {name}'s published prompts per day and category (shares are of the cells "
        "shown, so they add up to 100 % a day). *–*: no prompts, or below the minimum group "
        "size."
    )
    st.dataframe(data.share_table(rows), hide_index=True)


def _movers_section(key: Key, tables: set[str], department: str | None) -> None:
    st.header("This week's movers")
    view = data.WEEKLY_VIEW if department else data.COMPANY_WEEKLY_VIEW
    if view not in tables:
        _missing(view)
        return
    weekly = data.in_scope(_view(*key, view), department)
    movers = data.weekly_movers(weekly)
    if movers.week is None:
        st.info("No published weeks yet.")
        return
    if movers.complete:
        st.caption(
            f"Week {movers.week}, the latest complete week: the biggest changes of share against "
            f"the week before, among its {movers.cells} published cell(s); a change shows only "
            "when both weeks are published."
        )
    else:
        st.caption(
            f"Week {movers.week} is still in progress and no week is complete yet, so there is "
            "no change to rank."
        )
    if movers.table.height:
        st.dataframe(
            data.display_table(movers.table.select(_selected(MOVER_COLUMNS, movers.table))),
            hide_index=True,
        )
    with st.expander(f"Every published cell of week {movers.week}"):
        this_week = weekly.filter(pl.col("iso_week") == movers.week)
        st.dataframe(data.display_table(this_week), hide_index=True)


def _alerts_section(key: Key, tables: set[str]) -> None:
    st.header("Alerts")
    if data.ALERTS_VIEW not in tables:
        _missing(data.ALERTS_VIEW)
        return
    alerts = _view(*key, data.ALERTS_VIEW)
    if alerts.height == 0:
        st.success("No alerts.")
        return
    if "status" in alerts.columns:
        active = alerts.filter(pl.col("status") == "active").height
        st.caption(
            f"{active} active, {alerts.height - active} withdrawn (a rerun changed the data and "
            "the alert no longer holds; only what and where are shown)."
        )
        order = [pl.col("status") != "active"]
        if "detected_on" in alerts.columns:
            order.append(pl.col("detected_on"))
        alerts = alerts.sort(order, descending=[False] + [True] * (len(order) - 1))
    # An alert message links here with ?alert=<alert_id>: that alert first, on its own.
    wanted = st.query_params.get("alert")
    if wanted and "alert_id" in alerts.columns:
        chosen = alerts.filter(pl.col("alert_id") == wanted)
        if chosen.height:
            row = chosen.row(0, named=True)
            st.info(f"Alert {wanted} ({row.get('status', 'active')}): {row.get('headline', '')}")
            st.dataframe(
                data.display_table(
                    chosen.select(_selected(ALERT_COLUMNS, chosen) or chosen.columns)
                ),
                hide_index=True,
            )
        else:
            st.warning(f"Alert {wanted} is not in this warehouse.")
    st.dataframe(
        data.display_table(alerts.select(_selected(ALERT_COLUMNS, alerts) or alerts.columns)),
        hide_index=True,
    )
