"""E-mail addresses, IBANs, payment cards, IP addresses and phone numbers, with validators
where a bare pattern would be too eager (Luhn, mod-97, octet ranges, digit counts)."""

from __future__ import annotations

import re

from stdnum import luhn

from insight_core.prep.redact.pattern import PiiPattern


def _luhn_ok(candidate: str) -> bool:
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    return luhn.is_valid("".join(map(str, digits)))


def _iban_ok(candidate: str) -> bool:
    compact = re.sub(r"\s", "", candidate).upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(numeric) % 97 == 1


def _phone_ok(candidate: str) -> bool:
    digits = sum(ch.isdigit() for ch in candidate)
    stripped = candidate.strip()
    # Calendar dates (2026-10-03, 03.10.2026) share the shape of short phone numbers.
    if re.fullmatch(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}", stripped):
        return False
    has_phone_marker = stripped.startswith(("+", "(")) or "(" in stripped
    return 9 <= digits <= 15 or (has_phone_marker and 7 <= digits <= 15)


EMAIL: tuple[PiiPattern, ...] = (
    # E-mail addresses, non-ASCII local parts and domains included (jürgen@müller.de).
    PiiPattern(
        "EMAIL",
        re.compile(
            r"(?<![\w.%+\-])[\w.%+\-']+@(?:[^\W_][\w\-]*\.)+(?:[^\W\d_]{2,}|xn--[a-z0-9\-]+)"
            r"(?![\w\-])"
        ),
        cues=("@",),
    ),
)

ACCOUNTS_AND_NUMBERS: tuple[PiiPattern, ...] = (
    PiiPattern(
        "IBAN",
        re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b"),
        _iban_ok,
    ),
    PiiPattern(
        "CARD",
        re.compile(r"(?<![\w.])\d(?:[ -]?\d){12,18}(?![\w.])"),
        _luhn_ok,
    ),
    PiiPattern(
        "IP",
        re.compile(
            r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}"
            r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w.])"
        ),
        gate=re.compile(r"\d\.\d{1,3}\.\d"),
    ),
    PiiPattern(
        "IP",
        re.compile(r"(?<![\w:])(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}(?![\w:])"),
        gate=re.compile(r":[0-9a-f]{1,4}:[0-9a-f]{1,4}:"),
    ),
    PiiPattern(
        "PHONE",
        re.compile(
            r"(?<![\w+])(?:\+\d{1,3}[\s.\-]?(?:\(\d{1,5}\)[\s.\-]?)?\d{1,5}"
            r"|(?:\(\d{1,5}\)[\s.\-]?)?\d{2,5})(?:[\s.\-]\d{2,8}){1,5}"
            r"(?![\w])"
        ),
        _phone_ok,
    ),
)
