"""The category decision: override rules first, then a model on the embeddings.

The model is a multinomial logistic-regression head learned from the shipped labeled example
set. It is stored as plain weight matrices in safetensors (no pickle) and applied with numpy,
so inference needs neither scikit-learn state nor the training data.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from insight_core.rules import RuleMatch, RuleSet

RULE_CONFIDENCE = 1.0


@dataclass(frozen=True)
class CategoryHead:
    """Linear softmax head over normalised sentence embeddings."""

    classes: tuple[str, ...]
    weights: np.ndarray  # (n_classes, dim)
    bias: np.ndarray  # (n_classes,)
    temperature: float = 1.0

    def predict_proba(self, embeddings: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (n, n_classes)."""
        logits = (embeddings @ self.weights.T + self.bias) / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        # safetensors writes raw buffers: force C order (scikit-learn's coef_ is Fortran).
        save_file(
            {
                "weights": np.ascontiguousarray(self.weights, dtype=np.float32),
                "bias": np.ascontiguousarray(self.bias, dtype=np.float32),
            },
            str(directory / "category_head.safetensors"),
        )
        (directory / "category_head.json").write_text(
            json.dumps({"classes": list(self.classes), "temperature": self.temperature}, indent=2)
        )

    @classmethod
    def load(cls, directory: Path) -> CategoryHead:
        tensors = load_file(str(directory / "category_head.safetensors"))
        meta = json.loads((directory / "category_head.json").read_text())
        return cls(
            classes=tuple(meta["classes"]),
            weights=tensors["weights"],
            bias=tensors["bias"],
            temperature=float(meta.get("temperature", 1.0)),
        )


def train_category_head(
    embeddings: np.ndarray, labels: Sequence[str], regularization: float = 4.0
) -> CategoryHead:
    """Fit the head on labeled example embeddings (classes balanced)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=regularization, max_iter=2000, class_weight="balanced")
    model.fit(embeddings, list(labels))
    weights, bias = model.coef_, model.intercept_
    if len(model.classes_) == 2:
        # Binary LR stores one row, P(class 1) = sigmoid(w.x + b) = softmax([0, w.x + b]).
        weights = np.vstack([np.zeros_like(weights), weights])
        bias = np.concatenate([[0.0], bias])
    return CategoryHead(
        classes=tuple(str(c) for c in model.classes_),
        weights=weights.astype(np.float32),
        bias=bias.astype(np.float32),
    )


@dataclass(frozen=True)
class Decision:
    """One prompt's category and the evidence for it."""

    category: str
    decided_by: str  # "rule" | "model"
    confidence: float
    rule_id: str | None = None
    matched_phrase: str | None = None


def decide_categories(
    texts: Sequence[str],
    embeddings: np.ndarray,
    rules: RuleSet,
    head: CategoryHead,
    abstain_threshold: float,
    fallback: str,
) -> list[Decision]:
    """Rules beat the model; a model decision under ``abstain_threshold`` becomes ``fallback``."""
    matches: list[RuleMatch | None] = rules.decide_many(texts)
    probabilities = head.predict_proba(embeddings) if len(texts) else np.zeros((0, 0))
    decisions = []
    for index, match in enumerate(matches):
        if match is not None:
            decisions.append(
                Decision(match.category, "rule", RULE_CONFIDENCE, match.rule_id, match.phrase)
            )
            continue
        best = int(np.argmax(probabilities[index]))
        confidence = float(probabilities[index, best])
        category = head.classes[best] if confidence >= abstain_threshold else fallback
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
