"""The kept form of prompts (``texts/``): on the independent canary set, and its shape."""

from __future__ import annotations

import pytest

from insight_core.nlp.kept_text import UNLISTED, english_stop_words, kept_text, kept_texts
from insight_core.prep.redact import redact_text
from tests.unit.canaries import canaries

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("kind", sorted(canaries()))
def test_no_canary_secret_survives_in_the_kept_form(kind: str) -> None:
    # Cases written by someone who never read this rule (tests/fixtures/canaries/README.md),
    # including those the redactor misses: the kept form must drop them all.
    leaked = [
        secret
        for text, secret in canaries()[kind]
        if secret.lower() in kept_text(redact_text(text)).lower()
    ]
    assert leaked == []


def test_common_words_placeholders_and_punctuation_stay() -> None:
    text = "Please write an e-mail to <PERSON> about the budget review, it's urgent!"
    assert kept_text(text) == text


def test_a_listed_word_written_as_a_name_in_mid_sentence_goes() -> None:
    assert kept_text("Can you ask Grace about the contract?") == (
        f"Can you ask {UNLISTED} about the contract?"
    )
    # At the start of a sentence a capital says nothing; glossary products keep theirs.
    assert kept_text("Grace period for invoices in Excel?") == "Grace period for invoices in Excel?"


def test_numbers_ids_and_other_scripts_go() -> None:
    kept = kept_text("ticket 48213 for user jdoe7 on Windows 11: 密码 重置")
    assert "48213" not in kept and "jdoe7" not in kept and "11" not in kept
    assert "密码" not in kept and kept.startswith("ticket ")


def test_the_kept_form_is_stable_when_kept_again() -> None:
    text = kept_text("Ask Zyxwv Qorbanov about pw: hunter2 tomorrow")
    assert kept_text(text) == text
    assert kept_texts([text, None]) == [text, None]


def test_the_stop_words_are_scikit_learns_own_list() -> None:
    # Read from scikit-learn's file without importing the package (the redaction workers).
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    assert english_stop_words() == ENGLISH_STOP_WORDS
    assert kept_text("we should do it") == "we should do it"
