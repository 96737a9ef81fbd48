"""Resident memory of repeated transformer passes, chunk after chunk, as the nightly does them.

Embeds chunks of unique real-length prompts (texts of ``../shared/data``, each made unique by
its chunk number) from a pool of worker threads behind one lock, like the nightly's embed and
categories stages, and prints the process's RSS after every third chunk. Chunks hold between a
third of ``--chunk-size`` and all of it, as the prompts a chunk sends to the transformer vary.
``--trim`` calls ``release_freed_memory`` (glibc ``malloc_trim``) after each chunk, as the
nightly stages do. The entry points' memory defaults (``insight_core.environment``) apply.

    .venv/bin/python benchmarks/memory_growth.py --chunks 36             # without trimming
    .venv/bin/python benchmarks/memory_growth.py --chunks 36 --trim
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

from insight_core.environment import apply_runtime_defaults
from insight_core.nightly.memory import release_freed_memory
from insight_core.nlp.embed import SentenceTransformerEmbedder, embed_with_cache
from insight_core.settings import InsightSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=36)
    parser.add_argument("--chunk-size", type=int, default=500)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--precision", default="bfloat16")
    parser.add_argument("--trim", action="store_true")
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()
    # As the nightly's entry points do: before torch starts (oneDNN reads its cache size once).
    apply_runtime_defaults(InsightSettings(home=Path(tempfile.mkdtemp(prefix="insight-mem-"))))
    sys.path.insert(0, str(Path(__file__).parent))
    from real_corpus import load_texts

    texts = load_texts()
    rng = random.Random(0)
    samples = [
        [
            f"{index} {text}"
            for text in rng.sample(texts, rng.randint(args.chunk_size // 3, args.chunk_size))
        ]
        for index in range(args.chunks)
    ]
    process = psutil.Process()
    embedder = SentenceTransformerEmbedder(
        "bundled:all-MiniLM-L6-v2", precision=args.precision, max_tokens=args.max_tokens
    )
    lock = threading.Lock()

    def one_chunk(sample: list[str]) -> int:
        with lock:
            embed_with_cache(sample, embedder, None)
        if args.trim:
            release_freed_memory()
        return process.memory_info().rss // 2**20

    with ThreadPoolExecutor(args.workers) as pool:
        rss = list(pool.map(one_chunk, samples))
    print(
        json.dumps(
            {
                "precision": args.precision,
                "max_tokens": args.max_tokens,
                "workers": args.workers,
                "trim": args.trim,
                "rss_mb_every_third_chunk": rss[::3],
                "rss_mb_last": rss[-1],
            }
        )
    )


if __name__ == "__main__":
    main()
