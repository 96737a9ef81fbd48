"""The redaction pipeline: every PII pattern in order, then person names."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from insight_core.prep.redact.addresses import ADDRESSES
from insight_core.prep.redact.contacts import ACCOUNTS_AND_NUMBERS, EMAIL
from insight_core.prep.redact.dates import DATES_OF_BIRTH
from insight_core.prep.redact.ids import DOCUMENT_AND_STAFF_IDS
from insight_core.prep.redact.names import redact_people
from insight_core.prep.redact.national_ids import NATIONAL_IDS
from insight_core.prep.redact.passwords import PASSWORD_ASSIGNED, PASSWORDS
from insight_core.prep.redact.pattern import PiiPattern
from insight_core.prep.redact.secrets import (
    AUTHORIZATION,
    CREDENTIALS_IN_URLS,
    KEYED_SECRETS,
    VENDOR_KEYS,
)

# In this order: each pattern reads the text the patterns before it left (a flat joins an
# ``<ADDRESS>`` found before it).
PII_PATTERNS: tuple[PiiPattern, ...] = (
    *CREDENTIALS_IN_URLS,
    *EMAIL,
    *VENDOR_KEYS,
    *PASSWORD_ASSIGNED,
    *KEYED_SECRETS,
    *PASSWORDS,
    *AUTHORIZATION,
    *DATES_OF_BIRTH,
    *DOCUMENT_AND_STAFF_IDS,
    *NATIONAL_IDS,
    *ADDRESSES,
    *ACCOUNTS_AND_NUMBERS,
)


def _replacer(pattern: PiiPattern) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        if pattern.is_valid is not None and not pattern.is_valid(match.group(0)):
            return match.group(0)
        if pattern.accept is not None and not pattern.accept(match):
            return match.group(0)
        if pattern.secret_group is None:
            return pattern.placeholder
        start, end = match.span(pattern.secret_group)
        offset = match.start()
        whole = match.group(0)
        return whole[: start - offset] + pattern.placeholder + whole[end - offset :]

    return replace


_REPLACERS = {id(pattern): _replacer(pattern) for pattern in PII_PATTERNS}


def redact_text(text: str, patterns: Iterable[PiiPattern] = PII_PATTERNS) -> str:
    """Replace every PII match in ``text`` with its typed placeholder (e.g. ``<EMAIL>``)."""
    lowered = text.lower()
    gates: dict[int, bool] = {}
    for pattern in patterns:
        # map() over the bound method: the same test as a generator, without a Python frame per
        # cue (about 240 cues are tried on a prompt that holds none of them).
        if pattern.cues and not any(map(lowered.__contains__, pattern.cues)):
            continue
        if pattern.gate is not None:
            key = id(pattern.gate)
            if key not in gates:
                gates[key] = pattern.gate.search(lowered) is not None
            if not gates[key]:
                continue
        replace = _REPLACERS.get(id(pattern)) or _replacer(pattern)
        text = pattern.regex.sub(replace, text)
    return redact_people(text)
