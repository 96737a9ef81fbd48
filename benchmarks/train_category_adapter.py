"""Train the shipped category adapter (``insight_core/resources/adapters/minilm-categories``).

A LoRA adapter on the bundled MiniLM (``insight_core.modelling.finetune``), trained on the
shipped training set with the default settings: the team's examples, the category descriptions
and the shipped corpus (pool sources whose licence allows it, the assistant prompts labelled in
two passes), weighted as the heads weigh them. ``dev_labeled.csv`` and ``xdev_labeled.csv`` are
never read. Deterministic for a given seed and machine; about 8 minutes on two cores.

    .venv/bin/python benchmarks/train_category_adapter.py
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import shutil
import tempfile
import time
from pathlib import Path

from insight_core.modelling.examples import training_set
from insight_core.modelling.finetune import (
    ADAPTER_CLASS_BALANCE,
    adapter_weights,
    train_adapter,
)
from insight_core.nlp.embed import category_adapter_dir, resolve_model
from insight_core.runtime import load_decision_config
from insight_core.settings import InsightSettings

BASE_MODEL = "bundled:all-MiniLM-L6-v2"

TRAINING_NOTE = """# The category adapter

A LoRA adapter (rank {rank}, on the query, key, value and dense layers) for the bundled
all-MiniLM-L6-v2, trained by `benchmarks/train_category_adapter.py` with
`insight_core.modelling.finetune.train_adapter`: {epochs} epochs, learning rate {lr}, batches of
32, texts cut at {max_tokens} word pieces, a cosine classifier over the ten categories. Rows are
drawn {balance:.0%} evenly over the categories and the rest in proportion to the heads' source
weights (the team's examples and descriptions half of those, as in the blended head); within a
category, by the same weights. {seconds:.0f} s on the 2-core machine.

Trained on the shipped training set only ({rows} rows, sha256 of the texts and labels
`{digest}`): the team's examples and category descriptions
(`insight_core/resources/examples/`, `taxonomy.yaml`) and `insight_core/resources/training/`
(pool sources whose licence allows redistribution and assistant prompts labelled in two
independent passes; each row's source and licence are in `corpus.csv`, the attributions in
`training/NOTICE.md`). `dev_labeled.csv` and `xdev_labeled.csv` were not read.

The base model is Apache-2.0 (sentence-transformers/all-MiniLM-L6-v2); the adapter is
distributed under the same licence.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=category_adapter_dir())
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--learning-rate", type=float, default=5e-4)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument(
        "--class-balance",
        type=float,
        default=ADAPTER_CLASS_BALANCE,
        help="share of draws spread evenly over the categories (0: by source weight alone)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from sentence_transformers import SentenceTransformer

    home = Path(tempfile.mkdtemp(prefix="adapter-home-"))
    settings = InsightSettings(home=home, embedding_model=BASE_MODEL)
    taxonomy, _ = load_decision_config(settings)
    training = training_set(settings, taxonomy)
    texts = training.get_column("text").to_list()
    labels = training.get_column("category").to_list()
    digest = hashlib.sha256(
        "\n".join(f"{t}\t{c}" for t, c in zip(texts, labels, strict=True)).encode()
    ).hexdigest()
    location, _, _ = resolve_model(BASE_MODEL)
    model = SentenceTransformer(location, device="cpu", local_files_only=True)
    started = time.perf_counter()
    adapted = train_adapter(
        model,
        texts,
        labels,
        list(adapter_weights(training, args.class_balance)),
        epochs=args.epochs,
        rank=args.rank,
        learning_rate=args.learning_rate,
        max_tokens=args.max_tokens,
    )
    seconds = time.perf_counter() - started
    staging = Path(tempfile.mkdtemp(prefix="adapter-"))
    # The base model is found by the engine, not by this path: record its public name.
    adapted.peft_config[
        "default"
    ].base_model_name_or_path = "sentence-transformers/all-MiniLM-L6-v2"
    adapted.save_pretrained(str(staging))
    (staging / "TRAINING.md").write_text(
        TRAINING_NOTE.format(
            rank=args.rank,
            epochs=args.epochs,
            lr=args.learning_rate,
            max_tokens=args.max_tokens,
            balance=args.class_balance,
            seconds=seconds,
            rows=len(texts),
            digest=digest,
        )
    )
    (staging / "README.md").unlink(missing_ok=True)
    if args.out.exists():
        shutil.rmtree(args.out)
    shutil.copytree(staging, args.out)
    args.out.chmod(0o755)
    for path in args.out.iterdir():
        path.chmod(0o644)
    shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)
    print(f"adapter written to {args.out} ({seconds:.0f} s of training)")


if __name__ == "__main__":
    main()
