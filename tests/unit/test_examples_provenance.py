"""The shipped labeled examples are written by the team, not taken from the evaluation data.

An example that is a near-copy of a row of ``../shared/data/*.csv`` would make the scores on
those files meaningless (the model would be graded on what it was taught). Near-copy means a
word-trigram Jaccard similarity of at least 0.6; examples too short for three trigrams are
compared by normalised text and by word bigrams instead.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import polars as pl
import pytest

from insight_core.nlp.taxonomy import load_examples, load_taxonomy
from insight_core.settings import InsightSettings

pytestmark = [pytest.mark.unit, pytest.mark.shared_data]

NEAR_DUPLICATE_JACCARD = 0.6
_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("'", "").replace("\u2019", ""))


def _shingles(words: list[str], size: int) -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(words[i : i + size]) for i in range(len(words) - size + 1))


def _jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def near_duplicates(examples: list[str], rows: list[str]) -> list[tuple[str, str, float]]:
    """(example, row, similarity) for every example that nearly copies one of ``rows``."""
    row_words = [_words(r) for r in rows]
    by_normalised = {" ".join(w): r for w, r in zip(row_words, rows, strict=True)}
    index: dict[int, dict[tuple[str, ...], list[int]]] = {
        size: defaultdict(list) for size in (2, 3)
    }
    shingles: dict[int, list[frozenset]] = {2: [], 3: []}
    for size in (2, 3):
        for position, words in enumerate(row_words):
            grams = _shingles(words, size)
            shingles[size].append(grams)
            for gram in grams:
                index[size][gram].append(position)
    found = []
    for example in examples:
        words = _words(example)
        if " ".join(words) in by_normalised:
            found.append((example, by_normalised[" ".join(words)], 1.0))
            continue
        size = 3 if len(words) >= 5 else 2  # fewer than 3 trigrams: compare bigrams
        grams = _shingles(words, size)
        candidates = {p for gram in grams for p in index[size][gram]}
        best = max(((_jaccard(grams, shingles[size][p]), p) for p in candidates), default=(0.0, -1))
        if best[0] >= NEAR_DUPLICATE_JACCARD:
            found.append((example, rows[best[1]], round(best[0], 3)))
    return found


def test_near_duplicate_detection_catches_copies_and_one_word_swaps() -> None:
    rows = ["How do I reset the password on my work laptop today?", "hi"]
    examples = [
        "how do i reset the password on my work laptop today",  # normalised copy
        "How do I reset the password on my work laptop tonight?",  # one-word swap
        "Hi!",  # short: normalised equality
        "my monitor flickers whenever the docking station wakes up",  # unrelated
    ]
    flagged = [e for e, _, _ in near_duplicates(examples, rows)]
    assert flagged == examples[:3]


def test_no_shipped_example_nearly_copies_the_evaluation_data(shared_data: Path) -> None:
    settings = InsightSettings()
    taxonomy = load_taxonomy(settings.taxonomy_file)
    examples = load_examples(settings.examples_file, taxonomy).get_column("text").to_list()
    csv_files = sorted(shared_data.glob("*.csv"))
    assert csv_files, f"no csv files in {shared_data}"
    rows = [
        text
        for path in csv_files
        for text in pl.read_csv(path, infer_schema=False).get_column("text").drop_nulls()
    ]
    copies = near_duplicates(examples, rows)
    report = "\n".join(f"{score}: {example!r} ~ {row[:120]!r}" for example, row, score in copies)
    assert not copies, f"{len(copies)} shipped examples nearly copy evaluation rows:\n{report}"
