"""A lexical category head: a linear softmax over hashed word and character n-grams.

The cascade's second cheap reader. The static model averages word-piece vectors, so it loses
word order and the exact wording; TF-IDF weighted word bigrams and character 3-5-grams keep
both, and make different mistakes. Where the two agree the cascade can trust the static side;
where they do not, the combined confidence drops and the prompt goes to the transformer.

Features are hashed (``HashingVectorizer`` has no fitted state), so a head stores only the
hashed columns seen in training, their inverse document frequencies and the weights, in
safetensors (no pickle), and applies them with scikit-learn's stateless hashing plus numpy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

from insight_core.nlp.head import balanced_weights, softmax_parameters

HASH_BITS = 18
# (analyzer, n-gram range) of each feature block; each block is L2-normalised on its own.
BLOCKS: tuple[tuple[str, tuple[int, int]], ...] = (("word", (1, 2)), ("char_wb", (3, 5)))
# Inverse regularisation of the logistic regression, chosen out of fold on the shipped examples.
LEXICAL_REGULARIZATION = 64.0


def _vectorizers() -> list[Any]:
    from sklearn.feature_extraction.text import HashingVectorizer

    return [
        HashingVectorizer(
            n_features=2**HASH_BITS,
            analyzer=analyzer,
            ngram_range=ngrams,
            alternate_sign=False,
            norm=None,
        )
        for analyzer, ngrams in BLOCKS
    ]


# A longer text is read as its first and last halves of this many characters: the request
# sits at either end of pasted material, and n-grams cost time in proportion to length. 500
# reads a quarter less text of a real night than 1,000 for the same quality on held-out
# families (docs/classification.md, "The embedding cascade"); 300 lost on assistant prompts.
LEXICAL_MAX_CHARS = 500


def _ends(text: str, max_chars: int | None) -> str:
    """``text``, or its first and last ``max_chars // 2`` characters when it is longer."""
    if max_chars is None or len(text) <= max_chars:
        return text
    half = max_chars // 2
    return f"{text[:half]} {text[-half:]}"


def _word_bounded_counts(vectorizer: Any, texts: Sequence[str]) -> Any:
    """``vectorizer.transform(texts)`` for an analyzer whose n-grams never cross a word
    (``char_wb``), computed once per distinct word.

    A text's counts are the sum of its words' counts, so the n-grams of each distinct word of
    the batch are hashed once by the vectorizer itself and summed per text by a sparse product
    (texts x words) @ (words x columns). The same matrix as transforming the texts (checked in
    ``tests/unit/test_cascade.py``); a chunk of real prompts has about four occurrences per
    distinct word, and generating the n-grams in Python was most of the head's time.
    """
    from scipy.sparse import csr_matrix

    # The analyzer lower-cases, then splits on whitespace: the same words, in either order.
    word_ids: dict[str, int] = {}
    occurrences: list[int] = []
    text_ends = [0]
    for text in texts:
        occurrences.extend(
            word_ids.setdefault(word, len(word_ids)) for word in text.lower().split()
        )
        text_ends.append(len(occurrences))
    if not word_ids:  # the vectorizer refuses an empty batch
        return csr_matrix((len(texts), vectorizer.n_features))
    per_word = vectorizer.transform(list(word_ids))
    words_of_texts = csr_matrix(
        (np.ones(len(occurrences)), occurrences, text_ends), shape=(len(texts), len(word_ids))
    )
    return (words_of_texts @ per_word).tocsr()


def _counts(texts: Sequence[str], max_chars: int | None = LEXICAL_MAX_CHARS) -> list[Any]:
    """Sublinear term frequencies (1 + log count) per block, sparse (n, 2**HASH_BITS)."""
    texts = [_ends(text, max_chars) for text in texts]
    blocks = []
    for vectorizer in _vectorizers():
        if vectorizer.analyzer == "char_wb":
            counts = _word_bounded_counts(vectorizer, texts)
        else:
            counts = vectorizer.transform(texts)
        counts = counts.astype(np.float64)
        counts.data = 1.0 + np.log(counts.data)
        blocks.append(counts.tocsr())
    return blocks


@dataclass(frozen=True)
class LexicalBlock:
    """One n-gram block: the hashed columns seen in training and their idf."""

    columns: np.ndarray  # int64, sorted
    idf: np.ndarray  # idf of ``columns``
    unseen_idf: float  # idf of a column never seen in training (it still counts in the norm)

    def features(self, term_frequencies: Any) -> Any:
        """TF-IDF rows, L2-normalised over all columns, restricted to ``columns``."""
        from sklearn.preprocessing import normalize

        idf = np.full(term_frequencies.shape[1], self.unseen_idf)
        idf[self.columns] = self.idf
        weighted = normalize(term_frequencies.multiply(idf).tocsr())
        return weighted[:, self.columns]


