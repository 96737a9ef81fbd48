"""The cascade's decision logic, with small fake embedders (no meaning needed)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from insight_core.modelling.examples import train_cascade, train_head
from insight_core.nlp.cascade import Cascade, decide_with_cascade, escalation_mask
from insight_core.nlp.embed import HashingEmbedder, normalize_text
from insight_core.nlp.head import CategoryHead
from insight_core.nlp.lexical import LexicalHead, combine_probabilities, train_lexical_head
from insight_core.nlp.rules import RuleMatch
from insight_core.runtime import load_decision_config
from insight_core.settings import InsightSettings

pytestmark = pytest.mark.unit

CLASSES = ("coding", "hr")


class TwoWordEmbedder:
    """2-d vectors: [mentions 'python', mentions 'leave'] (+ a tiny bias so none is zero)."""

    def __init__(self, name: str) -> None:
        self.model_id = name
        self.dimension = 2
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.extend(texts)
        out = np.array(
            [[1.0 if "python" in t else 0.01, 1.0 if "leave" in t else 0.01] for t in texts],
            dtype=np.float32,
        )
        return out / np.linalg.norm(out, axis=1, keepdims=True)


class NoRules:
    def __init__(self, matches: dict[str, str] | None = None) -> None:
        self.matches = matches or {}

    def decide_many(self, texts: Sequence[str]) -> list[RuleMatch | None]:
        return [
            RuleMatch("r1", self.matches[t], t, 1) if t in self.matches else None for t in texts
        ]


def _head(scale: float) -> CategoryHead:
    # P(coding) grows with the 'python' coordinate, P(hr) with 'leave'; scale sets confidence.
    return CategoryHead(CLASSES, np.eye(2, dtype=np.float32) * scale, np.zeros(2, np.float32))


def test_only_unsure_prompts_without_a_rule_reach_the_transformer() -> None:
    static, transformer = TwoWordEmbedder("static"), TwoWordEmbedder("transformer")
    texts = ["fix my python script", "python and leave both", "book annual leave", "hello there"]
    rules = NoRules({"hello there": "hr"})
    cascade = Cascade(static, _head(10.0), threshold=0.9)
    static_vectors = static.embed(texts)
    static.seen.clear()
    result = decide_with_cascade(
        texts, static_vectors, rules, cascade, _head(10.0), transformer, None, 0.3, "other"
    )
    # 'python and leave both' is a coin toss for the static head: only it goes on.
    assert list(result.escalated) == [False, True, False, False]
    assert transformer.seen == ["python and leave both"]
    assert [d.category for d in result.decisions][::2] == ["coding", "hr"]
    assert result.decisions[3].decided_by == "rule"


def test_escalated_prompts_are_decided_by_the_transformer_head() -> None:
    static, transformer = TwoWordEmbedder("static"), TwoWordEmbedder("transformer")
    texts = ["python and leave both"]
    # The transformer's head leans to hr on this mixed prompt; the static one cannot decide.
    leaning = CategoryHead(CLASSES, np.array([[1.0, 0.0], [0.0, 3.0]], np.float32), np.zeros(2))
    result = decide_with_cascade(
        texts,
        static.embed(texts),
        NoRules(),
        Cascade(static, _head(1.0), 0.99),
        leaning,
        transformer,
        None,
        0.3,
        "other",
    )
    assert result.escalated.all() and result.decisions[0].category == "hr"


def test_an_escalated_long_prompt_is_read_whole_by_the_transformer_once() -> None:
    static, transformer = TwoWordEmbedder("static"), TwoWordEmbedder("transformer")
    # Long enough to have instruction views (a first paragraph and a last line of its own).
    pasted = "\n\n".join(["python and leave both, see below:", "word " * 150, "which one is it?"])
    decide_with_cascade(
        [pasted],
        static.embed([pasted]),
        NoRules(),
        Cascade(static, _head(1.0), 0.99),
        _head(1.0),
        transformer,
        None,
        0.3,
        "other",
    )
    assert transformer.seen == [normalize_text(pasted)]


def test_threshold_one_sends_every_undecided_prompt_on() -> None:
    probabilities = np.array([[0.99, 0.01], [0.6, 0.4], [0.5, 0.5]])
    matches = [None, RuleMatch("r", "hr", "x", 1), None]
    assert list(escalation_mask(matches, probabilities, 1.0)) == [True, False, True]
    assert list(escalation_mask(matches, probabilities, 0.7)) == [False, False, True]


def test_heads_with_different_classes_are_refused() -> None:
    static = TwoWordEmbedder("static")
    other = CategoryHead(("a", "b"), np.eye(2, dtype=np.float32), np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="share their classes"):
        decide_with_cascade(
            ["x"],
            static.embed(["x"]),
            NoRules(),
            Cascade(static, other, 0.5),
            _head(1.0),
            static,
            None,
            0.3,
            "other",
        )


@pytest.fixture(scope="module")
def trained_heads() -> tuple:
    """A transformer-like and a static-like head on the shipped examples (hashing vectors)."""
    settings = InsightSettings(embedding_cascade=True)
    taxonomy, rules = load_decision_config(settings)
    transformer, static = HashingEmbedder(48), HashingEmbedder(16)
    head, examples = train_head(settings, taxonomy, transformer, None)
    return taxonomy, rules, transformer, static, head, examples


def test_the_cascade_uses_the_default_threshold_and_reports_its_out_of_fold_scores(
    trained_heads,
) -> None:
    taxonomy, rules, transformer, static, head, examples = trained_heads
    settings = InsightSettings(embedding_cascade=True)
    cascade, scores = train_cascade(
        settings, taxonomy, rules, examples, static, head, transformer, None
    )
    assert cascade.threshold == settings.embedding_cascade_threshold == scores["cascade_threshold"]
    assert 0.0 < scores["cascade_oof_macro_f1"] <= 1.0
    assert 0.0 < scores["transformer_oof_macro_f1"] <= 1.0
    assert 0.0 <= scores["cascade_oof_escalated_share"] <= 1.0
    assert cascade.head.classes == head.classes
    assert cascade.lexical is not None and cascade.lexical.classes == head.classes


def test_a_higher_threshold_sends_more_examples_to_the_transformer(trained_heads) -> None:
    taxonomy, rules, transformer, static, head, examples = trained_heads
    shares = []
    for threshold in (0.3, 0.9):
        settings = InsightSettings(embedding_cascade=True, embedding_cascade_threshold=threshold)
        cascade, scores = train_cascade(
            settings, taxonomy, rules, examples, static, head, transformer, None
        )
        assert cascade.threshold == threshold == scores["cascade_threshold"]
        shares.append(scores["cascade_oof_escalated_share"])
    assert shares[0] < shares[1]


LEXICAL_TEXTS = [
    "fix my python script",
    "python loop throws an error",
    "refactor this python function",
    "book annual leave for friday",
    "how much parental leave do i get",
    "request leave next week",
]
LEXICAL_LABELS = ["coding"] * 3 + ["hr"] * 3


def test_the_lexical_head_matches_scikit_learn_tfidf_and_survives_a_round_trip(tmp_path) -> None:
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import normalize

    from insight_core.nlp.lexical import BLOCKS, HASH_BITS, LEXICAL_REGULARIZATION

    head = train_lexical_head(LEXICAL_TEXTS, LEXICAL_LABELS)
    unseen = ["my python code has a bug", "leave policy question", "zzz"]
    # The same model built the plain scikit-learn way: full hashed space, TfidfTransformer.
    blocks = []
    for analyzer, ngrams in BLOCKS:
        vectorizer = HashingVectorizer(
            n_features=2**HASH_BITS,
            analyzer=analyzer,
            ngram_range=ngrams,
            alternate_sign=False,
            norm=None,
        )
        tfidf = TfidfTransformer(sublinear_tf=True).fit(vectorizer.transform(LEXICAL_TEXTS))
        blocks.append((vectorizer, tfidf))

    def features(texts: list[str]):
        return hstack([normalize(t.transform(v.transform(texts))) for v, t in blocks]).tocsr()

    reference = LogisticRegression(
        C=LEXICAL_REGULARIZATION, max_iter=3000, class_weight="balanced"
    ).fit(features(LEXICAL_TEXTS), LEXICAL_LABELS)
    expected = reference.predict_proba(features(unseen))
    np.testing.assert_allclose(head.predict_proba(unseen)[:, 1], expected[:, 1], atol=1e-3)
    assert head.predict_proba(unseen).argmax(axis=1)[:2].tolist() == [0, 1]

    head.save(tmp_path / "lexical")
    loaded = LexicalHead.load(tmp_path / "lexical")
    assert loaded.classes == head.classes == CLASSES
    np.testing.assert_allclose(loaded.predict_proba(unseen), head.predict_proba(unseen), atol=1e-6)


def test_the_lexical_head_reads_both_ends_of_a_long_text(tmp_path) -> None:
    import json
    from dataclasses import replace

    from insight_core.nlp.lexical import LEXICAL_MAX_CHARS

    head = train_lexical_head(LEXICAL_TEXTS, LEXICAL_LABELS)
    filler = " lorem ipsum dolor sit amet" * 200
    # The request at the start or at the end of long pasted material still decides.
    long_texts = [f"fix my python script{filler}", f"{filler} request leave next week"]
    assert all(len(text) > LEXICAL_MAX_CHARS for text in long_texts)
    assert head.predict_proba(long_texts).argmax(axis=1).tolist() == [0, 1]
    # Only the ends are read: the middle of a long text does not change the probabilities.
    changed_middle = [
        t[:600] + t[600:-600].replace("lorem", "python") + t[-600:] for t in long_texts
    ]
    np.testing.assert_allclose(head.predict_proba(changed_middle), head.predict_proba(long_texts))

    head.save(tmp_path / "capped")
    assert LexicalHead.load(tmp_path / "capped").max_chars == LEXICAL_MAX_CHARS
    # A head saved before the limit existed keeps reading whole texts.
    meta_file = tmp_path / "capped" / "lexical_head.json"
    meta = json.loads(meta_file.read_text())
    del meta["max_chars"]
    meta_file.write_text(json.dumps(meta))
    old = LexicalHead.load(tmp_path / "capped")
    assert old.max_chars is None
    np.testing.assert_allclose(
        old.predict_proba(long_texts), replace(head, max_chars=None).predict_proba(long_texts)
    )
    assert not np.allclose(old.predict_proba(changed_middle), old.predict_proba(long_texts))


def test_combined_probabilities_need_both_heads_to_agree() -> None:
    static = np.array([[0.9, 0.1], [0.9, 0.1]])
    lexical = np.array([[0.9, 0.1], [0.1, 0.9]])
    combined = combine_probabilities(static, lexical)
    np.testing.assert_allclose(combined.sum(axis=1), 1.0)
    np.testing.assert_allclose(combined[0], [0.9, 0.1])
    np.testing.assert_allclose(combined[1], [0.5, 0.5])


def test_a_lexical_disagreement_sends_a_confident_static_prompt_on() -> None:
    static, transformer = TwoWordEmbedder("static"), TwoWordEmbedder("transformer")
    # The static head is fairly sure (0.94) that 'python leave day' is coding; the lexical head,
    # which learned 'leave day' as hr, leans the other way: only with it does the prompt go on.
    texts = ["python leave day"]
    lexical = train_lexical_head(
        ["python code", "leave day", "leave day off", "day of leave"],
        ["coding", "hr", "hr", "hr"],
    )
    sure_static = CategoryHead(CLASSES, np.array([[4.0, 0.0], [0.0, 0.0]], np.float32), np.zeros(2))
    results = [
        decide_with_cascade(
            texts,
            static.embed(texts),
            NoRules(),
            Cascade(static, sure_static, 0.9, lexical_head),
            _head(1.0),
            transformer,
            None,
            0.3,
            "other",
        )
        for lexical_head in (None, lexical)
    ]
    assert [bool(r.escalated[0]) for r in results] == [False, True]


def test_character_ngrams_counted_per_distinct_word_equal_scikit_learns() -> None:
    from insight_core.nlp.lexical import _vectorizers, _word_bounded_counts

    (vectorizer,) = [v for v in _vectorizers() if v.analyzer == "char_wb"]
    texts = [
        "Fix   the VPN\tvpn\nVPN — again!",
        "",
        "a I ok Über straße ÜBER",
        "  leading and trailing whitespace  ",
        "x\u00a0y\u2003zzz repeated repeated repeated",
    ]
    expected = vectorizer.transform(texts).toarray()
    np.testing.assert_array_equal(_word_bounded_counts(vectorizer, texts).toarray(), expected)
    assert _word_bounded_counts(vectorizer, []).shape == (0, expected.shape[1])
    assert _word_bounded_counts(vectorizer, ["", " "]).nnz == 0
