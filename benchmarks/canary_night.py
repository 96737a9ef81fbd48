"""Where the independent PII canaries end up after one real night: nowhere, is the promise.

Each case of ``tests/fixtures/canaries/pii_canaries.yaml`` (written by someone who had not read
the redactor or the topic-word rules) is typed by ``--users`` users into one demo night; the
night runs through ``insight run`` on a fresh home, exactly as a user runs it, and then every
file under the home is searched for every secret (files byte for byte, DuckDB tables and
Parquet columns as text, since both store strings compressed). Printed: per kind, how many
secrets are found, and where (texts kept for refits, the warehouse, the analyst copy, models,
MLflow). A secret counts where it occurs as a token (not inside a longer run of letters or
digits, where a short number turns up by chance in floats, digests and timestamps); files of
numbers only (weights, vectors) and a static model's tokenizer made only of the bundled
transformer's word pieces are not searched.

    .venv/bin/python benchmarks/canary_night.py --work /tmp/canary-night
    .venv/bin/python benchmarks/canary_night.py --work /tmp/canary-night --search-only
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import yaml

ROOT = Path(__file__).resolve().parents[1]
CANARIES = ROOT / "tests" / "fixtures" / "canaries" / "pii_canaries.yaml"
NIGHT = date(2026, 10, 5)


def _text_of_file(path: Path) -> str:
    """Everything a file holds as lower-case text, decompressed where the format compresses."""
    parts = [path.read_bytes().decode("utf-8", errors="ignore")]
    if path.suffix == ".parquet":
        frame = pl.read_parquet(path)
        parts += [str(frame.get_column(c).to_list()) for c in frame.columns]
    elif path.suffix == ".duckdb":
        con = duckdb.connect(str(path), read_only=True)
        try:
            for schema, table, column in con.execute(
                "SELECT table_schema, table_name, column_name FROM information_schema.columns"
            ).fetchall():
                values = con.execute(
                    f"SELECT string_agg(CAST(\"{column}\" AS VARCHAR), '\\n') "
                    f'FROM "{schema}"."{table}"'
                ).fetchone()
                parts.append(str(values[0] or ""))
        finally:
            con.close()
    return "\n".join(parts).lower()


# Files of numbers only (model weights, vectors): a short numeric secret "occurs" in their bytes
# by chance, and no text can be stored in them.
NUMERIC_ARRAYS = (".safetensors", ".npy")


def _bundled_vocabulary_only(path: Path) -> bool:
    """A distilled static model's tokenizer whose word pieces all come from the bundled
    transformer (its vocabulary ships with the package, not with any prompt)."""
    from insight_core.nlp.embed import resolve_model

    bundled = Path(resolve_model("bundled:all-MiniLM-L6-v2")[0]) / "tokenizer.json"
    own = json.loads(path.read_text(encoding="utf-8"))["model"]["vocab"]
    return set(own) <= set(json.loads(bundled.read_text(encoding="utf-8"))["model"]["vocab"])


def _searched(path: Path) -> bool:
    if path.suffix in NUMERIC_ARRAYS:
        return False
    return not (path.name == "tokenizer.json" and _bundled_vocabulary_only(path))


def _occurs(secret: str, text: str) -> bool:
    """``secret`` as a token of ``text``: not inside a longer run of letters or digits (so
    "3907" is not found in the float 0.13907 or in a hex digest)."""
    pattern = rf"(?<![0-9a-z]){re.escape(secret)}(?![0-9a-z])"
    return re.search(pattern, text) is not None


def _area(relative: str) -> str:
    for prefix, name in (
        ("texts/", "texts"),
        ("warehouse", "warehouse"),
        ("analyst", "analyst copy"),
        ("models/", "models"),
        ("mlflow/", "mlflow"),
    ):
        if relative.startswith(prefix):
            return name
    return relative.split("/", 1)[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument(
        "--search-only", action="store_true", help="search the home an earlier run left"
    )
    args = parser.parse_args()
    kinds = yaml.safe_load(CANARIES.read_text(encoding="utf-8"))["kinds"]
    home = args.work / "home"
    if not args.search_only and not _run_night(args.work, kinds, args.users):
        return 1
    return _search(home, kinds)


def _run_night(work: Path, kinds: dict, users: int) -> bool:
    """The demo night plus each canary typed by ``users`` users, through ``insight run``."""
    from insight_core.demo.generator import generate_demo_logs

    home, source = work / "home", work / "source"
    dataset = generate_demo_logs(source, NIGHT, days=1, seed=11, n_users=160)
    log_file = dataset.log_files[0]
    with log_file.open("a", encoding="utf-8") as handle:
        for kind, cases in kinds.items():
            for index, case in enumerate(cases):
                for user in range(users):
                    record = {
                        "prompt_id": f"canary-{kind}-{index}-{user}",
                        "timestamp": f"{NIGHT}T12:{user % 60:02d}:00+00:00",
                        "user_id": f"canary-user-{user}",
                        "department": "Operations",
                        "text": case["text"],
                        "tool": "chat",
                    }
                    handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "INSIGHT_"))}
    env.update(INSIGHT_HOME=str(home), INSIGHT_USER_HASH_SECRET="canary-night-secret")
    started = time.perf_counter()
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("insight")),
            "run",
            "--source",
            str(log_file),
            "--date",
            NIGHT.isoformat(),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    print(f"insight run: exit {run.returncode} in {time.perf_counter() - started:.0f} s")
    if run.returncode:
        print(run.stdout[-3000:], run.stderr[-3000:])
        return False
    return True


def _search(home: Path, kinds: dict) -> int:
    """Print, per kind, how many secrets occur under ``home`` and where."""
    contents = {
        path.relative_to(home).as_posix(): _text_of_file(path)
        for path in sorted(p for p in home.rglob("*") if p.is_file() and _searched(p))
    }
    # The search must find what is stored: the canaries' department is in the warehouse.
    if not any(_occurs("operations", text) for text in contents.values()):
        print("the search found not even the department 'Operations': it is broken")
        return 1
    total_found = 0
    for kind, cases in kinds.items():
        found: Counter[str] = Counter()
        missed = 0
        for case in cases:
            secret = case["secret"].lower()
            places = [rel for rel, text in contents.items() if _occurs(secret, text)]
            if places:
                missed += 1
                found.update({_area(rel) for rel in places})
                print(f"  {kind}: {case['secret']!r} in {', '.join(places[:4])}")
        total_found += missed
        where = ", ".join(f"{area} {n}" for area, n in found.most_common())
        print(f"{kind:15s} {missed:3d} of {len(cases):3d} found under the home  {where}")
    print(f"{total_found} secrets of {sum(len(c) for c in kinds.values())} found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
