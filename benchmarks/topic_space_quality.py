"""Topic quality when BERTopic is fitted on the static model's vectors instead of the transformer's.

The cascade fits and assigns topics on the distilled static vectors. This fits the topic model
both ways on the same demo prompts (``--train-days`` days of the demo generator) with the
project's own settings, and scores each on the next, unseen demo day with the measures the
refit promotion gate uses (``modelling.topic_quality``): number of topics, outlier share,
topic diversity and NPMI coherence.

    .venv/bin/python benchmarks/topic_space_quality.py --home /tmp/topic-space
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date, timedelta
from pathlib import Path

from insight_core.demo.generator import generate_prompt_records
from insight_core.modelling.topic_quality import topic_quality
from insight_core.nlp.embed import embed_with_cache
from insight_core.nlp.topics import TopicIndex, allowed_vocabulary, fit_topic_model, topic_table
from insight_core.prep.redact import redact_text
from insight_core.runtime import get_embedder, get_static_embedder
from insight_core.settings import InsightSettings

START = date(2026, 10, 5)


def _day(day: date, n: int, seed: int) -> tuple[list[str], list[str]]:
    records = list(generate_prompt_records(n, day, seed=seed))
    return [redact_text(r["text"]) for r in records], [r["user_id"] for r in records]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--train-days", type=int, default=5)
    parser.add_argument("--per-day", type=int, default=600)
    args = parser.parse_args()
    settings = InsightSettings(home=args.home, embedding_cascade=True)
    docs: list[str] = []
    users: list[str] = []
    for offset in range(args.train_days):
        texts, ids = _day(START + timedelta(days=offset), args.per_day, seed=offset)
        docs += texts
        users += ids
    held_out, _ = _day(START + timedelta(days=args.train_days), args.per_day, seed=99)
    vocabulary = allowed_vocabulary(docs, users, settings.topics, settings.min_group_size)
    for name, embedder in (
        ("transformer", get_embedder(settings)),
        ("static", get_static_embedder(settings)),
    ):
        started = time.perf_counter()
        vectors, _ = embed_with_cache(docs, embedder, None)
        model = fit_topic_model(docs, vectors, settings.topics, embedder, vocabulary=vocabulary)
        seconds = time.perf_counter() - started
        table = topic_table(model)
        words = [
            [w.strip() for w in row["words"].split(",") if w.strip()]
            for row in table.iter_rows(named=True)
            if row["topic_id"] != -1
        ]
        held_vectors, _ = embed_with_cache(held_out, embedder, None)
        quality = topic_quality(
            TopicIndex.from_model(model),
            words,
            held_out,
            held_vectors,
            settings.topics.min_similarity,
        )
        print(
            json.dumps(
                {
                    "space": name,
                    "training_docs": len(docs),
                    "fit_seconds_incl_embedding": round(seconds, 1),
                    **{k: round(v, 4) for k, v in quality.as_dict().items()},
                }
            )
        )


if __name__ == "__main__":
    main()
