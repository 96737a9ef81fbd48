"""Texts per second of the transformer per batch size, arithmetic and word-piece cut.

The transformer runs as the nightly categories stage runs it: the default model (the bundled
MiniLM with the category adapter merged in), two passes side by side, each on one torch thread
(what ``insight_core.environment.parallelism`` derives on two CPUs; ``--passes`` and
``--threads`` for other machines). The texts are those of a ``real+pool`` night
(``benchmarks/real_corpus.py``: ``../shared/data``'s csv files, the training pool and the
unlabelled assistant prompts), shuffled, each once (read only as benchmark input). The
default batch size (``insight_core.nlp.embed.default_batch_size``) follows this table.

    .venv/bin/python benchmarks/transformer_batch_size.py
    .venv/bin/python benchmarks/transformer_batch_size.py --variants bfloat16:48 --sizes 32 64 128
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from insight_core.nlp.embed import SentenceTransformerEmbedder, default_batch_size
from insight_core.settings import InsightSettings


def texts_per_second(
    embedder: SentenceTransformerEmbedder, texts: list[str], passes: int, threads: int
) -> float:
    """Rate of ``passes`` threads each embedding its share of ``texts`` on ``threads``."""
    import torch

    def work(part: list[str]) -> None:
        torch.set_num_threads(threads)
        embedder.embed(part)

    workers = [threading.Thread(target=work, args=(texts[i::passes],)) for i in range(passes)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return len(texts) / (time.perf_counter() - started)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument(
        "--variants",
        nargs="*",
        default=["bfloat16:48", "float32:48", "int8:48", "bfloat16:full", "float32:full"],
        help="precision:cut pairs; cut 'full' is the model's own limit",
    )
    parser.add_argument("--sizes", type=int, nargs="*", default=[16, 32, 64])
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3, help="the median of this many runs")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).parent))
    from real_corpus import load_texts

    # The texts of a real+pool night (benchmarks/real_corpus.py), each once, shuffled.
    texts = load_texts(with_pool=True)
    random.Random(0).shuffle(texts)
    texts = texts[: args.texts]
    model = InsightSettings().embedding_model
    rows = []
    for variant in args.variants:
        precision, cut = variant.split(":")
        max_tokens = None if cut == "full" else int(cut)
        embedder = SentenceTransformerEmbedder(model, None, max_tokens, precision)
        embedder.embed(texts[:64])  # load kernels before timing
        row: dict[str, object] = {
            "precision": embedder.precision,
            "cut": cut,
            "default_batch": default_batch_size(embedder.precision, max_tokens),
        }
        for size in args.sizes:
            embedder.batch_size = size
            rates = [
                texts_per_second(embedder, texts, args.passes, args.threads)
                for _ in range(args.repeats)
            ]
            row[f"batch_{size}"] = round(statistics.median(rates), 1)
        print(json.dumps(row), flush=True)
        rows.append(row)
    print(pl.DataFrame(rows))


if __name__ == "__main__":
    main()
