"""BERTopic: fit on a training window, save as safetensors, assign topics at inference.

Saved models keep topic embeddings and c-TF-IDF, not the UMAP/HDBSCAN objects, so inference
assigns each prompt to the most similar topic embedding (BERTopic's documented behaviour for
safetensors models); below ``min_similarity`` a prompt is an outlier (topic -1).
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from insight_core.nlp.embed import Embedder
from insight_core.settings import TopicSettings, resource_path

if TYPE_CHECKING:
    from bertopic import BERTopic

log = logging.getLogger(__name__)

OUTLIER_TOPIC = -1
OUTLIER_LABEL = "unclustered"


def _embedder_backend(embedder: Embedder | None) -> Any:
    from bertopic.backend import BaseEmbedder

    # BERTopic ships no type information, so its base class is Any to the type checker.
    class _Backend(BaseEmbedder):  # type: ignore[misc]
        """Lets BERTopic call our embedder when it needs to embed words or documents."""

        def embed(self, documents: Sequence[str], verbose: bool = False) -> np.ndarray:
            if embedder is None:
                raise RuntimeError("no embedder attached to this topic model")
            return embedder.embed(list(documents))

    return _Backend()


def stopwords(settings: TopicSettings) -> list[str]:
    """English stop words plus the domain words that say nothing about a topic."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return sorted(set(ENGLISH_STOP_WORDS) | {w.lower() for w in settings.extra_stopwords})


# Typed placeholders the redactor leaves (<EMAIL>, <PERSON>, ...): never topic words.
_PLACEHOLDER = re.compile(r"<[A-Z][A-Z_]*>")
# Letters of any script: "João" is one (unlisted) token, not "jo" and "o".
TOKEN_PATTERN = r"(?u)\b[^\W\d_][\w+#.-]*[\w+#]\b"
# Users of documents whose author is not known (texts stored before user hashes were kept):
# together they count as one user.
UNKNOWN_USER = "\x00unknown"
# Documents written by the team (the shipped example set): their terms are always allowed.
TRUSTED_SOURCE = "\x00trusted"
# Stand in for an empty allowed vocabulary: c-TF-IDF needs counted terms (two: with one,
# BERTopic's idf becomes a scalar and fails), so every document is read as these, and labels
# leave them out ("topic 3").
_NO_TERMS = ("no_allowed_term", "no_allowed_terms")


def _no_term_analyzer(doc: str) -> list[str]:
    return list(_NO_TERMS)


def topic_text(doc: str) -> str:
    """What topic words are counted on: the text lower-cased, redaction placeholders removed."""
    return _PLACEHOLDER.sub(" ", doc).lower()


def _count_vectorizer(settings: TopicSettings, vocabulary: Sequence[str] | None = None) -> Any:
    from sklearn.feature_extraction.text import CountVectorizer

    if vocabulary is not None and not vocabulary:
        return CountVectorizer(analyzer=_no_term_analyzer)
    return CountVectorizer(
        preprocessor=topic_text,
        stop_words=stopwords(settings),
        ngram_range=(1, 2),
        token_pattern=TOKEN_PATTERN,
        min_df=1,
        vocabulary=vocabulary,
    )


def term_analyzer(settings: TopicSettings) -> Callable[[str], list[str]]:
    """The topic vectorizer's analyzer: a document's candidate topic terms (1- and 2-grams)."""
    analyzer: Callable[[str], list[str]] = _count_vectorizer(settings).build_analyzer()
    return analyzer


@lru_cache(maxsize=1)
def topic_word_list() -> frozenset[str]:
    """Words a topic term may be made of: common English words that are not person names
    (``resources/topic_words.txt.gz``, derived by ``benchmarks/derive_topic_words.py``) plus
    the shipped workplace glossary (``resources/topic_glossary.txt``)."""
    with gzip.open(resource_path("topic_words.txt.gz"), "rt", encoding="utf-8") as common:
        words = set(common.read().split())
    return frozenset(words | glossary_words())


