"""The category decision: override rules first, then a model on the embeddings.

The model is a multinomial logistic-regression head learned from the shipped labeled example
set. It is stored as plain weight matrices in safetensors (no pickle) and applied with numpy,
so inference needs neither scikit-learn state nor the training data.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from insight_core.nlp.embed import Embedder, EmbeddingCache, embed_with_cache
from insight_core.nlp.head import CategoryHead
from insight_core.nlp.rules import RuleMatch, RuleSet

RULE_CONFIDENCE = 1.0


@dataclass(frozen=True)
class Decision:
    """One prompt's category and the evidence for it."""

    category: str
    decided_by: str  # "rule" | "model"
    confidence: float
    rule_id: str | None = None
    matched_phrase: str | None = None


PASTED_TEXT_MIN_CHARS = 600
INSTRUCTION_MAX_CHARS = 400
_LEAD_END = re.compile(r"[:?\n]")


def instruction_views(text: str) -> list[str]:
    """Short instruction-like parts of a long prompt that carries pasted material.

    "Summarise this article: <article>" or "<code> why does this fail?": the pasted part
    dominates an embedding of the whole prompt, while the request that decides the category
    sits in the first or last paragraph or sentence. Short prompts have no separate views.
    """
    if len(text) < PASTED_TEXT_MIN_CHARS:
        return []
    views: list[str] = []
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    if len(paragraphs) >= 2:
        views += [p for p in (paragraphs[0], paragraphs[-1]) if len(p) <= INSTRUCTION_MAX_CHARS]
    lead = _LEAD_END.search(text[:INSTRUCTION_MAX_CHARS])
    if lead is not None and lead.start() >= 15:
        views.append(text[: lead.start() + 1].strip())
    last_line = text.rstrip().rsplit("\n", 1)[-1].strip()
    if 15 <= len(last_line) <= INSTRUCTION_MAX_CHARS:
        views.append(last_line)
    unique = []
    for view in views:
        if view and view != text and view not in unique:
            unique.append(view)
    return unique


# Above this confidence on the whole prompt, other views cannot change much: skip embedding them.
VIEWS_BELOW_CONFIDENCE = 0.9


def embed_views(
    texts: Sequence[str],
    embedder: Embedder,
    cache: EmbeddingCache | None,
    embeddings: np.ndarray | None = None,
    head: CategoryHead | None = None,
) -> list[np.ndarray]:
    """Embeddings of each text's instruction views (an empty array where it has none).

    Given the texts' ``embeddings`` and the ``head``, only prompts the head is unsure about
    (below ``VIEWS_BELOW_CONFIDENCE``) get views: the others would keep their decision.
    """
    wanted = [True] * len(texts)
    if embeddings is not None and head is not None and len(texts):
        wanted = list(head.predict_proba(embeddings).max(axis=1) < VIEWS_BELOW_CONFIDENCE)
    views = [instruction_views(t) if want else [] for t, want in zip(texts, wanted, strict=True)]
    flat = [v for group in views for v in group]
    vectors, _ = embed_with_cache(flat, embedder, cache)
    out, position = [], 0
    for group in views:
        out.append(vectors[position : position + len(group)])
        position += len(group)
    return out


def most_confident_probabilities(
    head: CategoryHead, embeddings: np.ndarray, views: Sequence[np.ndarray] | None = None
) -> np.ndarray:
    """The head's class probabilities per text, from whichever view it is most confident about.

    Row ``i`` reads the whole prompt (``embeddings[i]``) and each of its instruction views
    (``views[i]``, possibly empty) and keeps the distribution with the highest maximum.
    """
    if not len(embeddings):
        return np.zeros((0, len(head.classes)))
    probabilities = head.predict_proba(embeddings)
    for index, extra in enumerate(views or []):
        if len(extra):
            candidates = np.vstack([probabilities[index], head.predict_proba(extra)])
            probabilities[index] = candidates[candidates.max(axis=1).argmax()]
    return probabilities


def decide_categories(
    texts: Sequence[str],
    embeddings: np.ndarray,
    rules: RuleSet,
    head: CategoryHead,
    abstain_threshold: float,
    fallback: str,
    views: Sequence[np.ndarray] | None = None,
) -> list[Decision]:
    """Rules beat the model; a model decision under ``abstain_threshold`` becomes ``fallback``.

    With ``views`` (extra embeddings per text, see :func:`instruction_views`), the model
    decides from whichever view of the prompt it is most confident about.
    """
    matches: list[RuleMatch | None] = rules.decide_many(texts)
    probabilities = most_confident_probabilities(head, embeddings, views)
    return decisions_from(matches, probabilities, head.classes, abstain_threshold, fallback)


def decisions_from(
    matches: Sequence[RuleMatch | None],
    probabilities: np.ndarray,
    classes: Sequence[str],
    abstain_threshold: float,
    fallback: str,
) -> list[Decision]:
    """A rule's match where there is one, else the most probable class (or ``fallback``)."""
    decisions = []
    for index, match in enumerate(matches):
        if match is not None:
            decisions.append(
                Decision(match.category, "rule", RULE_CONFIDENCE, match.rule_id, match.phrase)
            )
            continue
        best = int(np.argmax(probabilities[index]))
        confidence = float(probabilities[index, best])
        category = classes[best] if confidence >= abstain_threshold else fallback
        decisions.append(Decision(category, "model", confidence))
    return decisions


def majority_categories(
    topic_ids: Sequence[int], categories: Sequence[str], min_share: float = 0.5
) -> dict[int, str | None]:
    """Each topic's majority category, or None where no category holds ``min_share``.

    A topic whose prompts are split is not forced into a category it does not fit.
    """
    by_topic: dict[int, Counter[str]] = {}
    for topic, category in zip(topic_ids, categories, strict=True):
        by_topic.setdefault(int(topic), Counter())[category] += 1
    result: dict[int, str | None] = {}
    for topic, counts in by_topic.items():
        category, votes = counts.most_common(1)[0]
        result[topic] = category if votes / sum(counts.values()) >= min_share else None
    return result
