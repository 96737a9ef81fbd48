from __future__ import annotations

from datetime import date

import pytest

from insight_core.nightly.digest import (
    Digest,
    Section,
    compose_message,
    default_week,
    render_page,
    week_start_of,
)

pytestmark = pytest.mark.unit


def test_the_default_week_is_the_last_complete_one() -> None:
    assert week_start_of(date(2026, 10, 18)) == date(2026, 10, 12)  # a Sunday
    assert default_week(date(2026, 10, 19)) == date(2026, 10, 12)  # Monday: last week
    assert default_week(date(2026, 10, 18)) == date(2026, 10, 5)  # Sunday: not yet this week


def test_names_are_escaped_on_the_page_and_an_empty_week_says_so() -> None:
    mover = {
        "department": "R&D <lab>",
        "category": "coding",
        "share": 0.2,
        "baseline_share": 0.1,
        "share_change": None,
        "moved": 0.1,
        "against": "usual",
        "prompts": 30,
        "users": 9,
        "spike_score": 4.1,
    }
    section = Section("R&D <lab>", [mover], [], {"coding": [(date(2026, 10, 12), 0.2)]})
    page = render_page(Digest(date(2026, 10, 12), [section]))
    assert "<h2>R&amp;D &lt;lab&gt;</h2>" in page and "<lab>" not in page
    empty = Digest(date(2026, 10, 12), [])
    assert empty.empty and "No published category moved" in render_page(empty)
    message = compose_message(empty, "http://app:8501/")
    assert message.subject.endswith("week 2026-W42") and message.link == "http://app:8501/trends"
