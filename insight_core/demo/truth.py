"""The truth about a generated demo month: what was planted, where, and how often."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from insight_core.demo.month import MonthGenerator
from insight_core.demo.scenario import (
    BURNOUT_DEPARTMENT,
    BURNOUT_EVENT,
    BURNOUT_MULTIPLIER,
    CATEGORIES,
    DEPARTMENTS,
    EVENT_DESCRIPTIONS,
    SQL_DEPARTMENT,
    SQL_EVENT,
    SQL_MULTIPLIER,
    VPN_EVENT,
    VPN_MULTIPLIER,
    VPN_WINDOW_UTC,
)


def ground_truth(
    month: MonthGenerator, start: date, dates: Sequence[date], n_rows: int, n_labelled: int
) -> dict[str, Any]:
    """The content of ``ground_truth.json`` once every day of ``month`` has been generated:
    the planted events, bad rows, duplicates and fake PII, with the month's shape."""
    end = dates[-1]
    events: list[dict[str, Any]] = []
    plan = month.plan
    if plan.vpn_offset is not None:
        vpn_day = (start + timedelta(days=plan.vpn_offset)).isoformat()
        events.append(
            {
                "id": VPN_EVENT,
                "kind": "spike",
                "category": "it_support",
                "department": None,
                "start": vpn_day,
                "end": vpn_day,
                "multiplier": VPN_MULTIPLIER,
                "window_utc": VPN_WINDOW_UTC,
                "prompts": month.event_counts[VPN_EVENT],
                "description": EVENT_DESCRIPTIONS[VPN_EVENT],
            }
        )
    if plan.burnout_start is not None and plan.burnout_peak is not None:
        events.append(
            {
                "id": BURNOUT_EVENT,
                "kind": "rising",
                "category": "wellbeing",
                "department": BURNOUT_DEPARTMENT,
                "start": (start + timedelta(days=plan.burnout_start)).isoformat(),
                "end": end.isoformat(),
                "peak_date": (start + timedelta(days=plan.burnout_peak)).isoformat(),
                "multiplier": BURNOUT_MULTIPLIER,
                "prompts": month.event_counts[BURNOUT_EVENT],
                "description": EVENT_DESCRIPTIONS[BURNOUT_EVENT],
            }
        )
    if plan.sql_start is not None:
        events.append(
            {
                "id": SQL_EVENT,
                "kind": "step",
                "category": "learning_development",
                "department": SQL_DEPARTMENT,
                "start": (start + timedelta(days=plan.sql_start)).isoformat(),
                "end": end.isoformat(),
                "multiplier": SQL_MULTIPLIER,
                "prompts": month.event_counts[SQL_EVENT],
                "description": EVENT_DESCRIPTIONS[SQL_EVENT],
            }
        )
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "days": len(dates),
        "n_users": len(month.company.user_ids),
        "departments": month.company.sizes,
        "category_mix": {
            d.name: dict(zip(CATEGORIES, (round(float(p), 4) for p in row), strict=True))
            for d, row in zip(DEPARTMENTS, month.base_mix, strict=True)
        },
        "events": events,
        "n_prompts": n_rows,
        "n_valid_unique": n_labelled,
        "rows_per_day": month.rows_per_day,
        "invalid_rows": month.invalid_rows,
        "duplicate_rows": month.duplicate_rows,
        "pii_strings": month.pii_strings,
        "pii_rows": month.pii_rows,
    }
