"""The category head learned from the shipped labeled example set, and its out-of-fold score."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import polars as pl

from insight_core.modelling.metrics import cross_validate_head, score
from insight_core.nlp.cascade import Cascade, escalation_mask
from insight_core.nlp.decision import decisions_from, embed_views, most_confident_probabilities
from insight_core.nlp.embed import Embedder, EmbeddingCache, embed_with_cache
from insight_core.nlp.head import CategoryHead, train_category_head
from insight_core.nlp.lexical import LexicalHead, combine_probabilities, train_lexical_head
from insight_core.nlp.rules import RuleSet
from insight_core.nlp.taxonomy import Taxonomy, load_examples, load_training_corpus
from insight_core.settings import InsightSettings, resource_path

TRAINING_CORPUS = ("training", "corpus.csv")
# Families of the training set that are not in the corpus file.
EXAMPLES_FAMILY = "examples"
DESCRIPTIONS_FAMILY = "descriptions"


def source_weights(families: Sequence[str], categories: Sequence[str]) -> np.ndarray:
    """Per-row weights so that no category is learned from one source or one register.

    Within a category each source (family) weighs as the square root of its row count: a large
    source still counts more than a small one, but not in proportion, so the 150 voice commands
    of one bot corpus do not drown the 20 real prompts of another. The heads then balance the
    categories themselves (``nlp.head.balanced_weights``).
    """
    keys = [
        f"{family}\x00{category}" for family, category in zip(families, categories, strict=True)
    ]
    _, inverse, counts = np.unique(np.asarray(keys), return_inverse=True, return_counts=True)
    return np.asarray(1.0 / np.sqrt(counts[inverse]))


def training_set(settings: InsightSettings, taxonomy: Taxonomy) -> pl.DataFrame:
    """What the category heads learn from (``text``, ``category``, ``family``, ``weight``): the
    team's example set (and the user's extra examples), the shipped corpus of real labelled
    text, and the category descriptions, weighted by :func:`source_weights`."""
    examples = load_examples(settings.examples_file, taxonomy, settings.extra_examples_paths)
    corpus = load_training_corpus(resource_path(*TRAINING_CORPUS), taxonomy)
    descriptions = pl.DataFrame(
        {
            "text": list(taxonomy.descriptions.values()),
            "category": list(taxonomy.descriptions),
            "family": [DESCRIPTIONS_FAMILY] * len(taxonomy.descriptions),
        }
    )
    frame = pl.concat(
        [
            examples.select("text", "category").with_columns(
                pl.lit(EXAMPLES_FAMILY).alias("family")
            ),
            corpus,
            descriptions,
        ]
    ).unique(subset=["text"], keep="first", maintain_order=True)
    weights = source_weights(
        frame.get_column("family").to_list(), frame.get_column("category").to_list()
    )
    return frame.with_columns(pl.Series("weight", weights))


# The category heads blend two linear heads (docs/classification.md, "Training data"): one
# learned from the team's examples and the descriptions, one from the whole training set. Both
# were chosen by leave-one-source-out (benchmarks/leave_source_out.py): the real-text head alone
# gains on unseen sources but loses on the registers the examples cover; the blend keeps most
# of both. The fallback's logit gets a small prior: real assistant prompts are mostly "other".
EXAMPLES_HEAD_SHARE = 0.5
FALLBACK_LOG_PRIOR = 0.5


def blend_heads(
    team: CategoryHead, corpus: CategoryHead, team_share: float, fallback: str, prior: float
) -> CategoryHead:
    """One linear head whose logits are the weighted mean of both heads' logits (the geometric
    mean of their probabilities) plus ``prior`` on ``fallback``."""
    order = [corpus.classes.index(c) for c in team.classes]
    weights = team_share * team.weights + (1 - team_share) * corpus.weights[order]
    bias = team_share * team.bias + (1 - team_share) * corpus.bias[order]
    if fallback in team.classes:
        bias = bias.copy()
        bias[team.classes.index(fallback)] += prior
    return CategoryHead(team.classes, weights.astype(np.float32), bias.astype(np.float32))


def train_blended_head(vectors: np.ndarray, training: pl.DataFrame, fallback: str) -> CategoryHead:
    """The category head on a :func:`training_set` frame and its vectors (row for row)."""
    labels = training.get_column("category").to_list()
    team = np.flatnonzero(
        training.get_column("family").is_in([EXAMPLES_FAMILY, DESCRIPTIONS_FAMILY]).to_numpy()
    )
    team_head = train_category_head(vectors[team], [labels[i] for i in team], calibration_folds=0)
    corpus_head = train_category_head(
        vectors, labels, weights=training["weight"].to_numpy(), calibration_folds=0
    )
    return blend_heads(team_head, corpus_head, EXAMPLES_HEAD_SHARE, fallback, FALLBACK_LOG_PRIOR)


def train_head(
    settings: InsightSettings,
    taxonomy: Taxonomy,
    embedder: Embedder,
    cache: EmbeddingCache | None,
) -> tuple[CategoryHead, pl.DataFrame]:
    """Train the category head on :func:`training_set`; returns it with the example set."""
    training = training_set(settings, taxonomy)
    vectors, _ = embed_with_cache(training.get_column("text").to_list(), embedder, cache)
    head = train_blended_head(vectors, training, taxonomy.fallback)
    examples = training.filter(pl.col("family") == EXAMPLES_FAMILY).select("text", "category")
    return head, examples


def examples_cross_validation(
    settings: InsightSettings,
    examples: pl.DataFrame,
    head: CategoryHead,
    rules: RuleSet,
    taxonomy: Taxonomy,
    embedder: Embedder,
    cache: EmbeddingCache | None,
) -> dict[str, float]:
    """Out-of-fold scores of the hybrid decision on the shipped example set (for MLflow)."""
    texts = examples.get_column("text").to_list()
    vectors, _ = embed_with_cache(texts, embedder, cache)

    def fold_head(fold_vectors: np.ndarray, fold_labels: Sequence[str]) -> CategoryHead:
        fitted = train_category_head(fold_vectors, fold_labels, calibration_folds=0)
        return replace(fitted, temperature=head.temperature)

    report = cross_validate_head(
        examples,
        vectors,
        rules,
        fold_head,
        settings.abstain_threshold,
        taxonomy.categories,
        taxonomy.fallback,
        views=embed_views(texts, embedder, cache),
    )
    scores = {"accuracy": report.accuracy, "macro_f1": report.macro_f1}
    scores.update(
        {f"f1_{row['category']}": row["f1"] for row in report.per_category.iter_rows(named=True)}
    )
    return scores


def out_of_fold_probabilities(
    vectors: np.ndarray,
    texts: Sequence[str],
    labels: Sequence[str],
    head: CategoryHead,
    embedder: Embedder,
    cache: EmbeddingCache | None,
    folds: int = 5,
    seed: int = 13,
) -> np.ndarray:
    """Each example's class probabilities (columns in ``head.classes`` order) from a head that
    never saw it, over the example and its instruction views, as the pipeline decides.
    """
    from sklearn.model_selection import StratifiedKFold

    views = embed_views(texts, embedder, cache)
    probabilities = np.zeros((len(labels), len(head.classes)))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(np.zeros(len(labels)), labels):
        fitted = train_category_head(
            vectors[train], [labels[i] for i in train], calibration_folds=0
        )
        fold_head = replace(fitted, temperature=head.temperature)
        order = [fold_head.classes.index(c) for c in head.classes]
        fold = most_confident_probabilities(fold_head, vectors[test], [views[i] for i in test])
        probabilities[test] = fold[:, order]
    return probabilities


def lexical_out_of_fold_probabilities(
    texts: Sequence[str],
    labels: Sequence[str],
    classes: Sequence[str],
    folds: int = 5,
    seed: int = 13,
) -> np.ndarray:
    """Each example's lexical-head probabilities (columns in ``classes`` order) from a head
    that never saw it, on the same folds as :func:`out_of_fold_probabilities`.
    """
    from sklearn.model_selection import StratifiedKFold

    probabilities = np.zeros((len(labels), len(classes)))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(np.zeros(len(labels)), labels):
        fold_head = train_lexical_head([texts[i] for i in train], [labels[i] for i in train])
        order = [fold_head.classes.index(c) for c in classes]
        fold = fold_head.predict_proba([texts[i] for i in test])
        probabilities[test] = fold[:, order]
    return probabilities


def train_lexical_head_on(training: pl.DataFrame) -> LexicalHead:
    """The cascade's lexical head from a :func:`training_set` frame: the team's examples and
    the category descriptions only.

    Learning from the real rows as well (weighted as the heads weigh them) sent a fifth fewer
    prompts to the transformer, but at equal work it lost on the assistant prompts left out
    (docs/classification.md, "The category adapter"), so it was not kept.
    """
    team = training.filter(pl.col("family").is_in([EXAMPLES_FAMILY, DESCRIPTIONS_FAMILY]))
    return train_lexical_head(
        team.get_column("text").to_list(), team.get_column("category").to_list()
    )


def train_cascade(
    settings: InsightSettings,
    taxonomy: Taxonomy,
    rules: RuleSet,
    examples: pl.DataFrame,
    static: Embedder,
    head: CategoryHead,
    embedder: Embedder,
    cache: EmbeddingCache | None,
) -> tuple[Cascade, dict[str, float]]:
    """The static and lexical heads, with the cascade's out-of-fold scores on the shipped
    examples.

    The static head learns as the transformer's head does (:func:`train_head`), the lexical head
    from the examples plus the category descriptions (:func:`train_lexical_head_on`); the static
    side's probabilities are their combination (``nlp.lexical.combine_probabilities``). The
    threshold is the setting's (``INSIGHT_EMBEDDING_CASCADE_THRESHOLD``, chosen by leaving
    sources out); the scores say what it does on the team's examples, out of fold, beside the
    transformer alone.
    """
    # One read of the training set for both cheap heads (as :func:`train_head` trains a head).
    training = training_set(settings, taxonomy)
    training_vectors, _ = embed_with_cache(training.get_column("text").to_list(), static, None)
    static_head = train_blended_head(training_vectors, training, taxonomy.fallback)
    lexical_head = train_lexical_head_on(training)
    texts = examples.get_column("text").to_list()
    truth = examples.get_column("category").to_list()
    static_vectors, _ = embed_with_cache(texts, static, None)
    transformer_vectors, _ = embed_with_cache(texts, embedder, cache)
    static_oof = combine_probabilities(
        out_of_fold_probabilities(static_vectors, texts, truth, static_head, static, None),
        lexical_out_of_fold_probabilities(texts, truth, head.classes),
    )
    transformer_oof = out_of_fold_probabilities(
        transformer_vectors, texts, truth, head, embedder, cache
    )
    matches = rules.decide_many(texts)

    def macro_f1(probabilities: np.ndarray) -> float:
        decided = decisions_from(
            matches, probabilities, head.classes, settings.abstain_threshold, taxonomy.fallback
        )
        return score(truth, [d.category for d in decided], taxonomy.categories)[1]

    def mixed(threshold: float) -> tuple[np.ndarray, float]:
        escalated = escalation_mask(matches, static_oof, threshold)
        combined = static_oof.copy()
        combined[escalated] = transformer_oof[escalated]
        return combined, float(escalated.mean()) if len(escalated) else 0.0

    threshold = settings.embedding_cascade_threshold
    combined, share = mixed(threshold)
    scores = {
        "cascade_threshold": threshold,
        "cascade_oof_macro_f1": macro_f1(combined),
        "transformer_oof_macro_f1": macro_f1(transformer_oof),
        "cascade_oof_escalated_share": share,
    }
    return Cascade(static, static_head, threshold, lexical_head), scores
