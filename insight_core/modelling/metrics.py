"""Measuring the category decision on labeled prompts (``text``, ``category``).

Three views of the same decision: ``hybrid`` (what the pipeline does: rules, then the model),
``rules`` (the rule layer alone; prompts no rule claims count as the fallback category) and
``model`` (the model alone, abstain threshold included).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import polars as pl

from insight_core.errors import SourceError
from insight_core.nlp.decision import Decision, decide_categories
from insight_core.nlp.head import CategoryHead
from insight_core.nlp.rules import RuleSet
from insight_core.prep.redact import redact_text

EvaluationMode = Literal["hybrid", "rules", "model"]
MODES: tuple[EvaluationMode, ...] = ("hybrid", "rules", "model")


@dataclass(frozen=True)
class EvaluationReport:
    """Scores of one mode on one labeled set."""

    mode: str
    n: int
    accuracy: float
    macro_f1: float
    per_category: pl.DataFrame  # category, precision, recall, f1, support
    confusion: pl.DataFrame  # true category x predicted category counts
    mistakes: pl.DataFrame  # the most confident wrong decisions
    by_group: pl.DataFrame | None = None  # accuracy per value of a grouping column
    rule_coverage: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)

    def metrics(self) -> dict[str, float]:
        """Flat metrics for MLflow: ``<mode>_accuracy``, ``<mode>_f1_<category>``..."""
        values = {
            **{f"{self.mode}_{k}": v for k, v in self.extra.items()},
            f"{self.mode}_accuracy": self.accuracy,
            f"{self.mode}_macro_f1": self.macro_f1,
            f"{self.mode}_rule_coverage": self.rule_coverage,
        }
        for row in self.per_category.iter_rows(named=True):
            for key in ("precision", "recall", "f1"):
                values[f"{self.mode}_{key}_{row['category']}"] = row[key]
        return values


def _decisions(
    mode: EvaluationMode,
    texts: Sequence[str],
    embeddings: np.ndarray,
    rules: RuleSet,
    head: CategoryHead,
    abstain_threshold: float,
    fallback: str,
    views: Sequence[np.ndarray] | None,
) -> list[Decision]:
    if mode == "model":
        no_rules = RuleSet(rules=(), file_hash=rules.file_hash, version=rules.version)
        return decide_categories(
            texts, embeddings, no_rules, head, abstain_threshold, fallback, views
        )
    decisions = decide_categories(
        texts, embeddings, rules, head, abstain_threshold, fallback, views
    )
    if mode == "rules":
        return [d if d.decided_by == "rule" else Decision(fallback, "rule", 0.0) for d in decisions]
    return decisions


def score(
    truth: Sequence[str],
    predicted: Sequence[str],
    categories: Sequence[str],
) -> tuple[float, float, pl.DataFrame, pl.DataFrame]:
    """Accuracy, macro-F1 over ``categories``, per-category table and confusion matrix."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    labels = list(categories)
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    per_category = pl.DataFrame(
        {
            "category": labels,
            "precision": np.round(precision, 4),
            "recall": np.round(recall, 4),
            "f1": np.round(f1, 4),
            "support": support.astype(np.int64),
        }
    )
    # Macro-F1 over the categories present in the labeled set: an absent category has no
    # defined recall and would only add a zero.
    present = per_category.filter(pl.col("support") > 0)
    matrix = confusion_matrix(truth, predicted, labels=labels)
    confusion = pl.DataFrame(matrix, schema=labels).insert_column(
        0, pl.Series("true_category", labels)
    )
    return (
        float(accuracy_score(truth, predicted)),
        float(present.get_column("f1").mean() or 0.0),  # type: ignore[arg-type]
        per_category,
        confusion,
    )


def evaluate(
    labeled: pl.DataFrame,
    embeddings: np.ndarray,
    rules: RuleSet,
    head: CategoryHead,
    abstain_threshold: float,
    categories: Sequence[str],
    fallback: str,
    mode: EvaluationMode = "hybrid",
    group_column: str | None = None,
    n_mistakes: int = 25,
    views: Sequence[np.ndarray] | None = None,
    hybrid_decisions: Sequence[Decision] | None = None,
) -> EvaluationReport:
    """Score one mode; ``labeled`` has ``text`` and ``category`` (texts already redacted).

    ``hybrid_decisions`` replaces the hybrid mode's decisions when the pipeline decides another
    way (the embedding cascade).
    """
    texts = labeled.get_column("text").to_list()
    truth = labeled.get_column("category").to_list()
    if mode == "hybrid" and hybrid_decisions is not None:
        decisions = list(hybrid_decisions)
    else:
        decisions = _decisions(
            mode, texts, embeddings, rules, head, abstain_threshold, fallback, views
        )
    predicted = [d.category for d in decisions]
    accuracy, macro_f1, per_category, confusion = score(truth, predicted, categories)
    results = labeled.with_columns(
        pl.Series("predicted", predicted, dtype=pl.String),
        pl.Series("decided_by", [d.decided_by for d in decisions], dtype=pl.String),
        pl.Series("rule_id", [d.rule_id for d in decisions], dtype=pl.String),
        pl.Series("confidence", [d.confidence for d in decisions], dtype=pl.Float64),
    )
    mistakes = (
        results.filter(pl.col("predicted") != pl.col("category"))
        .sort("confidence", descending=True)
        .head(n_mistakes)
        .with_columns(pl.col("text").str.slice(0, 160))
    )
    by_group = None
    if group_column and group_column in labeled.columns:
        by_group = (
            results.group_by(group_column)
            .agg(
                pl.len().alias("n"),
                (pl.col("predicted") == pl.col("category")).mean().round(4).alias("accuracy"),
            )
            .sort(group_column)
        )
    by_rule = [
        (d.category == t)
        for d, t in zip(decisions, truth, strict=True)
        if d.decided_by == "rule" and d.confidence > 0
    ]
    rule_coverage = len(by_rule) / max(len(decisions), 1)
    extra = {"rule_precision": sum(by_rule) / len(by_rule)} if by_rule else {}
    return EvaluationReport(
        mode,
        len(texts),
        accuracy,
        macro_f1,
        per_category,
        confusion,
        mistakes,
        by_group,
        rule_coverage,
        extra,
    )


