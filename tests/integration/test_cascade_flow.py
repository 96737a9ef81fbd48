"""The embedding cascade through the real nightly flow: bundled MiniLM, distilled static model."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from insight_core import warehouse
from insight_core.demo.generator import generate_demo_logs
from insight_core.inference import Classifier
from insight_core.lifecycle.evaluate import run_evaluation
from insight_core.lifecycle.refit import refit
from insight_core.nlp.static import StaticEmbedder
from insight_core.runtime import load_model_bundle, require_champion
from insight_core.settings import InsightSettings

pytestmark = pytest.mark.integration

START = date(2026, 10, 5)


@dataclass(frozen=True)
class CascadeRun:
    settings: InsightSettings
    summaries: list
    log_files: list[Path]


@pytest.fixture(scope="module")
def cascade_run(prefect_api: None, tmp_path_factory: pytest.TempPathFactory) -> CascadeRun:
    """Day 1 fits a cascade model (distilling the static model first), day 2 infers."""
    home = tmp_path_factory.mktemp("cascade-home")
    dataset = generate_demo_logs(home / "demo", START, days=2, seed=11, n_users=150)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INSIGHT_HOME", str(home))
        patch.setenv("INSIGHT_DEMO_MODE", "true")
        patch.setenv("INSIGHT_EMBEDDING_CASCADE", "true")
        from flows.nightly import nightly

        summaries = [
            nightly(run_date=day, source=str(path))
            for day, path in zip(dataset.dates, dataset.log_files, strict=True)
        ]
        settings = InsightSettings()
    return CascadeRun(settings, summaries, list(dataset.log_files))


def test_the_cascade_model_carries_its_static_model_and_topics(cascade_run: CascadeRun) -> None:
    bundle = load_model_bundle(cascade_run.settings, require_champion(cascade_run.settings)[1])
    assert bundle.cascade is not None
    assert isinstance(bundle.cascade.static, StaticEmbedder)
    assert bundle.cascade.static.dimension == cascade_run.settings.static_embedding_dims
    assert bundle.manifest["topic_embedding_model"] == bundle.cascade.static.model_id
    assert bundle.manifest["embedding_model"] != bundle.cascade.static.model_id
    assert bundle.cascade.threshold == cascade_run.settings.embedding_cascade_threshold
    assert bundle.cascade.head.classes == bundle.head.classes
    assert bundle.cascade.lexical is not None
    assert bundle.cascade.lexical.classes == bundle.head.classes
    # The topic model was fitted in the static space, so it assigns static vectors.
    vectors = bundle.cascade.static.embed(["reset my vpn password", "draft a polite reply"])
    topic_ids, _ = bundle.topic_index.assign(vectors, 0.0)
    assert len(topic_ids) == 2


def test_rows_are_accounted_for_and_only_some_reach_the_transformer(
    cascade_run: CascadeRun,
) -> None:
    for summary in cascade_run.summaries:
        assert summary.status == "succeeded"
        assert summary.rows_read == (
            summary.rows_loaded + summary.rows_quarantined + summary.rows_duplicate
        )
        assert summary.rows_escalated is not None
        assert 0 < summary.rows_escalated < summary.rows_loaded
    assert cascade_run.summaries[0].model_fitted and not cascade_run.summaries[1].model_fitted


def _records(path: Path) -> list[dict]:
    """The demo file's JSON objects (its deliberately broken lines left out)."""
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict) and isinstance(record.get("text"), str):
                records.append(record)
    return records


def test_classify_decides_as_the_nightly_run_did(cascade_run: CascadeRun) -> None:
    settings = cascade_run.settings
    day = START.replace(day=START.day + 1)
    # The prompts as they came in (texts/ keeps only their kept form); classify redacts them.
    texts = pl.DataFrame(
        [
            {"prompt_id": str(record.get("prompt_id")), "text": record.get("text")}
            for record in _records(cascade_run.log_files[1])
        ]
    ).unique("prompt_id", keep="first", maintain_order=True)
    published = warehouse.query(
        settings.warehouse_file,
        f"SELECT prompt_id, category, topic_id FROM core.classifications "
        f"WHERE run_date = DATE '{day}'",
    )
    joined = texts.join(published, on="prompt_id")
    assert joined.height == published.height > 100
    classified = Classifier.load(settings).classify(joined.get_column("text").to_list())
    assert classified.get_column("category").to_list() == joined.get_column("category").to_list()
    assert classified.get_column("topic_id").to_list() == joined.get_column("topic_id").to_list()


def test_evaluate_scores_the_cascade_as_the_nightly_run_decides(
    cascade_run: CascadeRun, tmp_path: Path
) -> None:
    settings = cascade_run.settings
    prompts = [
        ("my vpn keeps dropping since the update, how do I fix it", "it_support"),
        ("write a python function that merges two sorted lists", "coding"),
        ("draft a friendly reminder email about the team lunch", "writing_communication"),
        ("how many days of parental leave am I entitled to", "hr_employment"),
    ]
    labeled = tmp_path / "labeled.csv"
    pl.DataFrame({"text": [p for p, _ in prompts], "category": [c for _, c in prompts]}).write_csv(
        labeled
    )
    report = next(
        r for r in run_evaluation(settings, labeled, modes=("hybrid",)) if r.mode == "hybrid"
    )
    # The report lists the wrong rows only: the classifier (which decides through the cascade,
    # as the nightly run does) must get exactly those wrong.
    classified = Classifier.load(settings).classify([p for p, _ in prompts])
    wrong = {
        text
        for (text, truth), predicted in zip(
            prompts, classified.get_column("category").to_list(), strict=True
        )
        if predicted != truth
    }
    assert set(report.mistakes.get_column("text").to_list()) == wrong
    assert report.accuracy == pytest.approx(1 - len(wrong) / len(prompts))


def test_a_refit_scores_topics_in_the_cascade_space(cascade_run: CascadeRun) -> None:
    settings = cascade_run.settings
    result = refit(settings, START.replace(day=START.day + 1), 2)
    challenger = load_model_bundle(settings, result.bundle_version)
    assert challenger.cascade is not None
    assert {"topic_coherence", "outlier_share"} <= set(result.decision.challenger_scores)
