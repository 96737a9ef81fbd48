"""The independent PII canary set (``tests/fixtures/canaries``), written by someone who did not
read the redactor or the topic-word rules; see that folder's README."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

CANARY_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "canaries" / "pii_canaries.yaml"


@cache
def canaries() -> dict[str, list[tuple[str, str]]]:
    """``kind -> [(text, secret), ...]``."""
    kinds = yaml.safe_load(CANARY_FILE.read_text(encoding="utf-8"))["kinds"]
    return {
        kind: [(case["text"], case["secret"]) for case in cases] for kind, cases in kinds.items()
    }