def prepare_labeled(frame: pl.DataFrame, text_column: str, label_column: str) -> pl.DataFrame:
    """Rename to ``text``/``category`` and redact the texts, as the pipeline would."""
    missing = [c for c in (text_column, label_column) if c not in frame.columns]
    if missing:
        raise SourceError(f"labeled file needs columns {missing} (has {frame.columns})")
    renamed = frame.rename({text_column: "text", label_column: "category"})
    return renamed.with_columns(
        pl.col("text")
        .cast(pl.String)
        .fill_null("")
        .map_elements(redact_text, return_dtype=pl.String)
    )


def confusion_png(report: EvaluationReport) -> bytes:
    """A confusion-matrix picture (row-normalised, with counts) as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = report.confusion.columns[1:]
    counts = report.confusion.select(labels).to_numpy()
    rows = counts.sum(axis=1, keepdims=True)
    normalised = np.divide(counts, rows, out=np.zeros_like(counts, dtype=float), where=rows > 0)
    figure, axis = plt.subplots(figsize=(9, 8))
    axis.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    axis.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axis.set_yticks(range(len(labels)), labels)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    for i in range(len(labels)):
        for j in range(len(labels)):
            if counts[i, j]:
                axis.text(
                    j,
                    i,
                    str(counts[i, j]),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if normalised[i, j] > 0.5 else "black",
                )
    axis.set_title(
        f"{report.mode}: accuracy {report.accuracy:.3f}, "
        f"macro-F1 {report.macro_f1:.3f} (n={report.n})"
    )
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def report_json(reports: Sequence[EvaluationReport]) -> str:
    """All reports as JSON (per-category tables and confusion matrices included)."""
    return json.dumps(
        [
            {
                "mode": r.mode,
                "n": r.n,
                "accuracy": r.accuracy,
                "macro_f1": r.macro_f1,
                "rule_coverage": r.rule_coverage,
                "per_category": r.per_category.to_dicts(),
                "confusion": r.confusion.to_dicts(),
                "by_group": r.by_group.to_dicts() if r.by_group is not None else None,
            }
            for r in reports
        ],
        indent=2,
    )


def cross_validate_head(
    labeled: pl.DataFrame,
    embeddings: np.ndarray,
    rules: RuleSet,
    train_head_fn: Callable[[np.ndarray, Sequence[str]], CategoryHead],
    abstain_threshold: float,
    categories: Sequence[str],
    fallback: str,
    folds: int = 5,
    seed: int = 13,
    views: Sequence[np.ndarray] | None = None,
) -> EvaluationReport:
    """Hybrid decision scored out-of-fold on a labeled set (the shipped examples at refit).

    Every prompt is predicted by a head that never saw it, so the numbers are honest even
    though the set is the training material.
    """
    from sklearn.model_selection import StratifiedKFold

    truth = labeled.get_column("category").to_list()
    texts = labeled.get_column("text").to_list()
    predicted: list[Decision | None] = [None] * len(texts)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_index, test_index in splitter.split(np.zeros(len(truth)), truth):
        head = train_head_fn(embeddings[train_index], [truth[i] for i in train_index])
        fold = decide_categories(
            [texts[i] for i in test_index],
            embeddings[test_index],
            rules,
            head,
            abstain_threshold,
            fallback,
            views=[views[i] for i in test_index] if views is not None else None,
        )
        for position, decision in zip(test_index, fold, strict=True):
            predicted[position] = decision
    decisions = [d for d in predicted if d is not None]
    accuracy, macro_f1, per_category, confusion = score(
        truth, [d.category for d in decisions], categories
    )
    return EvaluationReport(
        "examples_cv",
        len(texts),
        accuracy,
        macro_f1,
        per_category,
        confusion,
        pl.DataFrame(),
        None,
        sum(d.decided_by == "rule" for d in decisions) / max(len(texts), 1),
    )
