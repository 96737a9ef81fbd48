"""A new user's night: the whole ``insight run`` command on a fresh home, with no settings.

What issue 23 asks to be measured, in one run of this script:

1. a fresh ``INSIGHT_HOME`` and no ``INSIGHT_*`` variable but the hash key;
2. a first night of 2,000 prompts (``insight run`` fits the first model on it, as it does for a
   new user), timed but not the subject;
3. the measured night: N real-length prompts, ``insight run --date … --source …`` timed as a
   whole command (process start, the local Prefect server, models, publication), with the peak
   memory of the run's process (and with its redaction processes);
4. one pass of the bundled MiniLM, as sentence-transformers runs it out of the box (float32, its
   own batch size and threads), over a sample of the same night's texts, in the same run and on
   the same machine, so the night's rate can be given as a multiple of it.

``--corpus real`` is the development corpus (the texts of ``../shared/data/*.csv``);
``--corpus real+pool`` adds the texts of the training pool and the unlabelled assistant prompts
(sources the shipped examples never drew on). Both are made unique as ``real_corpus.py`` does.

    .venv/bin/python benchmarks/default_night.py --corpus real+pool --size 100000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from pipeline_benchmark import PeakMemory
from real_corpus import write_real_night

RUN_DATE = date(2026, 10, 14)
FIRST_NIGHT_PROMPTS = 2_000
MINILM_SAMPLE = 3_000
INSIGHT = Path(sys.executable).with_name("insight")


def _new_user_environment(home: Path, settings: list[str]) -> dict[str, str]:
    """The caller's environment without any INSIGHT_ setting, plus a fresh home and hash key
    (and ``settings``, ``NAME=value`` pairs, for a comparison with another configuration)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSIGHT_")}
    env["INSIGHT_HOME"] = str(home)
    env["INSIGHT_USER_HASH_SECRET"] = secrets.token_hex(32)
    for pair in settings:
        name, _, value = pair.partition("=")
        if not name.startswith("INSIGHT_") or not _:
            raise SystemExit(f"--set takes INSIGHT_NAME=value, not {pair!r}")
        env[name] = value
    return env


def _timed_run(env: dict[str, str], day: date, source: Path) -> tuple[float, PeakMemory]:
    """Run ``insight run`` for ``day``; returns its wall seconds and memory samples."""
    command = [str(INSIGHT), "run", "--date", str(day), "--source", str(source)]
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    with PeakMemory(child.pid) as memory:
        if child.wait() != 0:
            raise SystemExit(f"insight run failed: {' '.join(command)}")
    return time.perf_counter() - started, memory


def _last_run_metrics(home: Path) -> dict[str, float]:
    """The metrics of the newest MLflow run of the home (SQLite store)."""
    with sqlite3.connect(home / "mlflow" / "mlflow.db") as db:
        (run_id,) = db.execute(
            "SELECT run_uuid FROM runs ORDER BY start_time DESC LIMIT 1"
        ).fetchone()
        rows = db.execute("SELECT key, value FROM latest_metrics WHERE run_uuid = ?", (run_id,))
        return dict(rows)


def minilm_texts_per_second(night: Path, sample: int = MINILM_SAMPLE) -> float:
    """Texts per second of one out-of-the-box MiniLM pass over a sample of the night's texts."""
    from sentence_transformers import SentenceTransformer

    from insight_core.nlp.model_source import resolve_model

    with night.open() as handle:
        texts = [json.loads(line)["text"] for line in handle]
    texts = random.Random(7).sample(texts, min(sample, len(texts)))
    location, offline, _ = resolve_model("bundled:all-MiniLM-L6-v2")
    model = SentenceTransformer(location, device="cpu", local_files_only=offline)
    model.encode(texts[:64])  # warm up
    started = time.perf_counter()
    model.encode(texts)
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--corpus", choices=["real", "real+pool"], default="real+pool")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary home.")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="INSIGHT_NAME=value",
        help="a setting for comparison with the default (e.g. INSIGHT_EMBEDDING_CASCADE=false)",
    )
    args = parser.parse_args()
    with_pool = args.corpus == "real+pool"

    workdir = Path(tempfile.mkdtemp(prefix="insight-default-night-"))
    home = workdir / "home"
    env = _new_user_environment(home, args.set)
    try:
        first = workdir / "first.jsonl"
        write_real_night(
            first, FIRST_NIGHT_PROMPTS, RUN_DATE - timedelta(days=1), 101, with_pool=with_pool
        )
        first_seconds, _ = _timed_run(env, RUN_DATE - timedelta(days=1), first)

        night = workdir / "night.jsonl"
        write_real_night(night, args.size, RUN_DATE, 202, with_pool=with_pool)
        seconds, memory = _timed_run(env, RUN_DATE, night)
        metrics = _last_run_metrics(home)
        raw = minilm_texts_per_second(night)
        rate = args.size / seconds
        escalated = metrics.get("rows_escalated")
        result = {
            "corpus": args.corpus,
            "settings": args.set or "defaults",
            "prompts": args.size,
            "first_night_seconds": round(first_seconds, 1),
            "insight_run_seconds": round(seconds, 1),
            "prompts_per_second": round(rate, 1),
            "minilm_texts_per_second": round(raw, 1),
            "multiple_of_minilm": round(rate / raw, 2),
            "peak_rss_mb": round(memory.peak / 2**20),
            "peak_rss_with_redaction_processes_mb": round(memory.peak_with_helpers / 2**20),
            "sent_to_transformer": escalated,
            "sent_to_transformer_share": (
                round(escalated / metrics["rows_loaded"], 3) if escalated is not None else None
            ),
            "flow_seconds_by_stage": {
                k.removeprefix("seconds_"): round(v, 1)
                for k, v in metrics.items()
                if k.startswith("seconds_")
            },
        }
        print(json.dumps(result, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
