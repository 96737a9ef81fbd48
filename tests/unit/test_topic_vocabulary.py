"""Topic words only from terms that at least k distinct users wrote; never a placeholder."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from insight_core.lifecycle.train import stored_texts
from insight_core.nlp.topics import TOKEN_PATTERN, TRUSTED_SOURCE, allowed_vocabulary, topic_text
from insight_core.settings import TopicSettings
from tests.unit.canaries import canaries

pytestmark = pytest.mark.unit

K = 5


def _docs(text: str, users: list[str], repeat: int = 1) -> tuple[list[str], list[str | None]]:
    docs = [text for _ in users for _ in range(repeat)]
    owners: list[str | None] = [u for u in users for _ in range(repeat)]
    return docs, owners


def test_a_term_needs_k_distinct_users_however_often_it_appears() -> None:
    widely_docs, widely_users = _docs("reset vpn token", [f"u{i}" for i in range(K)])
    # 30 prompts, but only 3 users: frequent, still not allowed.
    narrow_docs, narrow_users = _docs("zorblatt migration plan", ["a", "b", "c"], repeat=10)
    vocabulary = allowed_vocabulary(
        widely_docs + narrow_docs, widely_users + narrow_users, TopicSettings(), K
    )
    assert {"reset", "vpn", "token", "vpn token"} <= set(vocabulary)
    assert not {term for term in vocabulary if "zorblatt" in term}
    # "migration" appears only with the three users too
    assert "migration" not in vocabulary


def test_k_minus_one_users_is_not_enough() -> None:
    docs, users = _docs("quarterly forecast", [f"u{i}" for i in range(K - 1)])
    assert allowed_vocabulary(docs, users, TopicSettings(), K) == []
    docs2, users2 = _docs("quarterly forecast", [f"u{i}" for i in range(K)])
    assert "quarterly forecast" in allowed_vocabulary(docs2, users2, TopicSettings(), K)


def test_unknown_authors_count_as_one_user_and_examples_are_trusted() -> None:
    unknown_docs = ["legacy dashboard"] * 50
    unknown_users: list[str | None] = [None] * 50
    example_docs = ["draft a onboarding checklist"]
    vocabulary = allowed_vocabulary(
        unknown_docs + example_docs,
        [*unknown_users, TRUSTED_SOURCE],
        TopicSettings(),
        K,
    )
    assert "legacy" not in vocabulary
    assert {"onboarding", "checklist", "onboarding checklist"} <= set(vocabulary)


def test_redaction_placeholders_never_become_terms() -> None:
    docs, users = _docs(
        "send <EMAIL> to <PERSON> at <ADDRESS> re <SSN>", [f"u{i}" for i in range(10)]
    )
    vocabulary = allowed_vocabulary(docs, users, TopicSettings(), K)
    for word in ("email", "person", "address", "ssn"):
        assert not [term for term in vocabulary if word in term.split()]
    assert "send" in vocabulary
    assert topic_text("Mail <EMAIL> Now") == "mail   now"


def test_stop_words_are_not_topic_terms() -> None:
    docs, users = _docs("please help me write the budget", [f"u{i}" for i in range(10)])
    assert allowed_vocabulary(docs, users, TopicSettings(), K) == ["budget"]


def test_stored_texts_keep_user_hashes_and_still_read_old_files(tmp_path: Path) -> None:
    pl.DataFrame({"prompt_id": ["p1"], "text": ["old"]}).write_parquet(
        tmp_path / "2026-10-01.parquet"
    )
    pl.DataFrame({"prompt_id": ["p2"], "text": ["new"], "user_hash": ["h2"]}).write_parquet(
        tmp_path / "2026-10-02.parquet"
    )
    stored = stored_texts(tmp_path, date(2026, 10, 1), date(2026, 10, 2))
    assert stored.columns == ["prompt_id", "text", "user_hash"]
    assert stored.get_column("user_hash").to_list() == [None, "h2"]


def test_with_no_allowed_term_topics_get_plain_labels() -> None:
    """Below k users for every term, c-TF-IDF still has terms to count, but labels show none."""
    from insight_core.nlp.topics import _count_vectorizer, topic_labels

    vectorizer = _count_vectorizer(TopicSettings(), [])
    vectorizer.fit(["priya raman contract", "zorblatt plan"])
    terms = list(vectorizer.get_feature_names_out())
    assert len(terms) == 2 and not {"priya", "zorblatt"} & set(terms)

    class FittedTopics:  # what topic_labels reads of a fitted BERTopic model
        def get_topics(self) -> dict[int, list[tuple[str, float]]]:
            return {0: [(term, 0.3) for term in terms]}

    assert topic_labels(FittedTopics())[0] == ("topic 0", "")


def _many_users(text: str, n: int = 30) -> tuple[list[str], list[str | None]]:
    return _docs(text, [f"user{i}" for i in range(n)])


def test_names_ids_and_secrets_typed_by_many_users_are_never_terms() -> None:
    """The k-users rule cannot help here: thirty people typing one name or password."""
    docs, users = _many_users(
        "ask Thandiwe Mokoena-Vilakazi about the vendor contract, ticket INC0047731, "
        "pw: zq7Kp2xx and then ping ravi subramaniam"
    )
    vocabulary = allowed_vocabulary(docs, users, TopicSettings(), K)
    words = {word for term in vocabulary for word in term.split()}
    assert {"vendor", "contract"} <= words
    for leaked in ("thandiwe", "mokoena", "vilakazi", "inc0047731", "zq7kp2xx", "ravi"):
        assert leaked not in words, leaked
    assert "subramaniam" not in words


def test_a_common_word_used_as_a_name_is_not_a_term() -> None:
    docs, users = _many_users("can you ask Grace to approve the budget forecast")
    words = {w for t in allowed_vocabulary(docs, users, TopicSettings(), K) for w in t.split()}
    assert "grace" not in words
    assert {"budget", "forecast"} <= words


def test_the_ordinary_half_of_a_lower_case_full_name_is_not_a_term() -> None:
    docs, users = _many_users("the report from john smith needs a budget review")
    more_docs, more_users = _many_users("the budget review is late again")
    vocabulary = allowed_vocabulary(docs + more_docs, users + more_users, TopicSettings(), K)
    words = {word for term in vocabulary for word in term.split()}
    assert "john" not in words and "smith" not in words
    assert {"budget", "review"} <= words


def test_glossary_terms_are_allowed_whatever_their_case() -> None:
    docs, users = _many_users("my Kubernetes pod cannot reach the VPN from Excel")
    words = {w for t in allowed_vocabulary(docs, users, TopicSettings(), K) for w in t.split()}
    assert {"kubernetes", "vpn", "excel"} <= words


# Kinds the word list itself must keep out, even unredacted: a name or an id is never a listed
# word. Secrets that are ordinary words ("pw: lighthouse"), street names and dates are the
# redactor's job (tests/integration/test_privacy_flow.py checks the two together).
KINDS_THE_WORD_LIST_STOPS = (
    "person_name",
    "lowercase_name",
    "employee_id",
    "national_id",
    "passport",
    "key_block",
    "api_token",
)


def test_independent_canaries_typed_by_thirty_users_leave_no_token_in_topic_terms() -> None:
    cases = canaries()
    docs: list[str] = []
    users: list[str | None] = []
    for kind in KINDS_THE_WORD_LIST_STOPS:
        for index, (text, _) in enumerate(cases[kind]):
            docs += [text] * 30
            users += [f"{kind}-{index}-{user}" for user in range(30)]
    words = {w for t in allowed_vocabulary(docs, users, TopicSettings(), 10) for w in t.split()}
    assert words, "ordinary words of the canary prompts should still be topic words"
    leaks = []
    for kind in KINDS_THE_WORD_LIST_STOPS:
        for _, secret in cases[kind]:
            # Tokens as the topic vectorizer reads them ("EMP-2024-0117" is one token).
            tokens = set(re.findall(TOKEN_PATTERN, secret.lower()))
            if tokens & words:
                leaks.append((kind, secret, sorted(tokens & words)))
    assert leaks == []
