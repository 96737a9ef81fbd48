from __future__ import annotations

import json

import polars as pl
import pytest

from insight_core.errors import ConfigError
from insight_core.prep.redact import (
    PARALLEL_MIN_TEXTS,
    hash_user_id,
    redact_frame,
    redact_text,
    redact_texts,
    resolve_hash_secret,
)

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


# ---- kinds added for issue 9: names, addresses, SSNs, opaque bearer tokens, intl. phones ----


@pytest.mark.parametrize(
    ("text", "secret", "placeholder"),
    [
        ("call +49 30 90182077 now", "90182077", "<PHONE>"),
        ("Authorization: Bearer 8f14e45fceea167a5a36dedd4bea2543", "8f14e45f", "<SECRET>"),
        ("my SSN is 321549876", "321549876", "<SSN>"),
        ("social security number 321-54-9876", "321-54-9876", "<SSN>"),
        ("ship to 221B Baker Street, London", "Baker Street", "<ADDRESS>"),
        ("Dear Priya Raman,", "Priya Raman", "<PERSON>"),
        ("my manager jonas weber said", "jonas weber", "<PERSON>"),
        ("cc: Ana-Lucía Ortega", "Ana-Lucía Ortega", "<PERSON>"),
        ("ask Mr. Okafor", "Okafor", "<PERSON>"),
    ],
)
def test_misses_reported_in_issue_9_are_caught(text: str, secret: str, placeholder: str) -> None:
    redacted = redact_text(text)
    assert secret not in redacted
    assert placeholder in redacted


def test_the_words_around_a_name_survive() -> None:
    assert redact_text("my manager jonas weber said no") == "my manager <PERSON> said no"
    assert redact_text("Dear Priya Raman, thanks") == "Dear <PERSON>, thanks"
    assert redact_text("Please ask Mr. Okafor today") == "Please ask Mr. <PERSON> today"
    assert redact_text("the SSN is 321549876.") == "the SSN is <SSN>."
    assert redact_text("Bearer abcdef0123456789abcdef") == "Bearer <SECRET>"


@pytest.mark.parametrize(
    "text",
    [
        "order 321549876 shipped on time",  # nine digits without an SSN cue
        "Grace Period for the May Report",  # names that are also words, no cue
        "Will you review the Spring Boot service with Olive Green buttons",
        "compare Claude and Gemini with GPT",  # assistants, not people
        "Dear Hiring Manager, I am applying",
        "the Bearer token scheme is described in RFC 6750",
        "I have 3 things on my way home",
        "meet the team and peer reviewers with amber lighting",
        "the 2026-10-03 release of version 1.2.3",
    ],
)
def test_ordinary_text_is_not_taken_for_pii(text: str) -> None:
    assert redact_text(text) == text


def test_canary_set_recall() -> None:
    """Every pattern-shaped canary is caught; names and addresses at least 90% and 85%."""
    from tests.unit.redaction_canaries import CANARIES, MUST_CATCH

    caught: dict[str, list[bool]] = {}
    for kind, text, secret in CANARIES:
        redacted = redact_text(text)
        caught.setdefault(kind, []).append(secret not in redacted and f"<{kind}>" in redacted)
    for kind in MUST_CATCH:
        assert all(caught[kind]), kind
    assert sum(caught["PERSON"]) / len(caught["PERSON"]) >= 0.9
    assert sum(caught["ADDRESS"]) / len(caught["ADDRESS"]) >= 0.85


def test_name_gazetteer_is_shipped_and_small() -> None:
    from insight_core.prep.redact import name_gazetteer

    names = name_gazetteer()
    assert len(names) > 50_000
    assert names["priya"].first and names["okafor"].last
    assert names["the"].function_word and names["grace"].common


def test_every_field_of_a_quarantined_record_is_redacted_and_capped() -> None:
    from insight_core.prep.redact import redact_record

    record = {
        "prompt_id": "p-1",
        "user_id": "u-jane",
        "department": "mail jane.doe@example.com",
        "timestamp": "+49 30 90182077",
        "text": "x" * 1_000_000,
        "tool": {"name": "Dear Priya Raman", "tags": ["ssn 321549876", 7]},
        "extra": 4111111111111111,
    }
    cleaned = redact_record(record, "k", max_chars=2000)
    flat = json.dumps(cleaned)
    for secret in ("jane.doe@example.com", "90182077", "Priya Raman", "321549876", "u-jane"):
        assert secret not in flat
    assert "4111111111111111" not in flat
    assert cleaned["user_hash"] == hash_user_id("u-jane", "k")
    assert len(cleaned["text"]) < 2100
    assert cleaned["text"].endswith("[truncated, 1000000 chars]")
    assert cleaned["tool"]["tags"][1] == 7


