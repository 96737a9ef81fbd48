"""The transformer embedder's speed options on the real bundled model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from insight_core.errors import ConfigError
from insight_core.nlp.embed import (
    PAD_TO_MULTIPLE_OF,
    SentenceTransformerEmbedder,
    default_batch_size,
    load_embedder,
    resolve_model,
    resolve_precision,
)
from insight_core.runtime import get_embedder
from insight_core.settings import InsightSettings

pytestmark = pytest.mark.integration

TEXTS = [
    "my laptop cannot connect to the office vpn since this morning",
    "how many vacation days do I have left this year",
    "write a python function that parses an ISO date and returns the weekday",
    "I feel exhausted and overwhelmed by the workload lately",
]


@pytest.fixture(scope="module")
def plain() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder("bundled:all-MiniLM-L6-v2")


def test_settings_off_give_the_unchanged_bundled_model(plain: SentenceTransformerEmbedder) -> None:
    # The transformer-only decision: no token cut, float32 (the cascade's defaults differ).
    embedder = get_embedder(
        InsightSettings(embedding_cascade=False, embedding_model="bundled:all-MiniLM-L6-v2")
    )
    assert embedder.model_id == plain.model_id == resolve_model("bundled:all-MiniLM-L6-v2")[2]
    from sentence_transformers import SentenceTransformer

    direct = SentenceTransformer(
        resolve_model("bundled:all-MiniLM-L6-v2")[0], device="cpu", local_files_only=True
    ).encode(TEXTS, batch_size=16, normalize_embeddings=True)
    # The same vectors up to float rounding: only the (masked) padding of the batch differs.
    assert np.allclose(embedder.embed(TEXTS), direct, atol=1e-6)


def test_passes_see_few_input_shapes_and_each_text_keeps_its_vector(
    plain: SentenceTransformerEmbedder,
) -> None:
    """Full batches padded to multiples of 16 word pieces: a night's passes reuse a few shapes
    (new shapes grew RSS with the night), and a text's vector does not depend on its batch."""
    texts = [" ".join(["budget"] * length) + " review" for length in range(1, 38)]
    shapes: list[tuple[int, ...]] = []
    hook = plain._model[0].register_forward_pre_hook(
        lambda _module, args: shapes.append(tuple(args[0]["input_ids"].shape))
    )
    try:
        together = plain.embed(texts)
    finally:
        hook.remove()
    assert together.shape == (37, plain.dimension)
    assert len(shapes) == 3  # 37 texts and 11 empty fillers
    assert all(batch == plain.batch_size for batch, _ in shapes)
    assert plain.pad_to_multiple_of == PAD_TO_MULTIPLE_OF
    assert all(length % PAD_TO_MULTIPLE_OF == 0 for _, length in shapes)
    alone = np.vstack([plain.embed([text]) for text in texts[::6]])
    assert np.allclose(together[::6], alone, atol=1e-6)


def test_batch_size_unless_set_follows_the_arithmetic_and_the_cut(
    plain: SentenceTransformerEmbedder,
) -> None:
    """bfloat16 on a short cut fills larger batches (docs/benchmarks.md, "Batch size"); full
    length and float32 keep small ones; a set size wins."""
    short_bf16 = SentenceTransformerEmbedder("bundled:all-MiniLM-L6-v2", None, 48, "bfloat16")
    short_float = SentenceTransformerEmbedder("bundled:all-MiniLM-L6-v2", None, 48, "float32")
    set_size = SentenceTransformerEmbedder("bundled:all-MiniLM-L6-v2", 8, 48, "bfloat16")
    assert short_bf16.batch_size == default_batch_size("bfloat16", 48) > plain.batch_size
    assert short_float.batch_size == plain.batch_size == default_batch_size("float32", None)
    assert default_batch_size("bfloat16", None) == plain.batch_size
    assert set_size.batch_size == 8
    # Larger batches change a vector only by the rounding of bfloat16 arithmetic.
    small = SentenceTransformerEmbedder(
        "bundled:all-MiniLM-L6-v2", plain.batch_size, 48, "bfloat16"
    )
    cosines = (short_bf16.embed(TEXTS) * small.embed(TEXTS)).sum(axis=1)
    assert cosines.min() > 0.9999


