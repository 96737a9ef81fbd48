"""Model lifecycle on a real MLflow registry (SQLite): register, champion, refit promotion,
rollback, and the champion reaching inference. A hashing embedder keeps it fast: nothing here
depends on what the embeddings mean."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from insight_core import runtime
from insight_core.inference import Classifier
from insight_core.lifecycle import champion as champions
from insight_core.lifecycle import promotion
from insight_core.lifecycle import refit as refitting
from insight_core.lifecycle.train import fit_on_window
from insight_core.modelling.bundle import load_bundle
from insight_core.nlp.taxonomy import load_examples, load_taxonomy
from insight_core.settings import InsightSettings

pytestmark = pytest.mark.integration

END = date(2026, 10, 14)


@pytest.fixture
def settings(tmp_path: Path) -> InsightSettings:
    # The fake embedder keeps fits fast; the cascade needs a real transformer to distill from,
    # so these lifecycle tests state the transformer-only decision.
    settings = InsightSettings(
        home=tmp_path / "home", embedding_model="hashing-128", embedding_cascade=False
    )
    # a week of stored (redacted) prompts to refit on: the shipped examples spread over days
    examples = load_examples(settings.examples_file, load_taxonomy(settings.taxonomy_file))
    settings.texts_dir.mkdir(parents=True)
    for offset, part in enumerate(examples.get_column("text").to_list()[i::7] for i in range(7)):
        day = END - timedelta(days=offset)
        pl.DataFrame(
            {"prompt_id": [f"{day}-{n}" for n in range(len(part))], "text": part}
        ).write_parquet(settings.texts_dir / f"{day}.parquet")
    return settings


def _first_champion(settings: InsightSettings) -> str:
    return champions.train_champion(settings, "first model", END, 7).registry_version


def test_decide_promotion_requires_no_worse_on_every_measure() -> None:
    champion = {
        "examples_macro_f1": 0.90,
        "outlier_share": 0.20,
        "topic_diversity": 0.80,
        "topic_coherence": 0.10,
    }
    tolerance = {"examples_macro_f1": 0.005, "outlier_share": 0.02}
    better = {**champion, "topic_coherence": 0.15}
    assert promotion.decide_promotion(better, champion, tolerance)[0]
    within = {**champion, "examples_macro_f1": 0.897, "outlier_share": 0.21}
    assert promotion.decide_promotion(within, champion, tolerance)[0]
    worse_f1 = {**champion, "examples_macro_f1": 0.88}
    promoted, reasons = promotion.decide_promotion(worse_f1, champion, tolerance)
    assert not promoted and any("examples_macro_f1" in r and "worse" in r for r in reasons)
    more_outliers = {**champion, "outlier_share": 0.30}
    assert not promotion.decide_promotion(more_outliers, champion, tolerance)[0]


def test_first_model_is_champion_and_inference_uses_it(settings: InsightSettings) -> None:
    version = _first_champion(settings)
    registry_version, bundle_version = runtime.require_champion(settings)
    assert registry_version == version
    classifier = Classifier.load(settings)
    assert classifier.bundle.version == bundle_version
    assert classifier.classify(["my vpn is down"]).height == 1


def test_refit_promotes_only_a_challenger_that_is_no_worse(settings: InsightSettings) -> None:
    first = _first_champion(settings)
    result = refitting.refit(settings, END, 7)
    champion = runtime.require_champion(settings)[0]
    tags = {v["version"]: v["tags"] for v in champions.list_versions(settings)}
    assert tags[result.registry_version]["promotion"].startswith(
        "promoted" if result.decision.promoted else "kept the champion"
    )
    assert champion == (result.registry_version if result.decision.promoted else first)
    for metric in ("examples_macro_f1", "outlier_share", "topic_diversity", "topic_coherence"):
        assert metric in result.decision.challenger_scores
        assert metric in result.decision.champion_scores

    # a challenger that is clearly worse on the shipped evaluation set is not promoted
    before = runtime.require_champion(settings)[0]
    worse = fit_on_window(settings, END, 7).bundle
    manifest = json.loads((worse.directory / "manifest.json").read_text())
    manifest["examples_cv"]["macro_f1"] -= 0.2
    (worse.directory / "manifest.json").write_text(json.dumps(manifest))
    worse = load_bundle(worse.directory)
    version = champions.register_bundle(settings, worse)
    docs = pl.read_parquet(settings.texts_dir / f"{END}.parquet")["text"].to_list()
    decision = promotion.evaluate_challenger(settings, worse, version, docs)
    assert not decision.promoted
    assert runtime.require_champion(settings)[0] == before
    rejected = {v["version"]: v["tags"] for v in champions.list_versions(settings)}[version]
    assert "examples_macro_f1" in rejected["promotion"] and "(worse)" in rejected["promotion"]


def test_promote_and_rollback(settings: InsightSettings) -> None:
    first = _first_champion(settings)
    second_bundle = fit_on_window(settings, END, 7).bundle
    second = champions.register_bundle(settings, second_bundle)
    champions.promote(settings, second)
    assert runtime.require_champion(settings) == (second, second_bundle.version)
    assert champions.rollback(settings) == first
    assert runtime.require_champion(settings)[0] == first


def test_champion_bundle_is_downloaded_when_missing_locally(settings: InsightSettings) -> None:
    _first_champion(settings)
    _, bundle_version = runtime.require_champion(settings)
    shutil.rmtree(settings.models_dir / bundle_version)
    assert runtime.champion_bundle_version(settings) is not None
    assert (settings.models_dir / bundle_version / "manifest.json").exists()
    assert (settings.models_dir / bundle_version / "rules.yaml").exists()


def test_registered_model_loads_as_mlflow_pyfunc(settings: InsightSettings) -> None:
    import mlflow.pyfunc
    import pandas as pd

    _first_champion(settings)
    mlflow.set_tracking_uri(settings.tracking_uri)
    model = mlflow.pyfunc.load_model(f"models:/{settings.model_registry_name}@champion")
    # the bundle remembers the embedding model it was trained with
    output = model.predict(pd.DataFrame({"text": ["quiz me on excel pivot tables", "hi"]}))
    assert output["category"].iloc[0] == "learning_development"  # decided by a rule
    assert {"category", "decided_by", "confidence", "topic_id", "topic_label"} <= set(
        output.columns
    )


def test_a_bundle_records_its_embedder_and_warns_when_loaded_with_another(
    settings: InsightSettings, caplog: pytest.LogCaptureFixture
) -> None:
    from insight_core.nlp.embed import HashingEmbedder

    bundle = fit_on_window(settings, END, 7).bundle
    assert bundle.embedding_model == "hashing-128"
    assert bundle.manifest["embedding_precision"] == "float32"
    assert bundle.manifest["embedding_max_tokens"] is None
    with caplog.at_level("WARNING", logger="insight_core.modelling.bundle"):
        load_bundle(bundle.directory, HashingEmbedder(128))
        assert not caplog.records
        load_bundle(bundle.directory, HashingEmbedder(64))
    assert "fitted on 'hashing-128' embeddings but the embedder is 'hashing-64'" in caplog.text