@dataclass(frozen=True)
class LexicalHead:
    """Linear softmax over the hashed n-gram blocks of :data:`BLOCKS`."""

    classes: tuple[str, ...]
    blocks: tuple[LexicalBlock, ...]
    weights: np.ndarray  # (n_classes, total seen columns)
    bias: np.ndarray  # (n_classes,)
    # Heads saved before the limit existed read whole texts, and keep doing so.
    max_chars: int | None = LEXICAL_MAX_CHARS

    def _features(self, texts: Sequence[str]) -> Any:
        from scipy.sparse import hstack

        counts = _counts(texts, self.max_chars)
        parts = [b.features(tf) for b, tf in zip(self.blocks, counts, strict=True)]
        return hstack(parts).tocsr()

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, shape (n, n_classes)."""
        if not len(texts):
            return np.zeros((0, len(self.classes)))
        # In float32, the weights' own type: a float64 copy of the whole weight matrix on every
        # call would cost memory in proportion to the columns seen in training.
        features = self._features(texts).astype(np.float32)
        logits = np.asarray(features @ self.weights.T, dtype=np.float64) + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {
            "weights": np.ascontiguousarray(self.weights, dtype=np.float32),
            "bias": np.ascontiguousarray(self.bias, dtype=np.float32),
        }
        for index, block in enumerate(self.blocks):
            tensors[f"columns_{index}"] = np.ascontiguousarray(block.columns, dtype=np.int64)
            tensors[f"idf_{index}"] = np.ascontiguousarray(block.idf, dtype=np.float64)
        save_file(tensors, str(directory / "lexical_head.safetensors"))
        meta = {
            "classes": list(self.classes),
            "hash_bits": HASH_BITS,
            "blocks": [[analyzer, list(ngrams)] for analyzer, ngrams in BLOCKS],
            "unseen_idf": [block.unseen_idf for block in self.blocks],
            "max_chars": self.max_chars,
        }
        (directory / "lexical_head.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, directory: Path) -> LexicalHead:
        meta = json.loads((directory / "lexical_head.json").read_text())
        expected = [[analyzer, list(ngrams)] for analyzer, ngrams in BLOCKS]
        if meta["hash_bits"] != HASH_BITS or meta["blocks"] != expected:
            raise ValueError(f"the lexical head in {directory} uses other n-gram features")
        tensors = load_file(str(directory / "lexical_head.safetensors"))
        blocks = tuple(
            LexicalBlock(tensors[f"columns_{i}"], tensors[f"idf_{i}"], float(unseen))
            for i, unseen in enumerate(meta["unseen_idf"])
        )
        return cls(
            tuple(meta["classes"]),
            blocks,
            tensors["weights"],
            tensors["bias"],
            meta.get("max_chars"),
        )


def train_lexical_head(
    texts: Sequence[str],
    labels: Sequence[str],
    regularization: float = LEXICAL_REGULARIZATION,
    weights: np.ndarray | None = None,
) -> LexicalHead:
    """Fit TF-IDF weights and a class-balanced logistic regression on labeled texts
    (``weights``, one per text, weigh texts within their class)."""
    from scipy.sparse import hstack
    from sklearn.linear_model import LogisticRegression

    frequencies = _counts(texts)
    blocks = []
    for tf in frequencies:
        document_frequency = np.bincount(tf.indices, minlength=tf.shape[1])
        # scikit-learn's smooth idf: ln((1 + n) / (1 + df)) + 1.
        idf = np.log((1 + tf.shape[0]) / (1 + document_frequency)) + 1.0
        columns = np.flatnonzero(document_frequency).astype(np.int64)
        blocks.append(LexicalBlock(columns, idf[columns], float(np.log(1 + tf.shape[0]) + 1.0)))
    features = hstack([b.features(tf) for b, tf in zip(blocks, frequencies, strict=True)]).tocsr()
    model = LogisticRegression(C=regularization, max_iter=3000)
    model.fit(features, list(labels), sample_weight=balanced_weights(labels, weights))
    classes, weights, bias = softmax_parameters(model)
    return LexicalHead(classes, tuple(blocks), weights, bias)


def combine_probabilities(static: np.ndarray, lexical: np.ndarray) -> np.ndarray:
    """Normalised geometric mean of two heads' class probabilities (same column order).

    A class both readers find likely stays likely; a disagreement lowers the maximum, which
    sends the prompt on to the transformer.
    """
    combined = np.sqrt(np.clip(static, 0.0, None) * np.clip(lexical, 0.0, None))
    totals = combined.sum(axis=1, keepdims=True)
    return np.asarray(combined / np.where(totals > 0, totals, 1.0))
