"""The category head: a calibrated linear softmax over sentence embeddings.

It is stored as plain weight matrices in safetensors (no pickle) and applied with numpy, so
inference needs neither scikit-learn state nor the training data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file


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
        probabilities: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
        return probabilities

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


def softmax_parameters(model: Any) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """(classes, weights, bias) of a fitted scikit-learn logistic regression as a softmax."""
    weights, bias = model.coef_, model.intercept_
    if len(model.classes_) == 2:
        # Binary LR stores one row, P(class 1) = sigmoid(w.x + b) = softmax([0, w.x + b]).
        weights = np.vstack([np.zeros_like(weights), weights])
        bias = np.concatenate([[0.0], bias])
    classes = tuple(str(c) for c in model.classes_)
    return classes, weights.astype(np.float32), bias.astype(np.float32)


def balanced_weights(labels: Sequence[str], weights: np.ndarray | None = None) -> np.ndarray:
    """Sample weights that give every class the same total, keeping ``weights``' proportions
    within a class (scikit-learn's ``class_weight="balanced"`` for weighted samples)."""
    labels_array = np.asarray(list(labels))
    base = np.ones(len(labels_array)) if weights is None else np.asarray(weights, dtype=float)
    balanced = np.empty(len(labels_array))
    classes = np.unique(labels_array)
    for label in classes:
        members = labels_array == label
        balanced[members] = base[members] / base[members].sum()
    return balanced * len(labels_array) / len(classes)


def _fit_linear(
    embeddings: np.ndarray,
    labels: Sequence[str],
    regularization: float,
    weights: np.ndarray | None = None,
) -> CategoryHead:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=regularization, max_iter=2000)
    model.fit(embeddings, list(labels), sample_weight=balanced_weights(labels, weights))
    classes, weights, bias = softmax_parameters(model)
    return CategoryHead(
        classes=classes,
        weights=weights,
        bias=bias,
    )


def fit_temperature(logits: np.ndarray, truth_index: np.ndarray) -> float:
    """Temperature minimising the negative log-likelihood of held-out predictions."""
    best, best_nll = 1.0, np.inf
    for temperature in np.exp(np.linspace(np.log(0.25), np.log(8.0), 61)):
        scaled = logits / temperature
        scaled = scaled - scaled.max(axis=1, keepdims=True)
        log_probs = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
        nll = -log_probs[np.arange(len(truth_index)), truth_index].mean()
        if nll < best_nll:
            best, best_nll = float(temperature), nll
    return best


def train_category_head(
    embeddings: np.ndarray,
    labels: Sequence[str],
    regularization: float = 4.0,
    calibration_folds: int = 5,
    seed: int = 13,
    weights: np.ndarray | None = None,
) -> CategoryHead:
    """Fit the head on labeled embeddings (classes balanced), calibrated.

    ``weights`` (one per row) weigh rows within their class: see
    ``modelling.examples.source_weights``.

    Confidence is calibrated by temperature scaling on out-of-fold predictions, so a
    confidence of 0.8 means roughly 80% of such decisions are right on unseen prompts like
    the examples; the abstain threshold is read on that scale.
    """
    labels = list(labels)
    head = _fit_linear(embeddings, labels, regularization, weights)
    counts = np.unique(labels, return_counts=True)[1]
    if calibration_folds < 2 or counts.min() < calibration_folds:
        return head
    from sklearn.model_selection import StratifiedKFold

    index = {c: i for i, c in enumerate(head.classes)}
    logits = np.zeros((len(labels), len(head.classes)), dtype=np.float64)
    splitter = StratifiedKFold(n_splits=calibration_folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(embeddings, labels):
        fold = _fit_linear(
            embeddings[train],
            [labels[i] for i in train],
            regularization,
            None if weights is None else weights[train],
        )
        order = [fold.classes.index(c) for c in head.classes]
        logits[test] = (embeddings[test] @ fold.weights.T + fold.bias)[:, order]
    temperature = fit_temperature(logits, np.array([index[c] for c in labels]))
    return CategoryHead(head.classes, head.weights, head.bias, temperature)