def test_quarantine_stage_redacts_records_and_prompt_ids() -> None:
    from insight_core.nightly.stages import _redacted_quarantine

    quarantine = pl.DataFrame(
        {
            "source_row": [0],
            "prompt_id": ["jane.doe@example.com"],
            "record": [json.dumps({"user_id": "u1", "department": "call +49 30 90182077"})],
            "failed_checks": [["department:format"]],
        }
    )
    out = _redacted_quarantine(quarantine, "k", 2000)
    assert out.item(0, "prompt_id") == "<EMAIL>"
    assert json.loads(out.item(0, "record")) == {
        "department": "call <PHONE>",
        "user_hash": hash_user_id("u1", "k"),
    }


def test_redaction_in_worker_processes_matches_the_calling_process() -> None:
    from tests.unit.redaction_canaries import CANARIES

    # Enough texts to use the pool, in an order that interleaves kinds and plain prompts.
    texts = [
        f"{text} (ticket {i})" if i % 3 else f"plain prompt number {i} about spreadsheets"
        for i, (_, text, _) in enumerate(CANARIES * (PARALLEL_MIN_TEXTS // len(CANARIES) + 2))
    ]
    assert len(texts) >= PARALLEL_MIN_TEXTS
    in_process = redact_texts(texts, processes=1)
    assert redact_texts(texts, processes=2) == in_process
    assert in_process == [redact_text(t) for t in texts]
    assert any(t != r for t, r in zip(texts, in_process, strict=True))


# ---- kinds added for "Never an individual, by any route" ----


@pytest.mark.parametrize(
    ("text", "secret", "placeholder"),
    [
        ("NINO QQ123456C", "QQ123456C", "<NATIONAL_ID>"),
        ("aadhaar: 2345-6789-0124", "2345-6789-0124", "<NATIONAL_ID>"),
        ("pan card acupa7085r", "acupa7085r", "<NATIONAL_ID>"),
        ("social insurance number 130692544", "130692544", "<NATIONAL_ID>"),
        ("NIR 295109912611193", "295109912611193", "<NATIONAL_ID>"),
        ("my tax id is 36574261809", "36574261809", "<NATIONAL_ID>"),
        ("burgerservicenummer: 1112.22.333", "1112.22.333", "<NATIONAL_ID>"),
        ("cpf 39053344705", "39053344705", "<NATIONAL_ID>"),
        ("FIN G1234567X", "G1234567X", "<NATIONAL_ID>"),
        ("Passport: C01X00T47", "C01X00T47", "<PASSPORT>"),
        ("my birthday is March 3rd", "March 3rd", "<DOB>"),
        ("Date of Birth: 15th of July 1992", "15th of July 1992", "<DOB>"),
        ("geboren am 12.09.1985", "12.09.1985", "<DOB>"),
        ("emp id: EMP-4821", "EMP-4821", "<EMPLOYEE_ID>"),
        ("88 king st", "king st", "<ADDRESS>"),
        ("hauptstraße 12, 10115 berlin", "hauptstraße 12", "<ADDRESS>"),
        ("Via Roma 10", "Roma 10", "<ADDRESS>"),
        ("ping josé@exämple.com", "josé@exämple.com", "<EMAIL>"),
        ("pwd=hunter2", "hunter2", "<SECRET>"),
        ("DB_PASSWORD=letmein", "letmein", "<SECRET>"),
        ("the door code is 4711", "4711", "<SECRET>"),
        ("mongodb+srv://bob:p@ss@cluster0.example.net/test", "p@ss", "<SECRET>"),
        ("jdbc:mysql://h:3306/db?user=root&password=toor", "toor", "<SECRET>"),
    ],
)
def test_identity_numbers_dates_of_birth_and_typed_secrets_are_caught(
    text: str, secret: str, placeholder: str
) -> None:
    redacted = redact_text(text)
    assert secret not in redacted
    assert placeholder in redacted


def test_only_the_sensitive_part_goes() -> None:
    assert redact_text("DOB: 3 March 1979") == "DOB: <DOB>"
    assert redact_text("my password is sunshine.") == "my password is <SECRET>."
    assert redact_text("pw: tulip, user: ops") == "pw: <SECRET>, user: ops"
    assert redact_text("postgres://admin:S3cr3t@db.internal:5432/app") == (
        "postgres://<SECRET>@db.internal:5432/app"
    )
    assert redact_text("flat 3, 27 elm grove road, please") == "<ADDRESS>, please"


def test_a_private_key_goes_whole_with_or_without_line_breaks() -> None:
    body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"
    key = f"-----BEGIN PRIVATE KEY-----\n{body}\nAbC+/x==\n-----END PRIVATE KEY-----"
    assert (
        redact_text(f"why does this fail?\n{key}\nthanks")
        == "why does this fail?\n<SECRET>\nthanks"
    )
    assert redact_text(key.replace("\n", " ")) == "<SECRET>"
    # A paste that lost its END line loses the rest of the key body too.
    assert body not in redact_text(f"key: -----BEGIN RSA PRIVATE KEY----- {body}")


def test_check_digits_keep_lookalike_numbers() -> None:
    # The same shapes with a wrong check digit or letter are no ids.
    for text in (
        "DNI 54362315A",
        "codice fiscale RCCMNL83S18D969A",
        "NRIC S1234567A",
        "CPF 390.533.447-06",
        "aadhaar 2345 6789 0125",
        "BSN 111222334",
    ):
        assert "<NATIONAL_ID>" not in redact_text(text), text
    # A bare nine-digit number is an id only next to its cue.
    assert redact_text("order 111222333 shipped") == "order 111222333 shipped"


def test_canary_near_misses_stay_untouched() -> None:
    from tests.unit.redaction_canaries import NEAR_MISSES

    changed = {text: redact_text(text) for text in NEAR_MISSES if redact_text(text) != text}
    assert changed == {}


# ---- every stored free-text field is protected ----


def test_prompt_ids_that_are_not_plain_tokens_are_hashed_deterministically() -> None:
    from insight_core.prep.redact import safe_prompt_id

    assert safe_prompt_id("demo-20261003-000123", "k") == "demo-20261003-000123"
    hashed = safe_prompt_id("jane.doe@example.com", "k")
    assert "jane" not in hashed and hashed.startswith("pid-") and len(hashed) == 36
    assert hashed == safe_prompt_id("jane.doe@example.com", "k")  # reruns and duplicates match
    assert hashed != safe_prompt_id("jane.doe@example.com", "other key")
    assert safe_prompt_id("x" * 5000, "k").startswith("pid-")
    assert safe_prompt_id("x" * 128, "k") == "x" * 128
    assert safe_prompt_id("id with spaces", "k").startswith("pid-")
    assert safe_prompt_id(" \u200b ", "k") == " \u200b "  # blank stays blank: validation rejects it


def test_protect_fields_redacts_caps_and_trims() -> None:
    from insight_core.prep.redact import protect_fields

    frame = pl.DataFrame(
        {
            "prompt_id": ["jane.doe@example.com", "p-2", "y" * 5000, None],
            "department": ["Sales ", "Sales", "  Customer   Success", None],
            "tool": ["chat for jane.doe@example.com", "t" * 100_000, None, "chat"],
        }
    )
    out = protect_fields(frame, "k", 64)
    flat = json.dumps(out.to_dicts())
    assert "jane.doe@example.com" not in flat
    assert out.get_column("department").to_list() == ["Sales", "Sales", "Customer Success", None]
    assert out.item(0, "tool") == "chat for <EMAIL>"
    assert out.item(1, "tool") == "t" * 64
    assert out.item(1, "prompt_id") == "p-2"
    assert out.item(2, "prompt_id").startswith("pid-") and len(out.item(2, "prompt_id")) == 36
    assert out.item(3, "prompt_id") is None


def test_the_validate_stage_stores_only_protected_fields(tmp_path) -> None:
    from datetime import UTC, date, datetime

    from insight_core.nightly import stages
    from insight_core.nightly.context import IngestResult, RunContext
    from insight_core.settings import InsightSettings

    rows = [
        ("jane.doe@example.com", "Sales ", "chat jane.doe@example.com", "a question"),
        ("p-2", "Sales", "x" * 100_000, "another question"),
        ("q" * 5000, "Sales", "chat", "a third question"),
        ("p-4", "cc Priya Raman!", "mail jane.doe@example.com", "a fourth question"),
    ]
    staged = pl.DataFrame(
        {
            "source_row": pl.Series(range(len(rows)), dtype=pl.UInt32),
            "prompt_id": [r[0] for r in rows],
            "timestamp": ["2026-10-05T09:00:00+00:00"] * len(rows),
            "user_id": ["u1"] * len(rows),
            "department": [r[1] for r in rows],
            "text": [r[3] for r in rows],
            "tool": [r[2] for r in rows],
            "source_file": ["s.csv"] * len(rows),
            "source_line": pl.Series(range(2, len(rows) + 2), dtype=pl.Int64),
        }
    )
    staged_file = tmp_path / "staged.parquet"
    staged.write_parquet(staged_file)
    settings = InsightSettings(home=tmp_path / "home", user_hash_secret="k")
    ctx = RunContext("r", date(2026, 10, 5), "s.csv", "auto", settings, tmp_path, datetime.now(UTC))
    chunk = stages.validate(ctx, IngestResult(staged_file, len(rows), [(0, len(rows))], 0.0), 0)
    valid = pl.read_parquet(chunk.path)
    quarantine = pl.read_parquet(chunk.quarantine_file)
    stored = json.dumps(valid.drop("text").to_dicts(), default=str) + json.dumps(
        quarantine.to_dicts(), default=str
    )
    assert "jane.doe" not in stored and "Priya" not in stored and "q" * 200 not in stored
    assert valid.get_column("department").unique().to_list() == ["Sales"]
    assert max(len(t) for t in valid.get_column("tool").to_list()) <= settings.max_label_chars
    assert valid.height == 3 and quarantine.height == 1  # the department with a name
    assert quarantine.item(0, "failed_checks").to_list() == ["department:format"]


# ---- second pass: names no list holds, other scripts, more shapes of secrets and ids ----


def test_only_the_name_goes_in_names_no_list_holds() -> None:
    assert redact_text("Nnamdi Okonkwo needs the slides") == "<PERSON> needs the slides"
    assert redact_text("ping Anneliese about the outage") == "ping <PERSON> about the outage"
    assert redact_text("please email 王小明 the agenda") == "please email <PERSON> the agenda"
    assert redact_text("the memo is signed K. R. Venkatesh") == "the memo is signed <PERSON>"
    assert redact_text("did tomasz kowalski approve this") == "did <PERSON> approve this"


@pytest.mark.parametrize(
    "text",
    [
        "Flights from Buenos Aires to Dar es Salaam",  # places, not people
        "Set up Grafana Loki next to Prometheus",  # products
        "translate 'good morning' into Japanese: おはようございます",  # kana: not a name
        'the example output is "你好，世界"',  # quoted text in another script
        "If I forget, Am I late?",  # short English words
        "Bearish Engulfing and Ontological Deconstruction",  # rarer English words
        "add Redux to the store",  # a product after a cue verb
    ],
)
def test_places_products_and_rare_words_are_no_names(text: str) -> None:
    assert redact_text(text) == text


def test_only_the_secret_goes_in_the_new_password_shapes() -> None:
    assert redact_text("login admin:Tr0ub4dor&3 please") == "login admin:<SECRET> please"
    assert redact_text("mein Passwort ist Sommer#2024") == "mein Passwort ist <SECRET>"
    assert redact_text("the safe opens with 17-42-08") == "the safe opens with <SECRET>"
    assert redact_text("AccountName=x;AccountKey=aGVsbG8gd29ybGQgdGhpcw==;") == (
        "AccountName=x;AccountKey=<SECRET>;"
    )
    # Password-shaped values only: settings and versions stay.
    for text in ("set it to true", "key: value", "set it to v2.3.1", "error code 4040 again"):
        assert redact_text(text) == text, text