@lru_cache(maxsize=1)
def glossary_words() -> frozenset[str]:
    """Workplace and product terms allowed whatever their case or frequency."""
    lines = resource_path("topic_glossary.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


# A capitalised word after another word (not at the start of a sentence or line).
_MID_SENTENCE_CAPITALISED = re.compile(r"(?<=[^\s.!?:;\n])[ \t,(\"'’]+([A-Z][a-z]+)\b")
_LOWER_WORD = re.compile(r"\b[a-z]+\b")


def proper_nouns(docs: Sequence[str]) -> set[str]:
    """Words the documents write capitalised in mid-sentence more often than in lower case.

    A common word used as a name ("ask Grace", "Mark said") is written that way; as an
    ordinary word ("by the grace of", "mark as read") it is not. Glossary terms (product names
    such as Excel) are not counted.
    """
    capitalised: dict[str, int] = {}
    lower: dict[str, int] = {}
    for doc in docs:
        for word in _MID_SENTENCE_CAPITALISED.findall(doc):
            key = word.lower()
            capitalised[key] = capitalised.get(key, 0) + 1
        for word in _LOWER_WORD.findall(doc):
            if word in capitalised:
                lower[word] = lower.get(word, 0) + 1
    glossary = glossary_words()
    return {
        word
        for word, count in capitalised.items()
        if count > lower.get(word, 0) and word not in glossary
    }


_WORD = re.compile(r"[A-Za-z]+")


def name_neighbours(docs: Sequence[str], listed: frozenset[str] | set[str]) -> set[str]:
    """Listed words that mostly stand next to one and the same unlisted word.

    A lower-case full name ("john smith", "grace okafor") pairs a name that is not on the list
    with a surname or first name that is an ordinary word; written that way again and again,
    the ordinary half would become a topic word that points at the person.
    """
    occurrences: dict[str, int] = {}
    pairs: dict[tuple[str, str], int] = {}
    for doc in docs:
        words = [w.lower() for w in _WORD.findall(doc)]
        for index, word in enumerate(words):
            if word not in listed:
                continue
            occurrences[word] = occurrences.get(word, 0) + 1
            for neighbour in words[max(0, index - 1) : index] + words[index + 1 : index + 2]:
                if neighbour not in listed and len(neighbour) > 2:
                    pairs[(word, neighbour)] = pairs.get((word, neighbour), 0) + 1
    return {word for (word, _), count in pairs.items() if 2 * count >= occurrences[word] >= 2}


def allowed_vocabulary(
    docs: Sequence[str], users: Sequence[str | None], settings: TopicSettings, min_users: int
) -> list[str]:
    """Terms that may become topic words: made only of listed words and used in prompts of at
    least ``min_users`` users.

    A name or a secret is dangerous exactly when many people type it (a colleague everyone
    mentions, a shared password), so counting users cannot be the only guard: every word of a
    term must be on the topic word list (common English words minus person names, plus the
    workplace glossary, see :func:`topic_word_list`) and must not be written as a proper noun
    in these documents (:func:`proper_nouns`). That rules out rare surnames, ids, numbers and
    invented passwords whatever their frequency.

    Of the remaining terms, one that only one person or a few people use (a customer, a secret
    project) could point at them, so it never reaches a label. ``users`` holds each document's
    user hash; ``None`` is an unknown author (all of them together count as one user) and
    ``TRUSTED_SOURCE`` marks the shipped example set, written by the team, whose listed terms
    are allowed as they are.
    """
    analyzer = term_analyzer(settings)
    listed = topic_word_list() - proper_nouns(docs)
    listed -= name_neighbours(docs, listed)
    users_of: dict[str, set[str]] = {}
    allowed: set[str] = set()
    refused: set[str] = set()
    for doc, user in zip(docs, users, strict=True):
        author = UNKNOWN_USER if user is None else user
        for term in set(analyzer(doc)):
            if term in allowed or term in refused:
                continue
            if not all(word in listed for word in term.split(" ")):
                refused.add(term)
                continue
            if author == TRUSTED_SOURCE:
                allowed.add(term)
                continue
            seen = users_of.setdefault(term, set())
            seen.add(author)
            if len(seen) >= min_users:
                allowed.add(term)
                del users_of[term]  # memory stays bounded by terms x min_users
    return sorted(allowed)


def fit_topic_model(
    docs: Sequence[str],
    embeddings: np.ndarray,
    settings: TopicSettings,
    embedder: Embedder,
    vocabulary: Sequence[str] | None = None,
) -> BERTopic:
    """Fit BERTopic with the configured UMAP/HDBSCAN settings on precomputed embeddings.

    ``vocabulary`` (see ``allowed_vocabulary``) limits which terms topic words, labels and the
    saved c-TF-IDF configuration can hold; ``None`` allows every term of ``docs``.
    """
    from bertopic import BERTopic
    from hdbscan import HDBSCAN
    from umap import UMAP

    n_docs = len(docs)
    umap_model = UMAP(
        n_neighbors=min(settings.umap_n_neighbors, max(2, n_docs - 1)),
        n_components=min(settings.umap_n_components, max(2, n_docs - 2)),
        min_dist=settings.umap_min_dist,
        metric="cosine",
        random_state=settings.random_state,
    )
    hdbscan_model = HDBSCAN(
        min_cluster_size=settings.hdbscan_min_cluster_size,
        min_samples=settings.hdbscan_min_samples,
        metric="euclidean",
        cluster_selection_method="eom",
        prediction_data=True,
    )
    vectorizer = _count_vectorizer(settings, None if vocabulary is None else list(vocabulary))
    model = BERTopic(
        embedding_model=_embedder_backend(embedder),
        umap_model=umap_model,
        hdbscan_model=hdbscan_model,
        vectorizer_model=vectorizer,
        min_topic_size=settings.min_topic_size,
        calculate_probabilities=False,
        verbose=False,
    )
    model.fit(list(docs), embeddings)
    return model


EMBEDDING_MODEL_FILE = "embedding_model.json"


def save_topic_model(model: BERTopic, directory: Path, embedding_model_id: str) -> None:
    """Save as safetensors with c-TF-IDF (no pickle), and the embedding model's id beside it.

    The id is kept in our own file rather than BERTopic's config: on load BERTopic would try
    ``SentenceTransformer(<id>)``, which reaches for the hub.
    """
    directory.mkdir(parents=True, exist_ok=True)
    # BERTopic warns that no embedding model is saved: intended, see above.
    logging.getLogger("BERTopic").setLevel(logging.ERROR)
    model.save(
        str(directory),
        serialization="safetensors",
        save_ctfidf=True,
        save_embedding_model=False,
    )
    (directory / EMBEDDING_MODEL_FILE).write_text(
        json.dumps({"embedding_model": embedding_model_id})
    )


def load_topic_model(directory: Path, embedder: Embedder | None) -> BERTopic:
    """Load a saved topic model, attaching our embedder instead of BERTopic's loader."""
    from bertopic import BERTopic

    return BERTopic.load(str(directory), embedding_model=_embedder_backend(embedder))


def topic_labels(model: BERTopic, n_words: int = 3) -> dict[int, tuple[str, str]]:
    """Readable label ("vpn · connect · remote") and top words per topic id."""
    labels: dict[int, tuple[str, str]] = {}
    for topic_id, words in model.get_topics().items():
        terms = [w for w, _ in words if w and w not in _NO_TERMS][:10]
        if int(topic_id) == OUTLIER_TOPIC:
            labels[OUTLIER_TOPIC] = (OUTLIER_LABEL, ", ".join(terms))
            continue
        label = " · ".join(terms[:n_words]) if terms else f"topic {topic_id}"
        labels[int(topic_id)] = (label, ", ".join(terms))
    labels.setdefault(OUTLIER_TOPIC, (OUTLIER_LABEL, ""))
    return labels


def topic_table(model: BERTopic) -> pl.DataFrame:
    """One row per topic: ``topic_id``, ``label``, ``words``, ``size``."""
    sizes = model.get_topic_freq()
    size_by_topic = dict(zip(sizes["Topic"].tolist(), sizes["Count"].tolist(), strict=True))
    labels = topic_labels(model)
    return pl.DataFrame(
        {
            "topic_id": list(labels),
            "label": [labels[t][0] for t in labels],
            "words": [labels[t][1] for t in labels],
            "size": [int(size_by_topic.get(t, 0)) for t in labels],
        },
        schema={"topic_id": pl.Int64, "label": pl.String, "words": pl.String, "size": pl.Int64},
    ).sort("topic_id")


@dataclass(frozen=True)
class TopicIndex:
    """What inference needs from a fitted model: topic ids and their embeddings."""

    topic_ids: np.ndarray
    topic_vectors: np.ndarray  # L2-normalised, (n_topics, dim)

    @classmethod
    def from_model(cls, model: BERTopic) -> TopicIndex:
        ids = np.array(sorted(model.get_topics().keys()), dtype=np.int64)
        vectors = np.asarray(model.topic_embeddings_, dtype=np.float32)
        # topic_embeddings_ is ordered by topic id starting at -1 when outliers exist.
        offset = 1 if OUTLIER_TOPIC in ids else 0
        keep = ids != OUTLIER_TOPIC
        rows = vectors[offset : offset + int(keep.sum())]
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return cls(topic_ids=ids[keep], topic_vectors=rows / np.where(norms == 0, 1, norms))

    def assign(
        self, embeddings: np.ndarray, min_similarity: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Nearest topic per embedding and its cosine similarity; outlier below the floor."""
        if len(self.topic_ids) == 0 or len(embeddings) == 0:
            return (
                np.full(len(embeddings), OUTLIER_TOPIC, dtype=np.int64),
                np.zeros(len(embeddings), dtype=np.float32),
            )
        similarity = embeddings @ self.topic_vectors.T
        best = similarity.argmax(axis=1)
        score = similarity[np.arange(len(embeddings)), best]
        topics = np.where(score >= min_similarity, self.topic_ids[best], OUTLIER_TOPIC)
        return topics.astype(np.int64), score.astype(np.float32)
