"""User ids as keyed hashes, prompt ids and short labels in their stored form."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

import polars as pl

from insight_core.errors import ConfigError
from insight_core.prep.redact.engine import redact_text


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


# A prompt id of these characters, up to this length, is stored as it is; any other (an e-mail,
# free text, a 5,000-character blob) is stored as its keyed hash.
SAFE_ID = re.compile(r"[A-Za-z0-9._:/-]{1,128}")
HASHED_ID_PREFIX = "pid-"


def _is_blank(value: str) -> bool:
    """Nothing visible: whitespace, control and format characters only (as schemas.raw)."""
    return all(ch.isspace() or unicodedata.category(ch) in {"Cc", "Cf", "Zs"} for ch in value)


def safe_prompt_id(prompt_id: str, secret: str) -> str:
    """``prompt_id`` if it is a plain token (``SAFE_ID``), otherwise its keyed hash.

    The hash (HMAC with the user-id key, over a prefixed id so an id never hashes like the same
    user id) is deterministic: reruns give the same rows and repeated ids still match. A blank
    id stays blank so that validation rejects it.
    """
    if SAFE_ID.fullmatch(prompt_id) or _is_blank(prompt_id):
        return prompt_id
    return HASHED_ID_PREFIX + hash_user_id(f"prompt_id:{prompt_id}", secret)


def clean_label(value: str, max_chars: int) -> str:
    """A short stored label (department, tool): whitespace trimmed and collapsed ("Sales " is
    "Sales"), redacted, then cut to ``max_chars`` (redacted first, so no cut PII survives)."""
    return redact_text(" ".join(value.split()))[:max_chars]


def protect_fields(frame: pl.DataFrame, secret: str, max_label_chars: int) -> pl.DataFrame:
    """The stored form of a batch's fields other than ``text`` and ``user_id``: ``prompt_id``
    through :func:`safe_prompt_id`, ``department`` and ``tool`` through :func:`clean_label`.

    Nulls stay null. Labels repeat, so each distinct value is cleaned once.
    """

    def labels(column: str) -> pl.Series:
        values = frame.get_column(column)
        cleaned = {
            value: clean_label(value, max_label_chars)
            for value in values.unique().to_list()
            if value is not None
        }
        return pl.Series(column, [None if v is None else cleaned[v] for v in values], pl.String)

    ids = [
        None if value is None else safe_prompt_id(value, secret)
        for value in frame.get_column("prompt_id").to_list()
    ]
    return frame.with_columns(
        pl.Series("prompt_id", ids, dtype=pl.String), labels("department"), labels("tool")
    )
