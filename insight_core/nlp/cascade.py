"""The embedding cascade: a static model for every prompt, the transformer where it is unsure.

Rules decide first. Every other prompt is read by the category head trained on the static
model's embeddings; where that head's confidence (over the prompt and its instruction views)
reaches the cascade threshold its decision stands, otherwise the whole prompt is embedded by
the transformer and decided by the transformer's head. The
threshold (``INSIGHT_EMBEDDING_CASCADE_THRESHOLD``) was chosen by leaving sources out: below it
the cascade loses quality on sources it has not seen, above it only sends more prompts to the
transformer (docs/classification.md, "Threshold").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from insight_core.nlp.decision import (
    Decision,
    decide_categories,
    decisions_from,
    embed_views,
    most_confident_probabilities,
)
from insight_core.nlp.embed import Embedder, EmbeddingCache, embed_with_cache
from insight_core.nlp.head import CategoryHead
from insight_core.nlp.lexical import LexicalHead, combine_probabilities
from insight_core.nlp.rules import RuleMatch, RuleSet


@dataclass(frozen=True)
class Cascade:
    """The static embedder, the category head on its vectors, and the escalation threshold.

    With a ``lexical`` head (word and character n-grams), the static side's probabilities are
    the normalised geometric mean of both heads': they must agree for the static side to be
    confident. Bundles fitted before it existed have none and use the static head alone.
    """

    static: Embedder
    head: CategoryHead
    threshold: float
    lexical: LexicalHead | None = None


@dataclass(frozen=True)
class CascadeResult:
    """Decisions plus which prompts went to the transformer."""

    decisions: list[Decision]
    escalated: np.ndarray  # bool per prompt


def static_probabilities(
    texts: Sequence[str], static_vectors: np.ndarray, cascade: Cascade
) -> np.ndarray:
    """The static side's probabilities: the static head's, from the prompt or its most telling
    instruction view, combined with the lexical head's on the whole prompt where there is one.
    """
    views = embed_views(texts, cascade.static, None, static_vectors, cascade.head)
    probabilities = most_confident_probabilities(cascade.head, static_vectors, views)
    if cascade.lexical is None or not len(texts):
        return probabilities
    return combine_probabilities(probabilities, cascade.lexical.predict_proba(texts))


def escalation_mask(
    matches: Sequence[RuleMatch | None], probabilities: np.ndarray, threshold: float
) -> np.ndarray:
    """Prompts no rule decided whose static confidence is below ``threshold``."""
    undecided = np.array([m is None for m in matches], dtype=bool)
    if not len(probabilities):
        return undecided
    escalate: np.ndarray = undecided & (probabilities.max(axis=1) < threshold)
    return escalate


def decide_with_cascade(
    texts: Sequence[str],
    static_vectors: np.ndarray,
    rules: RuleSet,
    cascade: Cascade,
    head: CategoryHead,
    embedder: Embedder,
    cache: EmbeddingCache | None,
    abstain_threshold: float,
    fallback: str,
) -> CascadeResult:
    """Category decisions through the cascade; ``embedder``/``head`` are the transformer's."""
    lexical_classes = cascade.lexical.classes if cascade.lexical is not None else head.classes
    if not tuple(cascade.head.classes) == tuple(lexical_classes) == tuple(head.classes):
        raise ValueError("the static and transformer heads must share their classes")
    matches = rules.decide_many(texts)
    # A rule's decision ignores every head, so only the other prompts are read by the heads.
    probabilities = np.zeros((len(texts), len(head.classes)))
    escalated = np.zeros(len(texts), dtype=bool)
    unruled = np.flatnonzero([match is None for match in matches])
    if len(unruled):
        probabilities[unruled], escalated[unruled] = cascade_probabilities(
            [texts[int(i)] for i in unruled],
            static_vectors[unruled],
            cascade,
            head,
            embedder,
            cache,
        )
    decisions = decisions_from(matches, probabilities, head.classes, abstain_threshold, fallback)
    return CascadeResult(decisions, escalated)


def cascade_probabilities(
    texts: Sequence[str],
    static_vectors: np.ndarray,
    cascade: Cascade,
    head: CategoryHead,
    embedder: Embedder,
    cache: EmbeddingCache | None,
) -> tuple[np.ndarray, np.ndarray]:
    """The class probabilities the cascade decides from (no rules), and which texts it sent to
    the transformer: the static side's where it reaches the threshold, else the transformer's."""
    probabilities = static_probabilities(texts, static_vectors, cascade)
    escalated = escalation_mask([None] * len(texts), probabilities, cascade.threshold)
    positions = np.flatnonzero(escalated)
    if len(positions):
        # The transformer reads the whole prompt only: its instruction views of long prompts
        # were more passes and changed nothing on families held out from the heads (the
        # cascade 0.746 / assistant 0.554 with them, 0.747 / 0.553 without;
        # docs/classification.md, "Instruction views").
        vectors, _ = embed_with_cache([texts[int(i)] for i in positions], embedder, cache)
        probabilities[positions] = head.predict_proba(vectors)
    return probabilities, escalated


def model_probabilities(
    texts: Sequence[str],
    vectors: np.ndarray,
    head: CategoryHead,
    cascade: Cascade | None,
    embedder: Embedder,
    cache: EmbeddingCache | None,
) -> np.ndarray:
    """The class probabilities :func:`decide` takes its model decisions from, before the rules
    and the abstain threshold (``vectors`` in the model's topic space, as for ``decide``)."""
    if cascade is not None:
        return cascade_probabilities(texts, vectors, cascade, head, embedder, cache)[0]
    views = embed_views(texts, embedder, cache, vectors, head)
    return most_confident_probabilities(head, vectors, views)


def decide(
    texts: Sequence[str],
    vectors: np.ndarray,
    rules: RuleSet,
    head: CategoryHead,
    cascade: Cascade | None,
    embedder: Embedder,
    cache: EmbeddingCache | None,
    abstain_threshold: float,
    fallback: str,
) -> CascadeResult:
    """The pipeline's category decision for a model with or without the cascade.

    ``vectors`` are in the model's topic space: static vectors with a cascade, else the
    transformer's (``embedder``), whose instruction views are then embedded for unsure prompts.
    """
    if cascade is not None:
        return decide_with_cascade(
            texts, vectors, rules, cascade, head, embedder, cache, abstain_threshold, fallback
        )
    views = embed_views(texts, embedder, cache, vectors, head)
    decisions = decide_categories(
        texts, vectors, rules, head, abstain_threshold, fallback, views=views
    )
    return CascadeResult(decisions, np.zeros(len(texts), dtype=bool))
