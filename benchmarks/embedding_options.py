"""Embedding options side by side: speed, closeness to the baseline vectors, category quality.

For each option: texts per second on a sample of real prompts (the texts of
``../shared/data/*.csv``, redacted and normalised as the pipeline does, each text once), the
cosine similarity of its vectors to the baseline's (same space only), and the macro-F1 of the
hybrid category decision (rules, then a head trained on the shipped examples embedded with the
same option, instruction views included) on ``dev_labeled.csv`` and ``xdev_labeled.csv``,
exactly as ``insight evaluate --fresh`` scores it. Then the cascade (static embeddings for every
prompt, the transformer only where the static head is unsure) per confidence threshold.

The labeled sets are only read to score; nothing is trained on them.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/embedding_options.py --limit 300 --eval-limit 300
    PYTHONPATH=$PWD:/opt/extra .venv/bin/python benchmarks/embedding_options.py   # full run

Optional options need packages that are not project dependencies; they are skipped (and said so)
when missing: ``onnxruntime`` + ``onnx`` + ``onnxscript`` (ONNX Runtime), ``model2vec`` (static
model; distil it first with ``--distill DIR``, which also needs ``skeletoken``).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from insight_core.modelling.examples import train_head
from insight_core.modelling.metrics import evaluate, prepare_labeled, score
from insight_core.nlp.decision import embed_views, most_confident_probabilities
from insight_core.nlp.embed import (
    Embedder,
    EmbeddingCache,
    SentenceTransformerEmbedder,
    embed_with_cache,
    normalize_text,
    resolve_model,
)
from insight_core.nlp.head import CategoryHead
from insight_core.nlp.rules import RuleSet
from insight_core.nlp.taxonomy import Taxonomy
from insight_core.prep.redact import redact_text
from insight_core.runtime import load_decision_config
from insight_core.settings import InsightSettings

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
LABELED = ("dev_labeled.csv", "xdev_labeled.csv")
# Per-prompt seconds of the nightly stages other than embedding (validate, redact, topics,
# categories), from the 20,000-prompt row of docs/benchmarks.md: used to project end-to-end.
OTHER_STAGES_SECONDS = 1 / 43668 + 1 / 28129 + 1 / 17699 + 1 / 9574
# Options that change only how the same model runs: their quality is today's.
SAME_VECTORS = {"transformer batch 64", "transformer 2 threads"}
CASCADE_TRANSFORMERS = (
    "transformer fp32 (today)",
    "transformer int8",
    "transformer int8 max 128",
    "onnxruntime int8",
)
CASCADE_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)


# --------------------------------------------------------------------------- options


class BlockEmbedder:
    """Adapts a batch function to the ``Embedder`` protocol (the pipeline's call shape)."""

    def __init__(self, model_id: str, dimension: int, fn: Callable[[list[str]], np.ndarray]):
        self.model_id, self.dimension, self._fn = model_id, dimension, fn

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = np.asarray(self._fn(list(texts)), dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def onnx_embedder(model_path: str, workdir: Path, quantized: bool, batch_size: int) -> Embedder:
    """MiniLM exported with torch.onnx and run by ONNX Runtime (mean pooling, as the model)."""
    import onnxruntime as ort
    import torch
    from transformers import AutoModel, AutoTokenizer

    class HiddenStates(torch.nn.Module):
        """The encoder's last hidden state from positional inputs (what the exporter traces)."""

        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    tokenizer = AutoTokenizer.from_pretrained(model_path, local_files_only=True)
    fp32 = workdir / "minilm.onnx"
    if not fp32.exists():
        model = AutoModel.from_pretrained(model_path, local_files_only=True).eval()
        sample = tokenizer(["an example prompt", "a second one"], return_tensors="pt", padding=True)
        names = ["input_ids", "attention_mask", "token_type_ids"]
        axes = {n: {0: "batch", 1: "tokens"} for n in names}
        torch.onnx.export(
            HiddenStates(model),
            tuple(sample[n] for n in names),
            str(fp32),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes={**axes, "last_hidden_state": {0: "batch", 1: "tokens"}},
            opset_version=17,
            dynamo=False,
        )
    path = fp32
    if quantized:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        path = workdir / "minilm-int8.onnx"
        if not path.exists():
            quantize_dynamic(str(fp32), str(path), weight_type=QuantType.QInt8, per_channel=True)
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    wanted = {i.name for i in session.get_inputs()}

    def run(texts: list[str]) -> np.ndarray:
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            encoded = tokenizer(
                [texts[i] for i in rows],
                padding=True,
                truncation=True,
                max_length=256,
                return_tensors="np",
            )
            feed = {k: v.astype(np.int64) for k, v in encoded.items() if k in wanted}
            hidden = session.run(None, feed)[0]
            mask = encoded["attention_mask"][..., None].astype(np.float32)
            out[rows] = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        return out

    name = "onnx-int8" if quantized else "onnx"
    return BlockEmbedder(name, 384, run)


def static_embedder(directory: Path) -> Embedder:
    """A model2vec static model (token vectors averaged; no transformer at run time)."""
    from model2vec import StaticModel

    model = StaticModel.from_pretrained(str(directory))
    dimension = int(model.dim)
    return BlockEmbedder(f"static:{directory.name}", dimension, model.encode)


def distill_static(model_path: str, out: Path, pca_dims: int | None) -> None:
    """Distil a model2vec static model from the bundled MiniLM (offline, a few minutes)."""
    from model2vec.distill import distill

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    distill(model_name=model_path, pca_dims=pca_dims).save_pretrained(str(out))


# --------------------------------------------------------------------------- data


def load_texts(data: Path) -> tuple[list[str], dict[str, pl.DataFrame]]:
    """All texts of the data folder (redacted, normalised) and the labeled sets, prepared."""
    texts: list[str] = []
    labeled: dict[str, pl.DataFrame] = {}
    for csv in sorted(data.glob("*.csv")):
        frame = pl.read_csv(csv, infer_schema_length=0)
        texts += [normalize_text(redact_text(t or "")) for t in frame.get_column("text")]
        if csv.name in LABELED:
            labeled[csv.stem] = prepare_labeled(frame, "text", "category").with_columns(
                pl.col("text").map_elements(normalize_text, return_dtype=pl.String)
            )
    return texts, labeled


def padding_report(token_lengths: list[int], batch: int = 16) -> dict[str, float]:
    """Tokens pushed through the model (padding included) under three batching orders."""

    def padded(lengths: list[int]) -> int:
        return sum(
            max(lengths[i : i + batch]) * len(lengths[i : i + batch])
            for i in range(0, len(lengths), batch)
        )

    capped = [min(n, 256) for n in token_lengths]
    in_blocks = []  # the pipeline today: blocks of 256 texts, sorted inside a block
    for start in range(0, len(capped), 256):
        in_blocks += sorted(capped[start : start + 256], reverse=True)
    real = sum(capped)
    return {
        "unsorted": padded(capped) / real,
        "sorted per 256 block": padded(in_blocks) / real,
        "sorted per 2,000 chunk": sum(
            padded(sorted(capped[s : s + 2000], reverse=True)) for s in range(0, len(capped), 2000)
        )
        / real,
    }


# --------------------------------------------------------------------------- measuring


@dataclass
class Result:
    name: str
    texts_per_s: float  # wall clock
    texts_per_cpu_s: float  # process CPU time: steadier than wall clock on a shared machine
    cosine_mean: float | None = None
    cosine_p1: float | None = None
    f1: dict[str, float] = field(default_factory=dict)
    note: str = ""


@dataclass
class Scored:
    """One option's head and, per labeled set, embeddings, views and probabilities."""

    head: CategoryHead
    vectors: dict[str, np.ndarray]
    views: dict[str, list[np.ndarray]]
    probabilities: dict[str, np.ndarray]


def timed_embed(
    embedder: Embedder, texts: list[str], repeats: int = 1
) -> tuple[np.ndarray, float, float]:
    """Vectors of ``texts`` (the pipeline's ``embed_with_cache``, no cache); texts per wall
    second and per CPU second of this process (best of ``repeats``)."""
    embed_with_cache(texts[:32], embedder, None)  # warm-up
    wall = cpu = float("inf")
    vectors = np.zeros((0, embedder.dimension), dtype=np.float32)
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        vectors, _ = embed_with_cache(texts, embedder, None)
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
    return vectors, len(texts) / wall, len(texts) / cpu


def score_option(
    settings: InsightSettings,
    taxonomy: Taxonomy,
    rules: RuleSet,
    embedder: Embedder,
    labeled: dict[str, pl.DataFrame],
    cache: EmbeddingCache | None,
) -> tuple[dict[str, float], Scored]:
    """Hybrid macro-F1 per labeled set as ``insight evaluate --fresh`` computes it."""
    head, _ = train_head(settings, taxonomy, embedder, cache)
    f1: dict[str, float] = {}
    scored = Scored(head, {}, {}, {})
    for name, frame in labeled.items():
        texts = frame.get_column("text").to_list()
        vectors, _ = embed_with_cache(texts, embedder, cache)
        views = embed_views(texts, embedder, cache, vectors, head)
        report = evaluate(
            frame,
            vectors,
            rules,
            head,
            settings.abstain_threshold,
            taxonomy.categories,
            taxonomy.fallback,
            "hybrid",
            views=views,
        )
        f1[name] = report.macro_f1
        scored.vectors[name], scored.views[name] = vectors, views
        scored.probabilities[name] = most_confident_probabilities(head, vectors, views)
    return f1, scored


def cascade_rows(
    settings: InsightSettings,
    taxonomy: Taxonomy,
    rules: RuleSet,
    labeled: dict[str, pl.DataFrame],
    static: Scored,
    transformer: Scored,
    token_lengths: dict[str, list[int]],
    static_rate: float,
    transformer_rate: float,
) -> list[dict[str, object]]:
    """Per threshold: share of prompts (and of tokens) the transformer sees, F1, throughput.

    A rule decides first (no model needed); otherwise the static head decides when its
    confidence reaches the threshold, else the transformer head (each with its own views).
    Throughput: every prompt pays the static cost, plus the transformer's cost for the sent
    share of tokens (transformer cost grows with tokens; measured on the corpus sample).
    """
    rows = []
    for threshold in CASCADE_THRESHOLDS:
        row: dict[str, object] = {"threshold": threshold}
        sent_prompts = sent_tokens = all_prompts = all_tokens = 0
        for name, frame in labeled.items():
            texts = frame.get_column("text").to_list()
            truth = frame.get_column("category").to_list()
            matches = rules.decide_many(texts)
            p_static, p_trans = static.probabilities[name], transformer.probabilities[name]
            predicted = []
            for i, match in enumerate(matches):
                if match is not None:
                    predicted.append(match.category)
                    continue
                use_static = p_static[i].max() >= threshold
                probs = p_static[i] if use_static else p_trans[i]
                heads = static.head if use_static else transformer.head
                if not use_static:
                    sent_prompts += 1
                    sent_tokens += min(token_lengths[name][i], 256)
                best = int(np.argmax(probs))
                predicted.append(
                    heads.classes[best]
                    if probs[best] >= settings.abstain_threshold
                    else taxonomy.fallback
                )
            all_prompts += len(texts)
            all_tokens += sum(min(n, 256) for n in token_lengths[name])
            row[name] = score(truth, predicted, taxonomy.categories)[1]
        row["sent_prompts"] = sent_prompts / all_prompts
        row["sent_tokens"] = sent_tokens / all_tokens
        seconds = 1 / static_rate + float(row["sent_tokens"]) / transformer_rate
        row["embed_per_s"] = 1 / seconds
        row["end_to_end_per_s"] = 1 / (seconds + OTHER_STAGES_SECONDS)
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--limit", type=int, default=3000, help="corpus texts timed per option")
    parser.add_argument("--eval-limit", type=int, default=0, help="labeled rows per set (0: all)")
    parser.add_argument("--static", type=Path, nargs="*", default=[], help="model2vec folders")
    parser.add_argument("--distill", type=Path, help="distil a static model into DIR first")
    parser.add_argument("--pca-dims", type=int, default=256, help="0: no PCA (384 dims)")
    parser.add_argument(
        "--idle-rate",
        type=float,
        default=47.0,
        help="today's texts/s on an idle machine: projections scale it by the CPU-time ratio",
    )
    parser.add_argument("--only", nargs="*", help="names of the options to run")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "embedding-options-cache.sqlite",
        help="embedding cache for the quality part only (keyed by each option's model id)",
    )
    args = parser.parse_args(argv)

    model_path, _, _ = resolve_model("bundled:all-MiniLM-L6-v2")
    if args.distill is not None and not (args.distill / "config.json").exists():
        started = time.perf_counter()
        distill_static(model_path, args.distill, args.pca_dims or None)
        print(f"distilled {args.distill} in {time.perf_counter() - started:.0f}s", flush=True)
    statics = list(args.static) + ([args.distill] if args.distill else [])

    settings = InsightSettings(home=Path(tempfile.mkdtemp(prefix="embedding-options-")))
    taxonomy, rules = load_decision_config(settings)
    corpus, labeled = load_texts(args.data)
    unique = list(dict.fromkeys(t for t in corpus if t))
    sample = random.Random(7).sample(unique, min(args.limit, len(unique)))
    if args.eval_limit:
        labeled = {k: v.sample(min(args.eval_limit, v.height), seed=7) for k, v in labeled.items()}

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path, local_files_only=True)
    sample_tokens = [len(ids) for ids in tokenizer(sample)["input_ids"]]
    token_lengths = {
        name: [len(ids) for ids in tokenizer(frame.get_column("text").to_list())["input_ids"]]
        for name, frame in labeled.items()
    }
    lengths = np.array([len(t) for t in sample])
    print(
        f"corpus: {len(corpus)} texts, {len(unique)} distinct after normalising "
        f"({1 - len(unique) / len(corpus):.1%} repeats); timed sample {len(sample)} texts, "
        f"mean {lengths.mean():.0f} chars (median {np.median(lengths):.0f}), "
        f"mean {np.mean(sample_tokens):.0f} word pieces, "
        f"{np.mean(np.array(sample_tokens) > 128):.1%} over 128, "
        f"{np.mean(np.array(sample_tokens) > 256):.1%} over 256; torch threads "
        f"{__import__('torch').get_num_threads()}, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    print("tokens through the model per real token (batch 16):")
    for order, ratio in padding_report(sample_tokens).items():
        print(f"  {order}: {ratio:.2f}")

    import torch

    workdir = Path(tempfile.mkdtemp(prefix="onnx-"))
    options: list[tuple[str, Callable[[], Embedder]]] = [
        ("transformer fp32 (today)", lambda: SentenceTransformerEmbedder(model_path)),
        ("transformer batch 64", lambda: SentenceTransformerEmbedder(model_path, batch_size=64)),
        ("transformer 2 threads", lambda: SentenceTransformerEmbedder(model_path)),
        ("transformer max 128 tokens", lambda: SentenceTransformerEmbedder(model_path, 16, 128)),
        ("transformer int8", lambda: SentenceTransformerEmbedder(model_path, 16, None, True)),
        (
            "transformer int8 max 128",
            lambda: SentenceTransformerEmbedder(model_path, 16, 128, True),
        ),
        ("onnxruntime fp32", lambda: onnx_embedder(model_path, workdir, False, 16)),
        ("onnxruntime int8", lambda: onnx_embedder(model_path, workdir, True, 16)),
    ] + [(f"static {d.name}", lambda d=d: static_embedder(d)) for d in statics]

    cache = EmbeddingCache(args.cache)
    results: list[Result] = []
    scored: dict[str, Scored] = {}
    baseline: np.ndarray | None = None
    threads = torch.get_num_threads()
    for name, build in options:
        if args.only and not any(name.startswith(o) for o in args.only):
            continue
        # One thread per option: ratios measured on one core hold on a shared machine, where
        # two spinning threads mostly measure the neighbours (today's 2-thread row is kept).
        torch.set_num_threads(threads if "2 threads" in name else 1)
        try:
            embedder = build()
        except Exception as exc:  # an optional package missing or an export failing
            print(f"{name}: skipped ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})")
            continue
        vectors, rate, cpu_rate = timed_embed(embedder, sample, args.repeats)
        result = Result(name, rate, cpu_rate)
        if baseline is None:
            baseline = vectors
        elif vectors.shape == baseline.shape:
            cosine = (vectors * baseline).sum(axis=1)
            result.cosine_mean, result.cosine_p1 = (
                float(cosine.mean()),
                float(np.percentile(cosine, 1)),
            )
        if name in SAME_VECTORS:
            result.f1, result.note = results[0].f1, "same vectors as today"
        else:
            result.f1, scored[name] = score_option(
                settings, taxonomy, rules, embedder, labeled, cache
            )
        results.append(result)
        print_row(result, labeled)
    torch.set_num_threads(threads)

    print(
        "\n| option | texts/s (wall) | texts per CPU-s | × today (CPU) | projected idle texts/s |"
        " cosine to today (mean / 1st pct) | " + " | ".join(f"macro-F1 {n}" for n in labeled) + " |"
    )
    print("|---|---:|---:|---:|---:|---:|" + "---:|" * len(labeled))
    base_cpu = results[0].texts_per_cpu_s if results else 1.0
    if results and results[0].name != "transformer fp32 (today)":
        print(
            f"(today's option was not run: ratios and projections are relative to "
            f"'{results[0].name}')"
        )
    for result in results:
        print(table_row(result, labeled, base_cpu, args.idle_rate))

    transformer_name = "transformer fp32 (today)"
    for static_name in [n for n in scored if n.startswith("static")]:
        if transformer_name not in scored:
            break

        def projected(name: str) -> float:
            rate = next(r.texts_per_cpu_s for r in results if r.name == name)
            return rate / results[0].texts_per_cpu_s * args.idle_rate

        static_rate = projected(static_name)
        for trans_name in [n for n in scored if n.startswith(("transformer", "onnx"))]:
            if trans_name not in CASCADE_TRANSFORMERS:
                continue
            trans_rate = projected(trans_name)
            print(f"\ncascade: {static_name} first, then {trans_name} where unsure")
            print(
                "| threshold | prompts to transformer | tokens to transformer | embed p/s | "
                "end-to-end p/s (projected) | "
                + " | ".join(f"macro-F1 {n} (Δ vs today)" for n in labeled)
                + " |"
            )
            print("|---:|---:|---:|---:|---:|" + "---:|" * len(labeled))
            reference = next(r.f1 for r in results if r.name == transformer_name)
            for row in cascade_rows(
                settings,
                taxonomy,
                rules,
                labeled,
                scored[static_name],
                scored[trans_name],
                token_lengths,
                static_rate,
                trans_rate,
            ):
                deltas = " | ".join(
                    f"{row[n]:.3f} ({float(row[n]) - reference[n]:+.3f})"  # type: ignore[arg-type]
                    for n in labeled
                )
                print(
                    f"| {row['threshold']} | {row['sent_prompts']:.1%} | {row['sent_tokens']:.1%} "
                    f"| {row['embed_per_s']:,.0f} | {row['end_to_end_per_s']:,.0f} | {deltas} |"
                )
    sys.stdout.flush()


def print_row(result: Result, labeled: dict[str, pl.DataFrame]) -> None:
    cosine = (
        f" cosine {result.cosine_mean:.4f}/{result.cosine_p1:.4f}" if result.cosine_mean else ""
    )
    f1 = " ".join(f"{n} {result.f1[n]:.3f}" for n in labeled)
    print(
        f"{result.name}: {result.texts_per_s:,.1f} texts/s, {result.texts_per_cpu_s:,.1f} per "
        f"CPU-s, load {os.getloadavg()[0]:.1f}{cosine} macro-F1 {f1} {result.note}",
        flush=True,
    )


def table_row(
    result: Result, labeled: dict[str, pl.DataFrame], base_cpu: float, idle_rate: float
) -> str:
    cosine = (
        f"{result.cosine_mean:.4f} / {result.cosine_p1:.4f}"
        if result.cosine_mean is not None and result.cosine_p1 is not None
        else "–"
    )
    f1 = " | ".join(f"{result.f1[n]:.3f}" for n in labeled)
    ratio = result.texts_per_cpu_s / base_cpu
    return (
        f"| {result.name} | {result.texts_per_s:,.1f} | {result.texts_per_cpu_s:,.1f} "
        f"| {ratio:.2f}× | {ratio * idle_rate:,.0f} | {cosine} | {f1} |"
    )


if __name__ == "__main__":
    main()
