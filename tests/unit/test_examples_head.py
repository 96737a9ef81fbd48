"""The first-use examples head (no champion yet) and the API's background model loading.

The hashing embedder keeps these fast; the real embedding model and a real uvicorn process are
in ``tests/integration/test_first_use.py``.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from insight_core import examples_head
from insight_core.errors import ConfigError
from insight_core.inference import OUTPUT_COLUMNS, Classifier, classify_file
from insight_core.runtime import get_embedder, load_decision_config
from insight_core.serve.api import LOADING_RETRY_SECONDS, create_app
from insight_core.settings import InsightSettings

pytestmark = pytest.mark.unit

TEXTS = [
    "How do I reset my VPN password?",
    "Write a short poem about the office coffee machine",
    "Fix this SQL join that returns duplicate rows",
]


# A small invented example set: the head's fit is then quick (the shipped set's calibrated fit
# takes tens of seconds on a busy machine); quality is not what these tests check.
SMALL_EXAMPLES = {
    "coding": ["fix this python traceback", "write a sql query joining two tables"],
    "it_support": ["my laptop will not turn on", "printer shows a paper jam error"],
    "hr_employment": ["how many vacation days do I have", "update my bank details for payroll"],
    "wellbeing": ["I feel stressed and cannot sleep", "tips to handle burnout at work"],
    "legal_compliance": ["is this contract clause enforceable", "gdpr rules for customer data"],
    "finance": ["how do I file an expense report", "what is our travel budget policy"],
    "learning_development": ["explain p-values simply", "recommend a course on negotiation"],
    "writing_communication": ["make this email more polite", "summarise these meeting notes"],
    "creative_writing": ["write a poem about autumn", "a short story about a lost robot"],
    "other": ["what is the capital of peru", "good morning how are you"],
}


def _examples_folder(root: Path) -> Path:
    folder = root / "examples"
    folder.mkdir(parents=True, exist_ok=True)
    for category, texts in SMALL_EXAMPLES.items():
        lines = "".join(f"  - {text}\n" for text in texts)
        (folder / f"{category}.yaml").write_text(f"category: {category}\nexamples:\n{lines}")
    return folder


def _settings(home: Path, **overrides: object) -> InsightSettings:
    return InsightSettings(
        home=home,
        embedding_model="hashing-64",
        examples_path=_examples_folder(home.parent),
        **overrides,  # type: ignore[arg-type]
    )


def _head_dirs(settings: InsightSettings) -> list[Path]:
    pattern = f"{examples_head.EXAMPLES_HEAD_KIND}-*"
    return sorted(p for p in settings.models_dir.glob(pattern) if p.is_dir())


def test_examples_classifier_trains_once_and_classifies_without_topics(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "home")
    classifier = Classifier.from_examples(settings)
    assert not classifier.topics_available
    [folder] = _head_dirs(settings)
    assert classifier.bundle.version == folder.name
    assert set(classifier.bundle.head.classes) == set(classifier.taxonomy.categories)
    frame = classifier.classify(TEXTS)
    assert set(OUTPUT_COLUMNS) <= set(frame.columns)
    assert frame.get_column("topic_id").to_list() == [-1, -1, -1]
    assert set(frame.get_column("topic_label").to_list()) == {"unclustered"}
    assert set(frame.get_column("category").to_list()) <= set(classifier.taxonomy.categories)
    # The VPN rule still decides: rules need no topic model.
    assert frame.row(0, named=True)["rule_id"] == "it_vpn"
    assert classifier.bundle.manifest["n_examples"] == 20

    manifest = json.loads((folder / "manifest.json").read_text())
    again = Classifier.from_examples(settings)
    assert json.loads((folder / "manifest.json").read_text()) == manifest  # reused, not refit
    assert again.bundle.version == classifier.bundle.version
    assert again.classify(TEXTS).equals(frame)
    assert [p.name for p in settings.models_dir.iterdir() if p.name.startswith(".")] == []


def test_classify_file_on_a_new_home_writes_categories_and_says_topics_are_missing(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path / "home")
    source, destination = tmp_path / "in.csv", tmp_path / "out.csv"
    pl.DataFrame({"id": [1, 2, 3], "text": TEXTS}).write_csv(source)
    notices: list[str] = []
    assert classify_file(settings, source, destination, notice=notices.append) == len(TEXTS)
    result = pl.read_csv(destination)
    assert result.columns == ["id", "text", *OUTPUT_COLUMNS]
    assert result.get_column("category").null_count() == 0
    assert result.get_column("topic_id").to_list() == [-1, -1, -1]
    assert notices == [examples_head.TOPICS_UNAVAILABLE]
    # Looking for a champion did not create the MLflow database (a read must not migrate it).
    assert not (settings.home / "mlflow").exists()


def test_the_cache_key_follows_the_examples_and_the_embedding_model(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings = _settings(home)
    taxonomy, rules = load_decision_config(settings)
    key = examples_head.examples_head_key(settings, taxonomy, rules)
    assert key == examples_head.examples_head_key(settings, taxonomy, rules)
    extra = tmp_path / "extra.yaml"
    extra.write_text("category: other\nexamples:\n  - Please book the team offsite venue\n")
    with_extra = _settings(home, extra_examples_paths=[extra])
    assert examples_head.examples_head_key(with_extra, taxonomy, rules) != key
    other_model = settings.model_copy(update={"embedding_model": "hashing-32"})
    assert examples_head.examples_head_key(other_model, taxonomy, rules) != key


def test_concurrent_first_uses_train_once_and_share_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path / "home")
    taxonomy, rules = load_decision_config(settings)
    embedder = get_embedder(settings)
    calls: list[int] = []
    real_train_head = examples_head.train_head

    def slow_train_head(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        time.sleep(0.5)  # widen the window in which the others arrive
        return real_train_head(*args, **kwargs)

    monkeypatch.setattr(examples_head, "train_head", slow_train_head)
    start = threading.Barrier(4)
    folders: list[Path] = []

    def first_use() -> None:
        start.wait()
        folders.append(examples_head.ensure_examples_head(settings, taxonomy, rules, embedder))

    threads = [threading.Thread(target=first_use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert len(folders) == 4 and len(set(folders)) == 1
    assert _head_dirs(settings) == folders[:1]
    assert examples_head.load_examples_head(folders[0]).head.classes


def test_a_crashed_first_use_leaves_nothing_that_is_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path / "home")

    def crash(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ConfigError("disk full")

    monkeypatch.setattr(examples_head, "train_head", crash)
    with pytest.raises(ConfigError, match="disk full"):
        Classifier.from_examples(settings)
    assert _head_dirs(settings) == []
    assert [p for p in settings.models_dir.iterdir() if p.is_dir()] == []
    monkeypatch.undo()
    assert Classifier.from_examples(settings).classify(TEXTS[:1]).height == 1


# ---- the API while the model loads ---------------------------------------------------------


class GatedLoader:
    """Loads the real examples classifier once ``release`` is set (a load that takes a while)."""

    def __init__(self, settings: InsightSettings, error: Exception | None = None) -> None:
        self.release = threading.Event()
        self.error = error
        self.settings = settings

    def __call__(self, _: InsightSettings) -> Classifier:
        assert self.release.wait(timeout=60)
        if self.error is not None:
            raise self.error
        return Classifier.from_examples(self.settings)


def _wait_for(client: TestClient, model_status: str) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        health = client.get("/health").json()
        if health["model_status"] == model_status:
            return health
        time.sleep(0.05)
    raise AssertionError(f"model never reached {model_status}: {health}")


def test_api_answers_503_while_loading_then_predicts(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "home")
    loader = GatedLoader(settings)
    app = create_app(settings, loader=loader)
    with TestClient(app) as client:
        health = client.get("/health").json()
        assert health["status"] == "loading" and health["model_status"] == "loading"
        assert health["model_loaded"] is False and health["model_error"] is None
        assert health["loading_seconds"] >= 0
        for path, body in (("/predict", {"text": "hi"}), ("/predict/batch", {"texts": ["hi"]})):
            refused = client.post(path, json=body)
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == str(LOADING_RETRY_SECONDS)
            assert refused.json()["model_status"] == "loading"
            assert "loading" in refused.json()["detail"]
        # Validation still comes first: a bad request is a 422 even while loading.
        assert client.post("/predict", json={"text": ""}).status_code == 422

        loader.release.set()
        health = _wait_for(client, "ready")
        assert health["model_loaded"] is True and health["loading_seconds"] is None
        assert health["topics_available"] is False
        assert "topics are unavailable" in health["model_note"]
        assert health["status"] == "degraded"  # no warehouse yet on this home
        answer = client.post("/predict", json={"text": TEXTS[0]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["topic_id"] == -1 and answer.json()["topic_label"] == "unclustered"
        assert answer.json()["model_version"] == health["model_version"]


def test_api_reports_a_failed_load_without_a_traceback(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "home")
    loader = GatedLoader(settings, error=ValueError("taxonomy.yaml: bad indentation\n  line 3"))
    with TestClient(create_app(settings, retry_seconds=3600, loader=loader)) as client:
        loader.release.set()
        health = _wait_for(client, "failed")
        assert health["status"] == "degraded" and health["model_loaded"] is False
        assert health["model_error"] == "ValueError: taxonomy.yaml: bad indentation"
        refused = client.post("/predict", json={"text": "hi"})
        assert refused.status_code == 503 and refused.headers["retry-after"] == "3600"
        assert refused.json() == {
            "detail": "model not loaded: ValueError: taxonomy.yaml: bad indentation",
            "model_status": "failed",
        }
        assert "Traceback" not in refused.text


# ---- the web app on a new home --------------------------------------------------------------


def test_web_app_classifies_on_a_new_home_and_says_topics_are_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from insight_core.serve.webapp import APP_SCRIPT

    settings = _settings(tmp_path / "home")
    monkeypatch.setenv("INSIGHT_HOME", str(settings.home))
    monkeypatch.setenv("INSIGHT_EMBEDDING_MODEL", settings.embedding_model)
    monkeypatch.setenv("INSIGHT_EXAMPLES_PATH", str(settings.examples_file))
    st.cache_resource.clear()  # settings and classifier are cached per process
    try:
        app = AppTest.from_file(str(APP_SCRIPT), default_timeout=120).run()
        assert not app.exception and not app.error
        assert any("topics are unavailable" in info.value for info in app.info)
        app.text_area[0].input(TEXTS[0])
        app.button[0].click().run()
        assert not app.exception and not app.error
        metrics = {metric.label: metric.value for metric in app.metric}
        assert metrics["Category"] == "it_support" and metrics["Decided by"] == "rule"
        assert any(md.value == "**Topic -1:** unclustered" for md in app.markdown)
        model = [c.value for c in app.sidebar.caption if c.value.startswith("Model:")]
        assert model == [f"Model: `{_head_dirs(settings)[0].name}` (category head only, no topics)"]
    finally:
        st.cache_resource.clear()
