"""Topic-model quality measures used to compare models (refit promotion, tuning).

All three are computed on the same documents for every model compared: the outlier share
(prompts no topic claims), topic diversity (share of unique words among the topics' top
words) and NPMI coherence of each topic's top words over document co-occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from insight_core.nlp.topics import TopicIndex

TOKEN = re.compile(r"[a-z][a-z0-9_+#.-]*[a-z0-9+#]")


@dataclass(frozen=True)
class TopicQuality:
    """Quality of one topic model on one document set."""

    n_topics: int
    outlier_share: float
    diversity: float
    coherence: float

    def as_dict(self) -> dict[str, float]:
        return {
            "n_topics": float(self.n_topics),
            "outlier_share": self.outlier_share,
            "topic_diversity": self.diversity,
            "topic_coherence": self.coherence,
        }


def topic_diversity(topic_words: Sequence[Sequence[str]], top_n: int = 10) -> float:
    """Unique words over all words among each topic's ``top_n`` words (1.0 = no overlap)."""
    words = [w for topic in topic_words for w in list(topic)[:top_n]]
    return len(set(words)) / len(words) if words else 0.0


def npmi_coherence(
    topic_words: Sequence[Sequence[str]], docs: Sequence[str], top_n: int = 10
) -> float:
    """Mean NPMI of word pairs within each topic's top words, over document co-occurrence.

    Multi-word terms count by their first word. Ranges from -1 (never together) to 1.
    """
    n_docs = len(docs)
    if n_docs == 0:
        return 0.0
    topics = [
        list(dict.fromkeys(t.split()[0].lower() for t in list(topic)[:top_n] if t))
        for topic in topic_words
    ]
    wanted = {term for terms in topics for term in terms}
    postings: dict[str, set[int]] = {term: set() for term in wanted}
    for number, doc in enumerate(docs):
        for token in set(TOKEN.findall(doc.lower())) & wanted:
            postings[token].add(number)
    scores = []
    for terms in topics:
        pair_scores = []
        for a, b in combinations(terms, 2):
            p_a = len(postings[a]) / n_docs
            p_b = len(postings[b]) / n_docs
            p_ab = len(postings[a] & postings[b]) / n_docs
            if p_ab == 0 or p_a == 0 or p_b == 0:
                pair_scores.append(-1.0)
            elif p_ab == 1:
                pair_scores.append(1.0)
            else:
                pair_scores.append(float(np.log(p_ab / (p_a * p_b)) / -np.log(p_ab)))
        if pair_scores:
            scores.append(float(np.mean(pair_scores)))
    return float(np.mean(scores)) if scores else 0.0


def topic_quality(
    index: TopicIndex,
    topic_words: Sequence[Sequence[str]],
    docs: Sequence[str],
    embeddings: np.ndarray,
    min_similarity: float,
) -> TopicQuality:
    """Quality of a model on ``docs`` (with their embeddings)."""
    topics, _ = index.assign(embeddings, min_similarity)
    outliers = float((topics == -1).mean()) if len(topics) else 1.0
    return TopicQuality(
        n_topics=len(index.topic_ids),
        outlier_share=outliers,
        diversity=topic_diversity(topic_words),
        coherence=npmi_coherence(topic_words, docs),
    )
