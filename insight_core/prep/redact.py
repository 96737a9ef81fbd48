"""PII redaction and user-id pseudonymisation.

Redaction runs before anything is embedded or stored. Patterns are regular expressions with
validators where a bare pattern would be too eager (Luhn for payment cards, mod-97 for IBANs,
octet ranges for IP addresses). Presidio-style NER was not chosen: it needs spaCy models from a
hub, and the engine must run offline; the PII kinds the issue names are all pattern-shaped.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import polars as pl

from insight_core.errors import ConfigError


@dataclass(frozen=True)
class PiiPattern:
    """One kind of PII: a pattern, an optional validator and its typed placeholder."""

    kind: str
    regex: re.Pattern[str]
    is_valid: Callable[[str], bool] | None = None
    # Named group holding the sensitive part; the rest of the match (e.g. "password=") stays.
    secret_group: str | None = None

    @property
    def placeholder(self) -> str:
        return f"<{self.kind}>"


def _luhn_ok(candidate: str) -> bool:
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


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


_TOKEN_KEYS = (
    r"token|access_token|auth|key|api_key|apikey|sig|signature|secret|password|passwd|pwd|"
    r"session|sessionid|code|credential|jwt|X-Amz-Signature|X-Amz-Credential"
)

PII_PATTERNS: tuple[PiiPattern, ...] = (
    # URLs carrying credentials in the query or in user:password@host.
    PiiPattern(
        "URL",
        re.compile(
            r"\b(?:https?|ftp)://(?:[^\s/@:]+:[^\s/@]+@\S+|[^\s?#]+\?\S*?\b(?:"
            + _TOKEN_KEYS
            + r")=[^\s&#]+\S*)",
            re.IGNORECASE,
        ),
    ),
    PiiPattern(
        "EMAIL",
        re.compile(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b"),
    ),
    PiiPattern(
        "SECRET",
        re.compile(
            r"\b(?:"
            r"AKIA[0-9A-Z]{16}"
            r"|(?:sk|pk|rk)[-_](?:live|test|proj)?[-_]?[A-Za-z0-9]{16,}"
            r"|gh[pousr]_[A-Za-z0-9]{30,}"
            r"|github_pat_[A-Za-z0-9_]{30,}"
            r"|xox[abposr]-[A-Za-z0-9-]{10,}"
            r"|AIza[0-9A-Za-z_\-]{35}"
            r"|eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"
            r")"
        ),
    ),
    # Secrets assigned to a key ("password: hunter22", "api_key=..."): keep the key, hide the value.
    PiiPattern(
        "SECRET",
        re.compile(
            r"\b(?:password|passwd|pwd|pass ?code|api[_-]?key|secret|token|client[_-]secret)"
            r"[\"']?\s*(?:[:=]|\bis\b)\s*[\"']?(?P<value>[^\s\"',;]{6,})",
            re.IGNORECASE,
        ),
        secret_group="value",
    ),
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
            r"|(?<![\w:])(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}(?![\w:])"
        ),
    ),
    PiiPattern(
        "PHONE",
        re.compile(
            r"(?<![\w+])(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{1,5}\)[\s.\-]?)?\d{2,5}(?:[\s.\-]\d{2,6}){1,4}"
            r"(?![\w])"
        ),
        _phone_ok,
    ),
)


def _replacer(pattern: PiiPattern) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        if pattern.is_valid is not None and not pattern.is_valid(match.group(0)):
            return match.group(0)
        if pattern.secret_group is None:
            return pattern.placeholder
        start, end = match.span(pattern.secret_group)
        offset = match.start()
        whole = match.group(0)
        return whole[: start - offset] + pattern.placeholder + whole[end - offset :]

    return replace


def redact_text(text: str, patterns: Iterable[PiiPattern] = PII_PATTERNS) -> str:
    """Replace every PII match in ``text`` with its typed placeholder (e.g. ``<EMAIL>``)."""
    for pattern in patterns:
        text = pattern.regex.sub(_replacer(pattern), text)
    return text


def hash_user_id(user_id: str, secret: str) -> str:
    """Keyed hash (HMAC-SHA256, 128 bits hex) of a source-system user id."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()[:32]


def resolve_hash_secret(secret: str | None, demo_mode: bool, demo_secret: str) -> str:
    """The HMAC key to use; outside the demo a missing key is a configuration error."""
    if secret:
        return secret
    if demo_mode:
        return demo_secret
    raise ConfigError(
        "INSIGHT_USER_HASH_SECRET is not set: user ids are stored only as keyed hashes, so a "
        "secret key is required outside the demo (set it in the environment or .env)"
    )


def redact_frame(frame: pl.DataFrame, secret: str) -> pl.DataFrame:
    """Redact ``text`` and replace ``user_id`` by ``user_hash`` in a validated batch."""
    redacted = [redact_text(text) for text in frame.get_column("text").to_list()]
    hashes = [hash_user_id(uid, secret) for uid in frame.get_column("user_id").to_list()]
    return frame.with_columns(
        pl.Series("text", redacted, dtype=pl.String),
        pl.Series("user_hash", hashes, dtype=pl.String),
    ).drop("user_id")
