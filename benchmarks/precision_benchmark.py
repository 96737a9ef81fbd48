"""Speed and closeness of the transformer's arithmetic options on real-length prompts.

Embeds a seeded sample of the texts of ``../shared/data`` (normalised as the pipeline does)
with the bundled MiniLM in float32 (the reference), in bfloat16 (``INSIGHT_EMBEDDING_PRECISION``)
and, when ``onnxruntime`` is importable, with ONNX Runtime in float32 (not a project
dependency: ``pip install --target /tmp/extra onnxruntime onnx`` and put it on PYTHONPATH).
Every option uses all the process's torch threads and blocks of 256 texts, as the nightly
embed stage does; the float32 reference runs first and last, and its slower run is not used.

    .venv/bin/python benchmarks/precision_benchmark.py --limit 800
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from insight_core.nlp.embed import SentenceTransformerEmbedder, normalize_text, resolve_model

MODEL = "bundled:all-MiniLM-L6-v2"


def _rate(
    embed: Callable[[Sequence[str]], np.ndarray], texts: list[str]
) -> tuple[float, np.ndarray]:
    embed(texts[:32])  # warm-up: first-call allocations are not the steady state
    started = time.perf_counter()
    vectors = np.vstack([embed(texts[i : i + 256]) for i in range(0, len(texts), 256)])
    return len(texts) / (time.perf_counter() - started), vectors


def _closeness(vectors: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cosine = (vectors * reference).sum(axis=1)
    return {
        "cosine_mean": round(float(cosine.mean()), 7),
        "cosine_min": round(float(cosine.min()), 7),
        "max_abs_difference": float(np.abs(vectors - reference).max()),
    }


def main() -> None:
    import sys

    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=800)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from real_corpus import load_texts

    texts = load_texts()
    random.Random(1).shuffle(texts)
    sample = [normalize_text(t) for t in texts[: args.limit]]
    print(json.dumps({"texts": len(sample), "torch_threads": torch.get_num_threads()}))

    float32 = SentenceTransformerEmbedder(MODEL)
    first_rate, reference = _rate(float32.embed, sample)
    rows: dict[str, dict[str, float]] = {}
    bfloat16 = SentenceTransformerEmbedder(MODEL, precision="bfloat16")
    rate, vectors = _rate(bfloat16.embed, sample)
    rows["torch bfloat16 (autocast)"] = {"texts_per_second": rate, **_closeness(vectors, reference)}
    from embedding_options import onnx_embedder

    try:
        onnx = onnx_embedder(resolve_model(MODEL)[0], Path(tempfile.mkdtemp()), False, 16)
    except ImportError as exc:  # onnxruntime is not a project dependency
        print(json.dumps({"onnxruntime float32": f"skipped: {exc}"}))
    else:
        rate, vectors = _rate(onnx.embed, sample)
        rows["onnxruntime float32"] = {"texts_per_second": rate, **_closeness(vectors, reference)}
    second_rate, _ = _rate(float32.embed, sample)
    baseline = max(first_rate, second_rate)
    rows = {"torch float32 (reference)": {"texts_per_second": baseline}, **rows}
    for name, row in rows.items():
        row["speed_vs_float32"] = row["texts_per_second"] / baseline
        print(json.dumps({"option": name, **{k: round(v, 7) for k, v in row.items()}}))


if __name__ == "__main__":
    main()