def test_int8_is_a_separate_model_id_close_to_the_float_vectors(
    plain: SentenceTransformerEmbedder,
) -> None:
    quantized = load_embedder("bundled:all-MiniLM-L6-v2", 16, None, "int8")
    assert quantized.model_id == plain.model_id + "+int8"
    vectors, reference = quantized.embed(TEXTS), plain.embed(TEXTS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosine = (vectors * reference).sum(axis=1)
    assert not np.array_equal(vectors, reference)
    assert cosine.min() > 0.95
    # Still the same meaning space: each text is nearest to its own float vector.
    assert list((vectors @ reference.T).argmax(axis=1)) == list(range(len(TEXTS)))


def test_max_tokens_truncates_long_texts_only(plain: SentenceTransformerEmbedder) -> None:
    truncated = SentenceTransformerEmbedder("bundled:all-MiniLM-L6-v2", max_tokens=24)
    assert truncated.model_id == plain.model_id + "+max24"
    assert truncated.pad_to_multiple_of == 8  # a multiple of 16 cannot divide 24
    short = TEXTS[1]
    long = TEXTS[0] + ". " + " ".join(["the quarterly budget spreadsheet is attached"] * 30)
    tokenizer = plain._model.tokenizer
    head = tokenizer.decode(tokenizer(long, add_special_tokens=False)["input_ids"][:22])
    vectors = truncated.embed([short, long])
    full = plain.embed([short, long, head])
    assert float(vectors[0] @ full[0]) > 0.9999  # shorter than the limit: unchanged
    assert float(vectors[1] @ full[2]) > 0.99  # the long text reads as its first word pieces
    assert float(vectors[1] @ full[1]) < 0.95


def test_a_limit_above_the_models_own_changes_nothing(plain: SentenceTransformerEmbedder) -> None:
    assert SentenceTransformerEmbedder("bundled:all-MiniLM-L6-v2", max_tokens=4096).model_id == (
        plain.model_id
    )


def test_bfloat16_is_a_separate_model_id_nearly_equal_to_the_float_vectors(
    plain: SentenceTransformerEmbedder,
) -> None:
    half = load_embedder("bundled:all-MiniLM-L6-v2", 16, None, "bfloat16")
    assert half.model_id == plain.model_id + "+bf16"
    vectors, reference = half.embed(TEXTS), plain.embed(TEXTS)
    assert vectors.dtype == np.float32
    assert not np.array_equal(vectors, reference)
    # Matrix products in bfloat16 with float32 accumulation: far closer than int8 (0.95).
    assert float((vectors * reference).sum(axis=1).min()) > 0.999


def test_bfloat16_weights_stored_once_give_autocasts_vectors(
    plain: SentenceTransformerEmbedder,
) -> None:
    """Linear layers kept in bfloat16 (faster: no cast per pass) give the vectors of autocast
    over the float32 weights, which is what bfloat16 meant before."""
    import torch

    half = load_embedder("bundled:all-MiniLM-L6-v2", 16, None, "bfloat16")
    linear = [m for m in half._model.modules() if isinstance(m, torch.nn.Linear)]
    assert linear and all(m.weight.dtype == torch.bfloat16 for m in linear)
    assert all(
        m.weight.dtype == torch.float32
        for m in half._model.modules()
        if isinstance(m, torch.nn.LayerNorm)
    )
    # The same embedder with float32 weights, its passes under autocast as bfloat16's were.
    autocast_only = SentenceTransformerEmbedder("bundled:all-MiniLM-L6-v2", 16, None, "float32")
    autocast_only.precision = "bfloat16"
    assert np.array_equal(half.embed(TEXTS), autocast_only.embed(TEXTS))


def test_auto_precision_follows_the_cpu(plain: SentenceTransformerEmbedder) -> None:
    import torch

    native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    assert resolve_precision("auto") == ("bfloat16" if native else "int8")
    # The transformer-only decision, whose model id carries no token cut (the cascade's does).
    auto = get_embedder(
        InsightSettings(
            embedding_model="bundled:all-MiniLM-L6-v2",
            embedding_precision="auto",
            embedding_cascade=False,
        )
    )
    assert auto.model_id == plain.model_id + ("+bf16" if native else "+int8")
    with pytest.raises(ConfigError, match="unknown embedding precision"):
        SentenceTransformerEmbedder("bundled:all-MiniLM-L6-v2", precision="float16")


# torch's thread count is process-wide, so the concurrent passes run in a process of their own.
CONCURRENT_PASSES = """
import json, sys, threading
import torch
from insight_core.runtime import shared_embedder
from insight_core.settings import InsightSettings

texts = json.loads(sys.argv[1])
threads_before = torch.get_num_threads()
torch.ones(8, 8) @ torch.ones(8, 8)  # this thread has used torch before the setting applies
# four torch threads shared by two passes, whatever the machine would derive; float32 to
# compare with the plain model's vectors
embedder = shared_embedder(
    InsightSettings(
        embedding_model="bundled:all-MiniLM-L6-v2",
        embedding_concurrent_passes=2,
        torch_threads=4,
        embedding_precision="float32",
    )
)
results, threads_in_pass = {}, {}


def run(i):
    results[i] = embedder.embed(texts)
    threads_in_pass[i] = torch.get_num_threads()


workers = [threading.Thread(target=run, args=(i,)) for i in range(2)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
run(2)  # and in the thread that used torch first
print(json.dumps({
    "threads_before": threads_before,
    "threads_in_pass": [threads_in_pass[i] for i in range(3)],
    "vectors": [results[i].tolist() for i in range(3)],
}))
"""


def test_concurrent_passes_split_the_threads_and_keep_the_vectors(
    plain: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    env = {**os.environ, "INSIGHT_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", CONCURRENT_PASSES, json.dumps(TEXTS)],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parents[2],
        check=True,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["threads_in_pass"] == [2, 2, 2]
    reference = plain.embed(TEXTS)
    for vectors in report["vectors"]:
        # The same model in fewer threads: equal up to the order of float additions.
        assert np.allclose(np.array(vectors, dtype=np.float32), reference, atol=1e-5)
