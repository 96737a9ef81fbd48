"""Does fine-tuning the transformer (a LoRA adapter) help on sources it has not seen?

The shipped training set's families (pool sources, assistant datasets) are split into
``--folds`` groups; for each group an adapter is trained on everything else (the team's
examples and descriptions always included), the category head is trained on the same rows with
the adapted vectors, and the held-out group is decided. The frozen model gets the same folds and
heads, so the two columns differ only by the adapter. Adapters train on the first
``--max-tokens`` word pieces, as the shipped one; heads read the first ``--read-tokens``, as the
cascade's transformer does. ``--threshold-sweep`` scores other cascade thresholds on the same
folds.

    .venv/bin/python benchmarks/adapter_quality.py --home /tmp/adapter-bench
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from insight_core.modelling.examples import (
    DESCRIPTIONS_FAMILY,
    EXAMPLES_FAMILY,
    train_blended_head,
    train_lexical_head_on,
    training_set,
)
from insight_core.modelling.finetune import (
    ADAPTER_CLASS_BALANCE,
    adapter_weights,
    train_adapter,
)
from insight_core.modelling.metrics import score
from insight_core.nlp.embed import resolve_model
from insight_core.nlp.lexical import combine_probabilities, train_lexical_head
from insight_core.nlp.static import StaticEmbedder, distill_from_transformer
from insight_core.runtime import load_decision_config
from insight_core.settings import InsightSettings

ASSISTANT_FAMILIES = ("asst-oasst", "asst-hh", "asst-dolly", "asst-prism")
ALL_ROWS_LEXICAL = "adapter, lexical head on all rows"


def encode(model, texts: list[str]) -> np.ndarray:  # type: ignore[no-untyped-def]
    import torch

    with torch.inference_mode():
        return np.asarray(
            model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False),
            dtype=np.float32,
        )


def static_vectors(model, texts: list[str], dims: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The cascade's static vectors of ``texts``, from a static model distilled from ``model``
    (a SentenceTransformer) as a home distils it."""
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "static"
        distill_from_transformer(model[0].auto_model, model.tokenizer, "fold", out, dims)
        return StaticEmbedder(out).embed(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument(
        "--layers",
        type=int,
        default=None,
        help="keep only MiniLM's first N layers (frozen and adapted alike), for a cheaper "
        "encoder (4 of 6 measured 2026-12-07, not kept)",
    )
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--learning-rate", type=float, default=5e-4)
    parser.add_argument("--max-tokens", type=int, default=128, help="cut while training")
    parser.add_argument(
        "--read-tokens",
        type=int,
        default=InsightSettings.model_fields["embedding_max_tokens"].default_factory({}),  # type: ignore[call-arg,misc]
        help="cut when the heads read the transformer (default: the cascade's)",
    )
    parser.add_argument(
        "--class-balance",
        type=float,
        default=ADAPTER_CLASS_BALANCE,
        help="share of draws spread evenly over the categories (0: by source weight alone)",
    )
    parser.add_argument(
        "--cascade-threshold",
        type=float,
        default=InsightSettings.model_fields["embedding_cascade_threshold"].default,
    )
    parser.add_argument(
        "--threshold-sweep",
        type=float,
        nargs="+",
        default=[],
        help="also score the cascades at these thresholds (same folds, same heads)",
    )
    parser.add_argument(
        "--extra-read-tokens",
        type=int,
        nargs="*",
        default=[],
        help="also score the adapted transformer (and its cascade) reading this many word pieces",
    )
    parser.add_argument(
        "--lexical-on-all-rows",
        action="store_true",
        help="also score the adapter's cascade with a lexical head that learns from every "
        "training row, weighted as the heads are (measured 2026-12-07, not kept)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        help="keep each fold's adapted vectors here, so a rerun with other head options does "
        "not retrain the adapters",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    started = time.perf_counter()
    from sentence_transformers import SentenceTransformer

    settings = InsightSettings(home=args.home)
    taxonomy, _ = load_decision_config(settings)
    classes = taxonomy.categories
    training = training_set(settings, taxonomy)
    texts = training.get_column("text").to_list()
    truth = np.asarray(training.get_column("category").to_list())
    family = np.asarray(training.get_column("family").to_list())
    weights = adapter_weights(training, args.class_balance)
    location, _, _ = resolve_model("bundled:all-MiniLM-L6-v2")

    def fresh_model() -> SentenceTransformer:
        model = SentenceTransformer(location, device="cpu", local_files_only=True)
        model.max_seq_length = args.read_tokens
        if args.layers is not None:
            encoder = model[0].auto_model
            encoder.encoder.layer = encoder.encoder.layer[: args.layers]
            encoder.config.num_hidden_layers = args.layers
        return model

    families = sorted(set(family) - {EXAMPLES_FAMILY, DESCRIPTIONS_FAMILY})
    random.Random(5).shuffle(families)
    # Each assistant dataset in a different fold where there are enough folds.
    assistant = [f for f in families if f in ASSISTANT_FAMILIES]
    pool = [f for f in families if f not in ASSISTANT_FAMILIES]
    groups: list[list[str]] = [[] for _ in range(args.folds)]
    for index, name in enumerate(assistant + pool):
        groups[index % args.folds].append(name)

    dims = settings.static_embedding_dims
    frozen_model = fresh_model()
    base_vectors = encode(frozen_model, texts)
    base_static = static_vectors(frozen_model, texts, dims)
    print(f"frozen model: {len(texts)} texts in {time.perf_counter() - started:.0f} s", flush=True)
    kinds = ("frozen", "adapter", "frozen cascade", "adapter cascade")
    decided = {kind: np.empty(len(texts), dtype=object) for kind in kinds}
    escalated = {kind: np.zeros(len(texts), dtype=bool) for kind in kinds}
    held_out = np.zeros(len(texts), dtype=bool)
    # Per kind of model: the transformer head's and the cheap heads' probabilities per row, so
    # that other thresholds can be scored on the same folds.
    transformer_probabilities: dict[str, np.ndarray] = defaultdict(
        lambda: np.zeros((len(texts), len(classes)))
    )
    cheap_probabilities: dict[str, np.ndarray] = defaultdict(
        lambda: np.zeros((len(texts), len(classes)))
    )
    static_parts: dict[str, np.ndarray] = {}
    # (transformer side, cheap side) of every cascade the sweep scores.
    cascades = {"frozen": ("frozen", "frozen"), "adapter": ("adapter", "adapter")}
    for tokens in args.extra_read_tokens:
        cascades[f"adapter@{tokens}"] = (f"adapter@{tokens}", "adapter")
    if args.lexical_on_all_rows:
        cascades[ALL_ROWS_LEXICAL] = ("adapter", ALL_ROWS_LEXICAL)
    for number, held in enumerate(groups, 1):
        in_fold = np.isin(family, held)
        train = np.flatnonzero(~in_fold)
        test = np.flatnonzero(in_fold)
        held_out |= in_fold
        cached = (
            args.cache
            / (
                f"fold{number}of{args.folds}-e{args.epochs}-r{args.rank}-lr{args.learning_rate}"
                f"-t{args.max_tokens}-cb{args.class_balance}"
                f"{'' if args.layers is None else f'-l{args.layers}'}.npz"
            )
            if args.cache
            else None
        )
        wanted = [args.read_tokens, *args.extra_read_tokens]
        stored = dict(np.load(cached)) if cached is not None and cached.exists() else {}
        if "static" not in stored or any(f"read{n}" not in stored for n in wanted):
            model = fresh_model()
            train_adapter(
                model,
                [texts[i] for i in train],
                list(truth[train]),
                list(weights[train]),
                epochs=args.epochs,
                rank=args.rank,
                learning_rate=args.learning_rate,
                max_tokens=args.max_tokens,
            )
            for tokens in wanted:
                model.max_seq_length = tokens
                stored[f"read{tokens}"] = encode(model, texts)
            model.max_seq_length = args.read_tokens
            stored["static"] = static_vectors(model, texts, dims)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                np.savez(cached, **stored)
        tuned_vectors = stored[f"read{args.read_tokens}"]
        tuned_static = stored["static"]
        lexical = train_lexical_head_on(training[train])  # as a fit trains it
        lexical_probabilities = lexical.predict_proba([texts[i] for i in test])[
            :, [lexical.classes.index(c) for c in classes]
        ]
        for kind, vectors, static in (
            ("frozen", base_vectors, base_static),
            ("adapter", tuned_vectors, tuned_static),
        ):
            head = train_blended_head(vectors[train], training[train], taxonomy.fallback)
            order = [head.classes.index(c) for c in classes]
            probabilities = head.predict_proba(vectors[test])[:, order]
            decided[kind][test] = np.asarray(classes)[probabilities.argmax(axis=1)]
            static_head = train_blended_head(static[train], training[train], taxonomy.fallback)
            static_part = static_head.predict_proba(static[test])[
                :, [static_head.classes.index(c) for c in classes]
            ]
            cheap = combine_probabilities(static_part, lexical_probabilities)
            static_parts[kind] = static_part
            transformer_probabilities[kind][test] = probabilities
            cheap_probabilities[kind][test] = cheap
            unsure = cheap.max(axis=1) < args.cascade_threshold
            mixed = np.where(unsure[:, None], probabilities, cheap)
            decided[f"{kind} cascade"][test] = np.asarray(classes)[mixed.argmax(axis=1)]
            escalated[f"{kind} cascade"][test] = unsure
        for tokens in args.extra_read_tokens:
            vectors = stored[f"read{tokens}"]
            head = train_blended_head(vectors[train], training[train], taxonomy.fallback)
            order = [head.classes.index(c) for c in classes]
            transformer_probabilities[f"adapter@{tokens}"][test] = head.predict_proba(
                vectors[test]
            )[:, order]
        if args.lexical_on_all_rows:
            all_rows_lexical = train_lexical_head(
                [texts[i] for i in train],
                list(truth[train]),
                weights=training.get_column("weight").to_numpy()[train],
            )
            cheap_probabilities[ALL_ROWS_LEXICAL][test] = combine_probabilities(
                static_parts["adapter"],
                all_rows_lexical.predict_proba([texts[i] for i in test])[
                    :, [all_rows_lexical.classes.index(c) for c in classes]
                ],
            )
        print(
            f"fold {number}/{len(groups)} ({len(test)} rows) done, "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )

    report: dict[str, object] = {
        "folds": groups,
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    for kind, labels in decided.items():
        rows = held_out
        pooled = score(list(truth[rows]), list(labels[rows]), classes)[1]
        in_assistant = rows & np.isin(family, ASSISTANT_FAMILIES)
        assistant_f1 = score(list(truth[in_assistant]), list(labels[in_assistant]), classes)[1]
        per_category = score(list(truth[rows]), list(labels[rows]), classes)[2].to_dicts()
        per_family = {
            name: score(
                list(truth[family == name]),
                list(labels[family == name]),
                sorted(set(truth[family == name])),
            )[1]
            for name in ASSISTANT_FAMILIES
            if (family == name).any()
        }
        report[kind] = {
            "escalated_share": float(escalated[kind][rows].mean()),
            "pooled": pooled,
            "assistant": assistant_f1,
            "per_category": per_category,
            "per_assistant_source": per_family,
        }
        print(
            f"\n== {kind}: held-out macro-F1 {pooled:.3f}, assistant prompts {assistant_f1:.3f}, "
            f"{escalated[kind][rows].mean():.1%} to the transformer"
        )
        print("  " + ", ".join(f"{r['category']} {r['f1']:.2f}" for r in per_category))
        print("  " + ", ".join(f"{k} {v:.3f}" for k, v in per_family.items()))
    sweep: dict[str, dict[str, dict[str, float]]] = {}
    for kind, (transformer_side, cheap_side) in cascades.items():
        sweep[kind] = {}
        for threshold in [*args.threshold_sweep, 1.01]:
            cheap = cheap_probabilities[cheap_side]
            unsure = cheap.max(axis=1) < threshold
            mixed = np.where(unsure[:, None], transformer_probabilities[transformer_side], cheap)
            labels = np.asarray(classes)[mixed.argmax(axis=1)]
            rows = held_out
            in_assistant = rows & np.isin(family, ASSISTANT_FAMILIES)
            sweep[kind][str(threshold)] = {
                "pooled": score(list(truth[rows]), list(labels[rows]), classes)[1],
                "assistant": score(list(truth[in_assistant]), list(labels[in_assistant]), classes)[
                    1
                ],
                "escalated_share": float(unsure[rows].mean()),
            }
            result = sweep[kind][str(threshold)]
            print(
                f"{kind} cascade at {threshold}: {result['pooled']:.3f}, assistant "
                f"{result['assistant']:.3f}, {result['escalated_share']:.1%} to the transformer"
            )
    report["threshold_sweep"] = sweep
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    print(f"\n{time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()
