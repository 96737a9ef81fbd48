"""A night of real-length prompts for the benchmarks, built from the texts in ``../shared/data``.

The texts of ``../shared/data/*.csv`` (real prompts from public datasets: mean ~600
characters, median ~190) are cycled and made unique by light variation (a greeting before,
a closing after, from short fixed lists), so that the embedding cache and the per-call dedup do
not flatter the numbers: a night of up to ``len(texts) × variants`` prompts repeats no text.
Users, departments, tools and timestamps are drawn like the demo's (skewed activity, the demo's
department sizes). The files are read only as benchmark input, never for training.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from insight_core.demo.generator import DEPARTMENTS

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

OPENINGS = (
    "",
    "Hi, ",
    "Hello! ",
    "Quick question: ",
    "Please help. ",
    "Hey assistant, ",
    "Good morning. ",
    "One more thing: ",
    "Can you help? ",
    "Urgent: ",
    "Another one. ",
    "For a colleague: ",
    "Following up. ",
    "Thanks in advance. ",
    "Question. ",
    "Help needed: ",
    "Sorry to bother you. ",
    "New task: ",
    "Next: ",
    "Okay, ",
)
CLOSINGS = (
    "",
    " Thanks.",
    " Thank you!",
    " Please be brief.",
    " Keep it short.",
    " In plain English please.",
    " Step by step, please.",
    " Much appreciated.",
    " Cheers.",
    " ASAP if possible.",
    " Bullet points are fine.",
    " No jargon please.",
    " Thanks a lot.",
    " Explain your reasoning.",
    " Be precise.",
    " Short answer please.",
    " Ta.",
    " Kind regards.",
    " With an example.",
    " Many thanks.",
)
TOOLS = ("chatgpt-enterprise", "internal-assistant", "copilot", "gemini-workspace")


# Texts from sources the shipped examples never drew on: the training pool's 37 public sources
# and the unlabelled assistant prompts (short, terse, mixed registers).
UNFAMILIAR_FILES = ("pool/pool.csv", "assistant/assistant_unlabeled.csv")


def load_texts(data_dir: Path = SHARED_DATA, with_pool: bool = False) -> list[str]:
    """Every distinct non-empty text of the CSV files in ``data_dir``, in a fixed order.

    ``with_pool`` adds the texts of the training pool and of the unlabelled assistant prompts.
    """
    files = sorted(data_dir.glob("*.csv"))
    if with_pool:
        files += [data_dir / name for name in UNFAMILIAR_FILES]
    if not files:
        raise SystemExit(f"no CSV files in {data_dir}: the real-length corpus needs ../shared/data")
    texts: list[str] = []
    for file in files:
        texts.extend(pl.read_csv(file).get_column("text").drop_nulls().to_list())
    return sorted({t for t in texts if t.strip()})


def real_prompt_records(
    n: int,
    day: date,
    seed: int,
    data_dir: Path = SHARED_DATA,
    users: int = 20_000,
    with_pool: bool = False,
) -> Iterator[dict[str, str]]:
    """``n`` prompt log records of ``day`` whose texts are unique variations of real prompts."""
    texts = load_texts(data_dir, with_pool)
    variants = len(OPENINGS) * len(CLOSINGS)
    if n > len(texts) * variants:
        raise SystemExit(f"at most {len(texts) * variants} unique prompts from {len(texts)} texts")
    rng = random.Random(seed)
    order = list(range(len(texts)))
    rng.shuffle(order)
    # Skewed activity: a few people write much more than most.
    weights = [1.0 / (1 + i) ** 0.6 for i in range(users)]
    user_ids = rng.choices(range(users), weights=weights, k=n)
    department_of = [
        rng.choices(DEPARTMENTS, weights=[d.share for d in DEPARTMENTS])[0].name
        for _ in range(users)
    ]
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    for i in range(n):
        text = texts[order[i % len(texts)]]
        variant = (i // len(texts) + seed) % variants
        opening, closing = OPENINGS[variant // len(CLOSINGS)], CLOSINGS[variant % len(CLOSINGS)]
        user = user_ids[i]
        yield {
            "prompt_id": f"real-{day:%Y%m%d}-{i:07d}",
            "timestamp": (start + timedelta(seconds=rng.randrange(86_400))).isoformat(),
            "user_id": f"u-{user:05d}",
            "department": department_of[user],
            "text": f"{opening}{text}{closing}",
            "tool": TOOLS[user % len(TOOLS)],
        }


def write_real_night(
    path: Path,
    n: int,
    day: date,
    seed: int,
    data_dir: Path = SHARED_DATA,
    with_pool: bool = False,
) -> None:
    """Write ``n`` real-length prompt records of ``day`` to ``path`` as JSON lines."""
    with path.open("w") as handle:
        for record in real_prompt_records(n, day, seed, data_dir, with_pool=with_pool):
            handle.write(json.dumps(record) + "\n")
