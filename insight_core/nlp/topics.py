"""BERTopic: fit on a training window, save as safetensors, assign topics at inference.

Saved models keep topic embeddings and c-TF-IDF, not the UMAP/HDBSCAN objects, so inference
assigns each prompt to the most similar topic embedding (BERTopic's documented behaviour for
safetensors models); below ``min_similarity`` a prompt is an outlier (topic -1).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from insight_core.nlp.embed import Embedder
from insight_core.settings import TopicSettings

if TYPE_CHECKING:
    from bertopic import BERTopic

log = logging.getLogger(__name__)

OUTLIER_TOPIC = -1
OUTLIER_LABEL = "unclustered"


def _embedder_backend(embedder: Embedder | None):
    from bertopic.backend import BaseEmbedder

    class _Backend(BaseEmbedder):
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
_TOKEN_PATTERN = r"(?u)\b[a-zA-Z][a-zA-Z0-9_+#.-]*[a-zA-Z0-9+#]\b"
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


def _count_vectorizer(settings: TopicSettings, vocabulary: Sequence[str] | None = None):
    from sklearn.feature_extraction.text import CountVectorizer

    if vocabulary is not None and not vocabulary:
        return CountVectorizer(analyzer=_no_term_analyzer)
    return CountVectorizer(
        preprocessor=topic_text,
        stop_words=stopwords(settings),
        ngram_range=(1, 2),
        token_pattern=_TOKEN_PATTERN,
        min_df=1,
        vocabulary=vocabulary,
    )


def term_analyzer(settings: TopicSettings) -> Callable[[str], list[str]]:
    """The topic vectorizer's analyzer: a document's candidate topic terms (1- and 2-grams)."""
    return _count_vectorizer(settings).build_analyzer()


def allowed_vocabulary(
    docs: Sequence[str], users: Sequence[str | None], settings: TopicSettings, min_users: int
) -> list[str]:
    """Terms that may become topic words: used in prompts of at least ``min_users`` users.

    A word only one person or a few people use (a colleague's name the redactor missed, a
    customer, a secret project) could point at them, so it never reaches a label. ``users``
    holds each document's user hash; ``None`` is an unknown author (all of them together
    count as one user) and ``TRUSTED_SOURCE`` marks the shipped example set, written by the
    team, whose terms are allowed as they are.
    """
    analyzer = term_analyzer(settings)
    users_of: dict[str, set[str]] = {}
    allowed: set[str] = set()
    for doc, user in zip(docs, users, strict=True):
        author = UNKNOWN_USER if user is None else user
        for term in set(analyzer(doc)):
            if term in allowed:
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
