"""Category quality and transformer share of the embedding cascade against the transformer alone.

Both decisions are built exactly as a fit builds them, from the shipped examples only: the
transformer's head (``train_head``), and for the cascade the static model distilled from the
transformer, its head and the configured threshold (``train_cascade``). Then each labeled
file of ``../shared/data`` (read only to score, never to train or to choose anything) is
decided both ways; the script prints macro-F1 of each, the difference, the share of prompts
and of word pieces the cascade sends to the transformer, and the seconds each path spent embedding.

    .venv/bin/python benchmarks/cascade_quality.py --home /tmp/cascade-bench
    INSIGHT_EMBEDDING_PRECISION=int8 INSIGHT_EMBEDDING_MAX_TOKENS=128 \\
        .venv/bin/python benchmarks/cascade_quality.py --home /tmp/cascade-bench-int8

The transformer-only row always uses the default transformer (float32, full length), the
reference the issue measures against; the cascade's transformer follows the settings.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import polars as pl

from insight_core.modelling.examples import train_cascade, train_head
from insight_core.modelling.metrics import score
from insight_core.nlp.cascade import decide_with_cascade
from insight_core.nlp.decision import decide_categories, embed_views
from insight_core.nlp.embed import embed_with_cache, load_embedder
from insight_core.prep.redact import redact_text
from insight_core.runtime import (
    get_embedder,
    get_static_embedder,
    load_decision_config,
    open_embedding_cache,
)
from insight_core.settings import InsightSettings

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--files", nargs="+", default=["dev_labeled.csv", "xdev_labeled.csv"])
    args = parser.parse_args()

    settings = InsightSettings(home=args.home, embedding_cascade=True)
    reference_settings = InsightSettings(home=args.home, embedding_cascade=False)
    taxonomy, rules = load_decision_config(settings)
    cache = open_embedding_cache(settings)
    reference_embedder = load_embedder(reference_settings.embedding_model)
    embedder = get_embedder(settings)
    static = get_static_embedder(settings)
    reference_head, _ = train_head(reference_settings, taxonomy, reference_embedder, cache)
    head, examples = train_head(settings, taxonomy, embedder, cache)
    cascade, fit_scores = train_cascade(
        settings, taxonomy, rules, examples, static, head, embedder, cache
    )
    print(json.dumps({"transformer": embedder.model_id, "static": static.model_id, **fit_scores}))
    tokenizer = static._model.tokenizer  # word pieces of the shared vocabulary
    rows = []
    for name in args.files:
        labeled = pl.read_csv(args.data / name)
        texts = [redact_text(t) for t in labeled.get_column("text").to_list()]
        truth = labeled.get_column("category").to_list()

        started = time.perf_counter()
        vectors, _ = embed_with_cache(texts, reference_embedder, None)
        views = embed_views(texts, reference_embedder, None, vectors, reference_head)
        reference = decide_categories(
            texts,
            vectors,
            rules,
            reference_head,
            settings.abstain_threshold,
            taxonomy.fallback,
            views=views,
        )
        reference_seconds = time.perf_counter() - started

        configured_f1 = None
        if embedder.model_id != reference_embedder.model_id:
            # The configured transformer variant alone (int8, truncation), without the cascade.
            started = time.perf_counter()
            own, _ = embed_with_cache(texts, embedder, None)
            alone = decide_categories(
                texts,
                own,
                rules,
                head,
                settings.abstain_threshold,
                taxonomy.fallback,
                views=embed_views(texts, embedder, None, own, head),
            )
            configured_seconds = time.perf_counter() - started
            configured_f1 = score(truth, [d.category for d in alone], taxonomy.categories)[1]

        started = time.perf_counter()
        static_vectors, _ = embed_with_cache(texts, static, None)
        result = decide_with_cascade(
            texts,
            static_vectors,
            rules,
            cascade,
            head,
            embedder,
            None,
            settings.abstain_threshold,
            taxonomy.fallback,
        )
        cascade_seconds = time.perf_counter() - started

        pieces = np.array([sum(e.attention_mask) for e in tokenizer.encode_batch(texts)])
        f1_reference = score(truth, [d.category for d in reference], taxonomy.categories)[1]
        f1_cascade = score(truth, [d.category for d in result.decisions], taxonomy.categories)[1]
        row = {
            "file": name,
            "prompts": len(texts),
            "macro_f1_transformer": round(f1_reference, 4),
            "macro_f1_cascade": round(f1_cascade, 4),
            "delta": round(f1_cascade - f1_reference, 4),
            "prompts_to_transformer": round(float(result.escalated.mean()), 4),
            "pieces_to_transformer": round(
                float(pieces[result.escalated].sum() / max(pieces.sum(), 1)), 4
            ),
            "seconds_transformer_only": round(reference_seconds, 1),
            "seconds_cascade": round(cascade_seconds, 1),
        }
        if configured_f1 is not None:
            row["macro_f1_configured_transformer_alone"] = round(configured_f1, 4)
            row["seconds_configured_transformer_alone"] = round(configured_seconds, 1)
        rows.append(row)
        print(json.dumps(row))
    cache.close()
    print(
        "\n| file | prompts | macro-F1 transformer | macro-F1 cascade | Δ | prompts to transformer "
        "| word pieces to transformer | s transformer only | s cascade |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['file']} | {r['prompts']} | {r['macro_f1_transformer']:.3f} | "
            f"{r['macro_f1_cascade']:.3f} | {r['delta']:+.3f} | "
            f"{r['prompts_to_transformer']:.1%} | {r['pieces_to_transformer']:.1%} | "
            f"{r['seconds_transformer_only']} | {r['seconds_cascade']} |"
        )


if __name__ == "__main__":
    main()
