"""The redactor on the independent canary set (``tests/fixtures/canaries``), written by someone
who had not read it. Recall is what it is: the floors below are the measured values, so a change
that lets more through fails; a change that catches more raises them."""

from __future__ import annotations

import pytest

from insight_core.prep.redact import redact_text
from tests.unit.canaries import canaries

pytestmark = pytest.mark.unit

# Caught / cases when the floors were set (docs/architecture.md, "Redaction and topic words").
RECALL_FLOORS = {
    "person_name": 56 / 64,
    "lowercase_name": 24 / 33,
    "password": 35 / 43,
    "employee_id": 26 / 31,
    "national_id": 44 / 44,
    "passport": 25 / 26,
    "date_of_birth": 29 / 31,
    "street_address": 30 / 32,
    "email": 26 / 27,
    "key_block": 8 / 8,
    "api_token": 20 / 20,
}


def _caught(text: str, secret: str) -> bool:
    return secret.lower() not in redact_text(text).lower()


@pytest.mark.parametrize("kind", sorted(RECALL_FLOORS))
def test_recall_on_cases_the_redactor_never_saw_does_not_fall(kind: str) -> None:
    cases = canaries()[kind]
    caught = sum(_caught(text, secret) for text, secret in cases)
    assert caught / len(cases) >= RECALL_FLOORS[kind] - 1e-9, f"{caught}/{len(cases)}"


def test_every_kind_of_the_independent_set_has_a_floor() -> None:
    assert set(canaries()) == set(RECALL_FLOORS)
