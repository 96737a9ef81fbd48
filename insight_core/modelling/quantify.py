"""Category shares corrected for the decision's known confusion (adjusted classify-and-count).

A decision that calls some hr_employment prompts "other" undercounts hr_employment in every
trend, whatever the night. Knowing how often each true category is decided as each other one
(``confusion``: rows true, columns decided, rows summing to one, measured on predictions for
sources the decision had not seen), a night's decided shares ``q`` are the mix ``confusion.T @
p`` of its true shares ``p``; the corrected shares are the ``p`` on the simplex that best explain
``q`` (least squares, Forman's adjusted count generalised to many classes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def confusion_rates(
    truth: Sequence[str], decided: Sequence[str], classes: Sequence[str], prior: float = 1.0
) -> np.ndarray:
    """Row-normalised confusion matrix ``P(decided = j | true = i)`` with ``prior`` pseudo-counts
    on the diagonal, so a class seldom seen in the measurement is not assumed to be never right.
    """
    index = {c: i for i, c in enumerate(classes)}
    counts = np.eye(len(classes)) * prior
    for true, got in zip(truth, decided, strict=True):
        if true in index and got in index:
            counts[index[true], index[got]] += 1
    return np.asarray(counts / counts.sum(axis=1, keepdims=True))


def _project_to_simplex(vector: np.ndarray) -> np.ndarray:
    """Euclidean projection onto {p >= 0, sum p = 1} (Duchi et al. 2008)."""
    ordered = np.sort(vector)[::-1]
    cumulative = np.cumsum(ordered) - 1.0
    steps = np.arange(1, len(vector) + 1)
    rho = np.nonzero(ordered - cumulative / steps > 0)[0][-1]
    return np.asarray(np.maximum(vector - cumulative[rho] / (rho + 1), 0.0))


def adjusted_shares(decided_counts: np.ndarray, confusion: np.ndarray) -> np.ndarray:
    """True-share estimate from decided counts: argmin ||confusion.T p - q|| on the simplex."""
    total = float(np.sum(decided_counts))
    if total <= 0:
        return np.zeros(len(decided_counts))
    observed = np.asarray(decided_counts, dtype=float) / total
    mixing = confusion.T
    # Projected gradient descent: a small convex problem (classes x classes).
    shares = observed.copy()
    step = 1.0 / max(float(np.linalg.norm(mixing, 2)) ** 2, 1e-9)
    for _ in range(2000):
        gradient = mixing.T @ (mixing @ shares - observed)
        updated = _project_to_simplex(shares - step * gradient)
        if np.abs(updated - shares).max() < 1e-10:
            shares = updated
            break
        shares = updated
    return shares


@dataclass(frozen=True)
class ShareEstimate:
    """Corrected shares and their standard errors (bootstrap over the measured confusion and
    the night's own decisions)."""

    shares: np.ndarray
    standard_errors: np.ndarray


def estimate_shares(
    decided_counts: np.ndarray,
    confusion: np.ndarray,
    confusion_support: np.ndarray,
    draws: int = 200,
    seed: int = 7,
) -> ShareEstimate:
    """Corrected shares with uncertainty.

    ``confusion_support`` is the number of measured prompts behind each row of ``confusion``;
    each bootstrap draw resamples every row (multinomial) and the night's decided counts, so the
    error reflects both a small measurement and a small night.
    """
    rng = np.random.default_rng(seed)
    point = adjusted_shares(decided_counts, confusion)
    total = int(np.sum(decided_counts))
    if total == 0:
        return ShareEstimate(point, np.zeros_like(point))
    observed = np.asarray(decided_counts, dtype=float) / total
    samples = []
    for _ in range(draws):
        rows = [
            rng.multinomial(max(int(n), 1), row) / max(int(n), 1)
            for row, n in zip(confusion, confusion_support, strict=True)
        ]
        resampled = np.asarray(rows) + np.eye(len(confusion)) * 1e-6
        resampled /= resampled.sum(axis=1, keepdims=True)
        counts = rng.multinomial(total, observed)
        samples.append(adjusted_shares(counts, resampled))
    return ShareEstimate(point, np.asarray(samples).std(axis=0))


def total_variation(first: np.ndarray, second: np.ndarray) -> float:
    """Total variation distance between two share vectors."""
    return 0.5 * float(np.abs(np.asarray(first) - np.asarray(second)).sum())
