"""One kind of PII as the redactor matches it: a pattern, its checks and its placeholder."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class PiiPattern:
    """One kind of PII: a pattern, optional validators and its typed placeholder."""

    kind: str
    regex: re.Pattern[str]
    is_valid: Callable[[str], bool] | None = None
    # Named group holding the sensitive part; the rest of the match (e.g. "password=") stays.
    secret_group: str | None = None
    # A check that needs the match's groups or its surroundings (a cue word nearby).
    accept: Callable[[re.Match[str]], bool] | None = None
    # The pattern runs only on texts whose lower-cased form contains one of these: most prompts
    # hold none of a cue-based kind's words, and a substring test is far cheaper than a scan.
    cues: tuple[str, ...] = ()
    # Or only where this cheaper pattern is found in the lower-cased text (searched once per
    # text, shared by patterns; a gate starting with a digit or literal is scanned quickly).
    gate: re.Pattern[str] | None = None

    @property
    def placeholder(self) -> str:
        """The typed placeholder that replaces a match, e.g. ``<EMAIL>``."""
        return f"<{self.kind}>"
