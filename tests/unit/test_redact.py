from __future__ import annotations

import polars as pl
import pytest

from insight_core.errors import ConfigError
from insight_core.prep.redact import hash_user_id, redact_frame, redact_text, resolve_hash_secret

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "secret", "placeholder"),
    [
        ("mail me at jane.doe@example.com today", "jane.doe@example.com", "<EMAIL>"),
        ("my number is +44 20 7946 0958", "+44 20 7946 0958", "<PHONE>"),
        ("call (555) 014-2368 after lunch", "(555) 014-2368", "<PHONE>"),
        ("or 555-014-2368", "555-014-2368", "<PHONE>"),
        ("ring 07700 900123", "07700 900123", "<PHONE>"),
        ("card 4111 1111 1111 1111 was declined", "4111 1111 1111 1111", "<CARD>"),
        ("charge 5500-0000-0000-0004 please", "5500-0000-0000-0004", "<CARD>"),
        ("iban GB82 WEST 1234 5698 7654 32 for refunds", "GB82 WEST 1234 5698 7654 32", "<IBAN>"),
        ("pay DE89370400440532013000 now", "DE89370400440532013000", "<IBAN>"),
        ("host 10.24.3.117 is slow", "10.24.3.117", "<IP>"),
        ("https://files.example.com/s?id=3&token=abc123&sig=zz", "token=abc123", "<URL>"),
        ("https://bob:hunter22@git.example.com/repo.git", "hunter22", "<URL>"),
        ("key sk-live-abcdefghijklmnop1234 leaked", "sk-live-abcdefghijklmnop1234", "<SECRET>"),
        ("aws AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE", "<SECRET>"),
        ("ghp_abcdefghijklmnopqrstuvwxyz0123456789 is my token", "ghp_abcdefghij", "<SECRET>"),
        ("password: hunter22x", "hunter22x", "<SECRET>"),
        ("api_key=Zx81kd0Q2ppa", "Zx81kd0Q2ppa", "<SECRET>"),
    ],
)
def test_pii_is_replaced_by_typed_placeholder(text: str, secret: str, placeholder: str) -> None:
    redacted = redact_text(text)
    assert secret not in redacted
    assert placeholder in redacted


@pytest.mark.parametrize(
    "text",
    [
        "on 2026-10-03 we had 10,000 users",
        "revenue of 1234567 in 2019 and 2020",
        "python 3.11.7 on port 8080",
        "the meeting is 10:30-11:30",
        "a 3 4 5 triangle",
        "card number 4111 1111 1111 1112 fails luhn",
        "https://example.com/docs/page?x=1",
        "the password policy needs review",
    ],
)
def test_ordinary_numbers_and_words_survive(text: str) -> None:
    assert redact_text(text) == text


def test_user_hash_is_keyed_and_stable() -> None:
    first = hash_user_id("u-001", "secret-a")
    assert first == hash_user_id("u-001", "secret-a")
    assert first != hash_user_id("u-001", "secret-b")
    assert len(first) == 32 and "u-001" not in first


def test_missing_secret_is_a_clear_error_outside_the_demo() -> None:
    with pytest.raises(ConfigError, match="INSIGHT_USER_HASH_SECRET"):
        resolve_hash_secret(None, demo_mode=False, demo_secret="demo")
    assert resolve_hash_secret(None, demo_mode=True, demo_secret="demo") == "demo"
    assert resolve_hash_secret("mine", demo_mode=True, demo_secret="demo") == "mine"


def test_redact_frame_drops_user_id_for_a_hash() -> None:
    frame = pl.DataFrame({"user_id": ["u1"], "text": ["mail a@example.org"]})
    out = redact_frame(frame, "k")
    assert out.columns == ["text", "user_hash"]
    assert out.item(0, "text") == "mail <EMAIL>"
    assert out.item(0, "user_hash") == hash_user_id("u1", "k")
