"""Leave-one-source-out quality of the category decision: the criterion for every decision change.

For each family (one public source or subreddit of the pool, one dataset of the labelled
assistant prompts), the heads are trained on the shipped training set without that family and
the family is decided by them, so every score is on a source the decision has not seen. Families
that the package does not ship (non-commercial, research-only or unlicensed pool sources, the
AlpacaEval-borne assistant prompts) are never trained on and are decided by the full training
set, like ``dev_labeled.csv`` and ``xdev_labeled.csv`` (measure-only, extra test folds).

    .venv/bin/python benchmarks/leave_source_out.py --home /tmp/loso-bench
    .venv/bin/python benchmarks/leave_source_out.py --home /tmp/loso-bench --examples-only

``--examples-only`` scores the decision as it was before the corpus (the team's examples and the
category descriptions only), for the baseline. ``--pool-groups N`` holds the pool's trained
families out N groups at a time instead of one by one (each group still unseen in its fold),
for a quicker run on a busy machine. Printed: macro-F1 pooled over every held-out row, per
category, per family, per assistant source; the share error (total variation distance between
a family's true and estimated category shares) for raw counts and for counts corrected by the
confusion measured on the other families (``insight_core.modelling.quantify``).
``--views static`` reads long prompts' instruction views on the static side, as a night's
cascade does; ``--views both`` also through the transformer (the cascade before 2026-12-07).

The transformer is the published all-MiniLM-L6-v2 unless ``--embedding-model`` says otherwise:
the default setting's category adapter was trained on every shipped family, so with it
(``--embedding-model bundled:all-MiniLM-L6-v2+categories``) only the families the package does
not ship (and dev, xdev) are unseen by the encoder; ``benchmarks/adapter_quality.py`` measures
the adapter itself by training one per fold.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from insight_core.modelling.examples import (
    DESCRIPTIONS_FAMILY,
    EXAMPLES_FAMILY,
    train_blended_head,
    train_lexical_head_on,
    training_set,
)
from insight_core.modelling.metrics import score
from insight_core.modelling.quantify import adjusted_shares, confusion_rates, total_variation
from insight_core.nlp.cascade import escalation_mask
from insight_core.nlp.decision import (
    VIEWS_BELOW_CONFIDENCE,
    decisions_from,
    embed_views,
    most_confident_probabilities,
)
from insight_core.nlp.embed import embed_with_cache
from insight_core.nlp.head import CategoryHead, train_category_head
from insight_core.nlp.lexical import combine_probabilities, train_lexical_head
from insight_core.nlp.rules import RuleMatch
from insight_core.runtime import (
    get_embedder,
    get_static_embedder,
    load_decision_config,
    open_embedding_cache,
)
from insight_core.settings import BUNDLED_MODEL, InsightSettings

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ASSISTANT_FAMILIES = ("asst-oasst", "asst-hh", "asst-dolly", "asst-prism")


def assistant_family(source: str) -> str:
    parts = source.split("/")
    if parts[0] == "alpaca_eval":
        return "asst-oasst" if parts[1] == "oasst" else "asst-hh"
    return {"oasst-eval": "asst-oasst", "hh-rlhf": "asst-hh", "dolly-triforce": "asst-dolly"}.get(
        parts[0], "asst-prism"
    )


def evaluation_rows(shared: Path, labels: Path, trained_texts: set[str]) -> pl.DataFrame:
    """Labelled rows that are never trained on: unshipped pool families, AlpacaEval-borne
    assistant prompts (agreed labels) and the two measure-only files."""
    pool = pl.read_csv(shared / "pool" / "pool.csv").select("text", "category", "family")
    pool = pool.filter(~pl.col("text").is_in(list(trained_texts)))
    passes = pl.read_csv(labels)
    assistant = (
        pl.read_csv(shared / "assistant" / "assistant_unlabeled.csv")
        .join(passes.select("id", "pass_a", "pass_b"), on="id")
        .filter((pl.col("pass_a") == pl.col("pass_b")) & ~pl.col("text").is_in(list(trained_texts)))
        .select(
            "text",
            pl.col("pass_a").alias("category"),
            pl.col("source").map_elements(assistant_family, return_dtype=pl.String).alias("family"),
        )
    )
    frames = [pool, assistant]
    for name in ("dev_labeled.csv", "xdev_labeled.csv"):
        frame = pl.read_csv(shared / name).select("text", "category")
        frames.append(frame.with_columns(pl.lit(name.split("_")[0]).alias("family")))
    return pl.concat(frames).with_columns(pl.lit(False).alias("trained"))


def threshold_sweep(
    thresholds: list[float],
    probabilities: dict[str, np.ndarray],
    matches: Sequence[RuleMatch | None],
    truth: np.ndarray,
    family: np.ndarray,
    scored: np.ndarray,
    classes: list[str],
    abstain_threshold: float,
    fallback: str,
) -> list[dict[str, float]]:
    """Macro-F1 and the share sent to the transformer for each cascade threshold."""
    loso = scored & ~np.isin(family, ["dev", "xdev"])
    assistant = np.isin(family, ASSISTANT_FAMILIES)
    print("\n== cascade threshold sweep (held-out rows; dev and xdev measure only)")
    print("threshold | LOSO macro-F1 | assistant | dev | xdev | sent to transformer (LOSO rows)")
    results = []
    for threshold in thresholds:
        cheap = probabilities["cheap"]
        unsure = escalation_mask(matches, cheap, threshold)
        chosen = np.where(unsure[:, None], probabilities["transformer"], cheap)
        decided = np.asarray(
            [
                d.category
                for d in decisions_from(matches, chosen, classes, abstain_threshold, fallback)
            ]
        )

        def macro(members: np.ndarray, decided: np.ndarray = decided) -> float:
            return float(score(list(truth[members]), list(decided[members]), classes)[1])

        entry = {
            "threshold": threshold,
            "loso_macro_f1": macro(loso),
            "assistant_macro_f1": macro(assistant),
            "dev_macro_f1": macro(family == "dev"),
            "xdev_macro_f1": macro(family == "xdev"),
            "sent_to_transformer": float(unsure[loso].mean()),
        }
        results.append(entry)
        print(
            f"{threshold:9.2f} | {entry['loso_macro_f1']:.3f} | {entry['assistant_macro_f1']:.3f}"
            f" | {entry['dev_macro_f1']:.3f} | {entry['xdev_macro_f1']:.3f}"
            f" | {entry['sent_to_transformer']:.1%}",
            flush=True,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--examples-only", action="store_true")
    parser.add_argument("--pool-groups", type=int, default=0)
    parser.add_argument("--cascade", action="store_true", help="also score the cascade")
    parser.add_argument(
        "--cascade-threshold",
        type=float,
        default=InsightSettings().embedding_cascade_threshold,
        help="cheap heads' confidence below which the transformer decides (default: the "
        "setting's default)",
    )
    parser.add_argument(
        "--threshold-sweep",
        type=float,
        nargs="+",
        help="with --cascade: also score these thresholds (0 = the cheap heads decide alone) "
        "and the share of held-out prompts each sends to the transformer",
    )
    parser.add_argument(
        "--embedding-model",
        default=BUNDLED_MODEL,
        help="INSIGHT_EMBEDDING_MODEL for this run; default the published model, whose encoder "
        "has seen none of the held-out families (the default setting's adapter has seen them all)",
    )
    parser.add_argument(
        "--lexical-on-all-rows",
        action="store_true",
        help="the cascade's lexical head learns from every training row, weighted as the heads "
        "are (measured 2026-12-07, not kept), not only the team's examples and descriptions",
    )
    parser.add_argument(
        "--views",
        choices=["none", "static", "both"],
        default="none",
        help="instruction views of long prompts (nlp.decision.instruction_views), as a night "
        "reads them: none, on the static side only, or on both the static side and the "
        "transformer (default none: the heads read whole prompts)",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    started = time.perf_counter()

    settings = InsightSettings(home=args.home, embedding_model=args.embedding_model)
    taxonomy, rules = load_decision_config(settings)
    classes = taxonomy.categories
    training = training_set(settings, taxonomy)
    if args.examples_only:
        training = training.filter(
            pl.col("family").is_in([EXAMPLES_FAMILY, DESCRIPTIONS_FAMILY])
        ).with_columns(pl.lit(1.0).alias("weight"))
    labels_file = (
        Path(__file__).resolve().parents[1]
        / "insight_core"
        / "resources"
        / "training"
        / "assistant_labels.csv"
    )
    corpus_all = training_set(settings, taxonomy)
    trained_texts = set(corpus_all.get_column("text").to_list())
    evaluation = evaluation_rows(args.shared, labels_file, trained_texts)
    # Corpus families the baseline did not train on are test-only there too.
    held_corpus = corpus_all.filter(
        ~pl.col("family").is_in([EXAMPLES_FAMILY, DESCRIPTIONS_FAMILY])
    ).select("text", "category", "family")
    if args.examples_only:
        evaluation = pl.concat(
            [held_corpus.with_columns(pl.lit(False).alias("trained")), evaluation]
        )
    rows = pl.concat(
        [
            training.select("text", "category", "family").with_columns(
                pl.lit(True).alias("trained")
            ),
            evaluation,
        ]
    )
    texts = rows.get_column("text").to_list()
    truth = np.asarray(rows.get_column("category").to_list())
    family = np.asarray(rows.get_column("family").to_list())
    trained = rows.get_column("trained").to_numpy()
    weights = np.ones(len(rows))
    weights[trained] = training.get_column("weight").to_numpy()

    cache = open_embedding_cache(settings)
    embedder = get_embedder(settings)
    vectors, _ = embed_with_cache(texts, embedder, cache)
    static_vectors = None
    if args.cascade:
        static_vectors, _ = embed_with_cache(texts, get_static_embedder(settings), None)
    transformer_views = static_views = None
    if args.views == "both":
        transformer_views = embed_views(texts, embedder, cache)
    if args.views != "none" and static_vectors is not None:
        static_views = embed_views(texts, get_static_embedder(settings), None)
    matches = rules.decide_many(texts)
    print(f"embedded {len(texts)} texts in {time.perf_counter() - started:.0f} s", flush=True)

    def head_on(features: np.ndarray, train: np.ndarray) -> CategoryHead:
        if args.examples_only:
            return train_category_head(features[train], list(truth[train]))
        frame = rows[train].with_columns(pl.Series("weight", weights[train]))
        return train_blended_head(features[train], frame, taxonomy.fallback)

    def with_views(
        head: CategoryHead,
        features: np.ndarray,
        views: list[np.ndarray] | None,
        test: np.ndarray,
    ) -> np.ndarray:
        """The head's probabilities on ``test``, from the most telling view where a night
        would read views (prompts the head is unsure of on their whole text)."""
        if views is None:
            return head.predict_proba(features[test])
        unsure = head.predict_proba(features[test]).max(axis=1) < VIEWS_BELOW_CONFIDENCE
        wanted = [
            views[int(i)] if want else views[int(i)][:0]
            for i, want in zip(test, unsure, strict=True)
        ]
        return most_confident_probabilities(head, features[test], wanted)

    def fit_predict(train: np.ndarray, test: np.ndarray) -> dict[str, np.ndarray]:
        head = head_on(vectors, train)
        order = [head.classes.index(c) for c in classes]
        out = {
            "transformer": with_views(head, vectors, transformer_views, test)[:, order],
        }
        if static_vectors is not None:
            static_head = head_on(static_vectors, train)
            fold_rows = rows[train].with_columns(pl.Series("weight", weights[train]))
            lexical = (
                train_lexical_head(
                    fold_rows.get_column("text").to_list(),
                    fold_rows.get_column("category").to_list(),
                    weights=fold_rows.get_column("weight").to_numpy(),
                )
                if args.lexical_on_all_rows
                else train_lexical_head_on(fold_rows)  # as a fit trains it
            )
            out["cheap"] = combine_probabilities(
                with_views(static_head, static_vectors, static_views, test)[:, order],
                lexical.predict_proba([texts[i] for i in test])[
                    :, [lexical.classes.index(c) for c in classes]
                ],
            )
        return out

    folds: list[list[str]] = []
    trained_families = sorted(set(family[trained]) - {EXAMPLES_FAMILY, DESCRIPTIONS_FAMILY})
    pool_families = [f for f in trained_families if f not in ASSISTANT_FAMILIES]
    folds += [[f] for f in trained_families if f in ASSISTANT_FAMILIES]
    if args.pool_groups:
        random.Random(3).shuffle(pool_families)
        folds += [pool_families[i :: args.pool_groups] for i in range(args.pool_groups)]
    else:
        folds += [[f] for f in pool_families]
    probabilities: dict[str, np.ndarray] = {}

    def store(kind: str, test: np.ndarray, value: np.ndarray) -> None:
        probabilities.setdefault(kind, np.zeros((len(rows), len(classes))))[test] = value

    for held in folds:
        in_fold = np.isin(family, held)
        for kind, value in fit_predict(
            np.flatnonzero(trained & ~in_fold), np.flatnonzero(in_fold)
        ).items():
            store(kind, np.flatnonzero(in_fold), value)
        print(f"fold {','.join(held)} done ({time.perf_counter() - started:.0f} s)", flush=True)
    untrained = np.flatnonzero(~trained)
    for kind, value in fit_predict(np.flatnonzero(trained), untrained).items():
        store(kind, untrained, value)

    scored = ~np.isin(family, [EXAMPLES_FAMILY, DESCRIPTIONS_FAMILY])
    decisions_by_kind = {}
    for kind in ["transformer"] + (["cascade"] if args.cascade else []):
        if kind == "cascade":
            cheap = probabilities["cheap"]
            threshold = args.cascade_threshold
            unsure = cheap.max(axis=1) < threshold
            mixed = np.where(unsure[:, None], probabilities["transformer"], cheap)
            chosen = mixed
        else:
            chosen = probabilities["transformer"]
        decided = decisions_from(
            matches, chosen, classes, settings.abstain_threshold, taxonomy.fallback
        )
        decisions_by_kind[kind] = np.asarray([d.category for d in decided])

    report: dict[str, object] = {
        "examples_only": args.examples_only,
        "folds": len(folds),
        "views": args.views,
    }
    if args.cascade and args.threshold_sweep:
        report["threshold_sweep"] = threshold_sweep(
            args.threshold_sweep,
            probabilities,
            matches,
            truth,
            family,
            scored,
            classes,
            settings.abstain_threshold,
            taxonomy.fallback,
        )
    for kind, decided in decisions_by_kind.items():
        loso = scored & ~np.isin(family, ["dev", "xdev"])
        _, pooled, per_category, _ = score(list(truth[loso]), list(decided[loso]), classes)
        lines = {"pooled_macro_f1": pooled, "per_category": per_category.to_dicts()}
        per_family = {}
        for name in sorted(set(family[scored])):
            members = family == name
            present = sorted(set(truth[members]))
            accuracy, macro, _, _ = score(list(truth[members]), list(decided[members]), present)
            per_family[name] = {"n": int(members.sum()), "accuracy": accuracy, "macro_f1": macro}
        lines["per_family"] = per_family
        assistant = np.isin(family, ASSISTANT_FAMILIES)
        lines["assistant_macro_f1"] = score(
            list(truth[assistant]), list(decided[assistant]), classes
        )[1]
        # Share error: raw counts, and counts corrected with the confusion of the other families.
        raw_errors, corrected_errors = [], []
        for name in sorted(set(family[loso])):
            members = family == name
            others = loso & ~members
            confusion = confusion_rates(list(truth[others]), list(decided[others]), classes)
            true_shares = np.array([(truth[members] == c).mean() for c in classes])
            counts = np.array([(decided[members] == c).sum() for c in classes], dtype=float)
            raw_errors.append(total_variation(true_shares, counts / counts.sum()))
            corrected_errors.append(
                total_variation(true_shares, adjusted_shares(counts, confusion))
            )
        lines["share_error_raw_mean"] = float(np.mean(raw_errors))
        lines["share_error_corrected_mean"] = float(np.mean(corrected_errors))
        # The assistant prompts as one night: the product's case.
        confusion = confusion_rates(
            list(truth[loso & ~assistant]), list(decided[loso & ~assistant]), classes
        )
        true_shares = np.array([(truth[assistant] == c).mean() for c in classes])
        counts = np.array([(decided[assistant] == c).sum() for c in classes], dtype=float)
        lines["assistant_share_error_raw"] = total_variation(true_shares, counts / counts.sum())
        lines["assistant_share_error_corrected"] = total_variation(
            true_shares, adjusted_shares(counts, confusion)
        )
        report[kind] = lines
        print(f"\n== {kind} ({'examples only' if args.examples_only else 'shipped training set'})")
        print(f"leave-one-source-out macro-F1, pooled over held-out rows: {pooled:.3f}")
        print(f"assistant prompts (4 sources, each held out): {lines['assistant_macro_f1']:.3f}")
        for name in ("dev", "xdev", *ASSISTANT_FAMILIES):
            if name in per_family:
                entry = per_family[name]
                print(f"  {name:12s} macro-F1 {entry['macro_f1']:.3f} (n={entry['n']})")
        print(
            "per category: "
            + ", ".join(f"{r['category']} {r['f1']:.2f}" for r in lines["per_category"])
        )
        print(
            "share error (TVD), mean over held-out families: raw "
            f"{lines['share_error_raw_mean']:.3f}, "
            f"corrected {lines['share_error_corrected_mean']:.3f}; "
            f"assistant prompts as one night: raw {lines['assistant_share_error_raw']:.3f}, "
            f"corrected {lines['assistant_share_error_corrected']:.3f}"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print(f"\n{time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()
