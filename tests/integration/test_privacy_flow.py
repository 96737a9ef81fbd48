"""A name and a narrowly used word, frequent on one night, leave no trace an analyst or MLflow
can see: one real nightly run (cold start, real embedding model, DuckDB, MLflow on SQLite)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest

from insight_core.demo.generator import generate_demo_logs
from insight_core.settings import InsightSettings
from tests.integration.conftest import DEMO_START

pytestmark = pytest.mark.integration

# Invented for this test.
NAME = "Tobias Lindqvist"
NAME_FORMS = [
    "Dear Tobias Lindqvist, please summarise the vendor contract renewal terms",
    "my manager Tobias Lindqvist asked for a summary of the vendor contract renewal",
    "cc: Tobias Lindqvist. Draft the email about the vendor contract renewal",
    "Write a reply to Tobias Lindqvist about the vendor contract renewal deadline",
]
RARE_TERM = "quizzleflux"  # frequent tonight, but from only two users (k = 5)
RARE_FORMS = [
    "quizzleflux rollout checklist for the quizzleflux migration",
    "what are the risks of the quizzleflux migration rollout",
    "write the quizzleflux migration status update",
]


@dataclass(frozen=True)
class PrivacyRun:
    home: Path
    summary: object


def _injected_records(day: str) -> list[dict]:
    records = []
    for n in range(26):  # a name in 26 prompts of three users
        records.append(
            {
                "prompt_id": f"inj-name-{n}",
                "timestamp": f"{day}T10:{n:02d}:00+00:00",
                "user_id": f"u-name-{n % 3}",
                "department": "Sales",
                "text": NAME_FORMS[n % len(NAME_FORMS)],
                "tool": "chat",
            }
        )
    for n in range(30):  # a word in 30 prompts of two users
        records.append(
            {
                "prompt_id": f"inj-rare-{n}",
                "timestamp": f"{day}T11:{n:02d}:00+00:00",
                "user_id": f"u-rare-{n % 2}",
                "department": "Engineering",
                "text": RARE_FORMS[n % len(RARE_FORMS)],
                "tool": "chat",
            }
        )
    # Rejected rows carry PII in fields other than the text.
    records.append(
        {
            "prompt_id": "inj-bad-1",
            "timestamp": "+49 30 90182077",
            "user_id": "u-bad",
            "department": f"cc {NAME}!",
            "text": "",
            "tool": "chat",
        }
    )
    return records


@pytest.fixture(scope="module")
def privacy_run(prefect_api: None, tmp_path_factory: pytest.TempPathFactory) -> PrivacyRun:
    home = tmp_path_factory.mktemp("insight-privacy")
    # The raw input lives outside INSIGHT_HOME: it is the source system's, not ours.
    source_dir = tmp_path_factory.mktemp("privacy-source")
    dataset = generate_demo_logs(source_dir, DEMO_START, days=1, seed=11, n_users=160)
    log_file = dataset.log_files[0]
    with log_file.open("a", encoding="utf-8") as handle:
        for record in _injected_records(DEMO_START.isoformat()):
            handle.write(json.dumps(record) + "\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INSIGHT_HOME", str(home))
        patch.setenv("INSIGHT_DEMO_MODE", "true")
        from flows.nightly import nightly

        summary = nightly(run_date=DEMO_START, source=str(log_file))
    return PrivacyRun(home, summary)


def _duckdb_hits(path: Path, needle: str) -> list[str]:
    """Every table.column of a DuckDB file whose text form contains ``needle``."""
    hits = []
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns = con.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns"
        ).fetchall()
        for schema, table, column in columns:
            found = con.execute(
                f'SELECT count(*) FROM "{schema}"."{table}" '
                f'WHERE lower(CAST("{column}" AS VARCHAR)) LIKE ?',
                [f"%{needle}%"],
            ).fetchone()[0]
            if found:
                hits.append(f"{path.name}:{schema}.{table}.{column}")
    finally:
        con.close()
    return hits


def _parquet_hits(path: Path, needle: str) -> list[str]:
    """Every column of a Parquet file whose values, as text, contain ``needle`` (any type,
    nested lists included: the warehouse's per-date files hold list columns)."""
    frame = pl.read_parquet(path)
    return [
        f"{path}:{column}"
        for column in frame.columns
        if needle in str(frame.get_column(column).to_list()).lower()
    ]


def _bundled_vocabulary_only(tokenizer_file: Path) -> bool:
    """Whether a distilled static model's tokenizer holds only the bundled transformer's own
    word pieces: its vocabulary (30k pieces, "tobias" among them) comes with the installed
    model, not from any prompt, and the distillation only drops pieces from it."""
    from insight_core.nlp.embed import resolve_model

    bundled = Path(resolve_model("bundled:all-MiniLM-L6-v2")[0]) / "tokenizer.json"
    own = json.loads(tokenizer_file.read_text())["model"]["vocab"]
    return set(own) <= set(json.loads(bundled.read_text())["model"]["vocab"])


def _hits(home: Path, needle: str, skip: tuple[str, ...] = ()) -> list[str]:
    """Where under ``home`` ``needle`` occurs: files byte for byte (any case), DuckDB tables
    and Parquet columns as text (both may store strings compressed)."""
    needle = needle.lower()
    hits = []
    for path in sorted(p for p in home.rglob("*") if p.is_file()):
        relative = path.relative_to(home).as_posix()
        if relative.startswith(skip):
            continue
        if path.name == "tokenizer.json" and _bundled_vocabulary_only(path):
            continue
        if needle.encode() in path.read_bytes().lower():
            hits.append(relative)
        if path.suffix == ".duckdb":
            hits += _duckdb_hits(path, needle)
        elif path.suffix == ".parquet":
            hits += _parquet_hits(path, needle)
    return hits


def test_run_succeeded_and_fitted_topics(privacy_run: PrivacyRun) -> None:
    assert privacy_run.summary.status == "succeeded"
    assert privacy_run.summary.model_fitted
    topics = pl.read_parquet(next((privacy_run.home / "models").glob("*/topics.parquet")))
    labelled = topics.filter(pl.col("topic_id") != -1)
    assert labelled.height >= 2
    assert labelled.get_column("words").str.len_chars().min() > 0


def test_the_name_is_nowhere_in_the_home_directory(privacy_run: PrivacyRun) -> None:
    for part in (NAME, *NAME.split()):
        assert _hits(privacy_run.home, part) == [], part


def test_a_word_of_fewer_than_k_users_is_no_topic_word(privacy_run: PrivacyRun) -> None:
    settings = InsightSettings(home=privacy_run.home)
    assert settings.min_group_size > 2
    # Not even the prompts kept for refits (texts/) hold it: they keep only listed words.
    kept = pl.read_parquet(next((privacy_run.home / "texts").glob("*.parquet")))
    assert kept.height > 0
    assert _hits(privacy_run.home, RARE_TERM) == []


def test_quarantined_fields_are_redacted(privacy_run: PrivacyRun) -> None:
    con = duckdb.connect(str(privacy_run.home / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "SELECT record FROM ops.quarantine WHERE prompt_id = 'inj-bad-1'"
        ).fetchall()
    finally:
        con.close()
    assert len(rows) == 1
    record = json.loads(rows[0][0])
    assert record["department"] == "cc <PERSON>!"
    assert record["timestamp"] == "<PHONE>"
    assert "user_id" not in record and record["user_hash"]
