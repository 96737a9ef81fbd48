"""The prediction API with the real model: FastAPI's test client and a real uvicorn process.

The model and warehouse are the demo ones the real nightly flow built (``demo_run``).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from insight_core import warehouse
from insight_core.inference import Classifier
from insight_core.serve.api import create_app
from insight_core.settings import InsightSettings
from tests.integration.conftest import DemoRun
from tests.integration.processes import free_port, start_insight

pytestmark = pytest.mark.integration

# A prompt nobody else sends: if any part of it shows up in a log, the log leaked prompt text.
MARKER = "zebracorn-4711"
SECRET_PROMPT = (
    f"The {MARKER} printer is jammed again, call me on +44 20 7946 0958 or at jo@example.com"
)
# The test client's own HTTP library logs the URLs it requests; that is the caller's log.
CLIENT_LOGGERS = {"httpx", "httpx2", "httpcore"}


@pytest.fixture(scope="module")
def demo_settings(demo_run: DemoRun) -> InsightSettings:
    return InsightSettings(home=demo_run.home)


@pytest.fixture(scope="module")
def client(demo_settings: InsightSettings) -> Iterator[TestClient]:
    app = create_app(demo_settings)
    with TestClient(app) as test_client:
        app.state.model_holder.load()  # wait for the background load started at start-up
        yield test_client


def _last_published(home: Path):
    return warehouse.query(
        home / "warehouse.duckdb",
        "SELECT max(run_date) FROM ops.runs WHERE status = 'succeeded'",
    ).item()


def test_health_reports_model_version_and_warehouse_freshness(
    client: TestClient, demo_settings: InsightSettings, demo_run: DemoRun
) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["model_loaded"] is True and body["model_error"] is None
    assert body["model_version"] == Classifier.load(demo_settings).bundle.version
    assert body["warehouse"]["error"] is None
    assert body["warehouse"]["last_published_run_date"] == str(_last_published(demo_run.home))
    assert body["limits"] == {"max_text_chars": 8000, "max_batch": 256}


def test_predict_matches_the_classifier(client: TestClient, demo_settings: InsightSettings) -> None:
    text = "My pandas script fails with a KeyError when I merge two data frames, how do I fix it?"
    expected = Classifier.load(demo_settings).classify([text]).row(0, named=True)
    response = client.post("/predict", json={"text": text})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["category"] == expected["category"] == "coding"
    assert body["decided_by"] == expected["decided_by"]
    assert body["rule_id"] == expected["rule_id"]
    assert body["confidence"] == pytest.approx(expected["confidence"])
    assert 0.0 <= body["confidence"] <= 1.0
    assert body["topic_id"] == expected["topic_id"]
    assert body["topic_label"] == expected["topic_label"]
    assert ", ".join(body["topic_words"]) == expected["topic_words"]
    assert body["model_version"] == Classifier.load(demo_settings).bundle.version


def test_predict_names_the_rule_that_fired(client: TestClient) -> None:
    body = client.post("/predict", json={"text": "I can't connect to the VPN from home"}).json()
    assert body["category"] == "it_support"
    assert body["decided_by"] == "rule"
    assert body["rule_id"] == "it_vpn" and body["matched_phrase"].lower() == "vpn"
    assert body["confidence"] == 1.0


def test_batch_keeps_order_and_agrees_with_single_predictions(client: TestClient) -> None:
    texts = [
        "Write a limerick about our quarterly planning meeting",
        "How many days of parental leave do I get?",
        "Fix this SQL: SELECT * FROM orders WHERE",
    ]
    response = client.post("/predict/batch", json={"texts": texts})
    assert response.status_code == 200, response.text
    batch = response.json()["predictions"]
    assert len(batch) == len(texts)
    singles = [client.post("/predict", json={"text": t}).json() for t in texts]
    assert batch == singles


@pytest.mark.parametrize(
    ("path", "payload", "status", "message"),
    [
        ("/predict", {"text": ""}, 422, "at least 1 character"),
        ("/predict", {"text": "   \n\t "}, 422, "text is blank"),
        ("/predict", {"text": "x" * 8001}, 422, "at most 8000 characters"),
        ("/predict", {"text": 42}, 422, "valid string"),
        ("/predict", {"text": ["a", "b"]}, 422, "valid string"),
        ("/predict", {}, 422, "Field required"),
        ("/predict", {"text": "hi", "user": "u1"}, 422, "Extra inputs are not permitted"),
        ("/predict/batch", {"texts": []}, 422, "at least 1 item"),
        ("/predict/batch", {"texts": "one text"}, 422, "valid list"),
        ("/predict/batch", {"texts": ["fine", 7]}, 422, "valid string"),
        ("/predict/batch", {"texts": ["ok"] * 257}, 413, "over the limit of 256"),
    ],
)
def test_invalid_requests_get_a_clear_4xx(
    client: TestClient, path: str, payload: object, status: int, message: str
) -> None:
    response = client.post(path, json=payload)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert any(message in error["msg"] for error in detail), detail
    # The answer never echoes the submitted text back.
    assert all("input" not in error for error in detail)
    assert client.get("/health").json()["model_loaded"] is True  # still serving


def test_malformed_json_and_oversized_bodies_are_refused(client: TestClient) -> None:
    broken = client.post(
        "/predict", content=b'{"text": "unterminated', headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422 and broken.json()["detail"][0]["type"] == "json_invalid"
    huge = client.post(
        "/predict/batch",
        content=b"[" + b'"x",' * 4_000_000 + b'"x"]',
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413
    assert "request body is over the limit" in huge.json()["detail"]

    def chunks() -> Iterator[bytes]:
        # Sent without Content-Length (chunked), so only counting the bytes can stop it.
        for _ in range(140):
            yield b"x" * 100_000

    streamed = client.post(
        "/predict/batch", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert client.post("/predict", json={"text": "still serving"}).status_code == 200


def test_openapi_docs_describe_the_endpoints(client: TestClient) -> None:
    assert "swagger" in client.get("/docs").text.lower()
    schema = client.get("/openapi.json").json()
    assert {"/health", "/predict", "/predict/batch"} <= set(schema["paths"])
    batch = schema["components"]["schemas"]["BatchPredictRequest"]["properties"]["texts"]
    assert batch["maxItems"] == 256
    assert batch["items"]["maxLength"] == 8000


def _wait_for_model(client: TestClient, done: Callable[[dict], bool]) -> dict:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        health = client.get("/health").json()
        if done(health):
            return health
        time.sleep(0.2)
    raise AssertionError(f"the model did not change as expected: {health}")


def test_examples_head_until_a_champion_exists_then_the_champion(
    demo_run: DemoRun, tmp_path: Path
) -> None:
    empty = tmp_path / "empty-home"
    empty.mkdir()
    home = tmp_path / "home"
    home.symlink_to(empty, target_is_directory=True)
    # A small example set keeps the first-use fit quick; tests/integration/test_first_use.py
    # trains on the shipped set.
    examples = tmp_path / "examples"
    examples.mkdir()
    (examples / "it_support.yaml").write_text(
        "category: it_support\nexamples:\n  - my laptop does not boot\n  - reset my password\n"
    )
    (examples / "coding.yaml").write_text(
        "category: coding\nexamples:\n  - fix this python error\n  - write a sql query\n"
    )
    settings = InsightSettings(home=home, examples_path=examples)
    app = create_app(settings, retry_seconds=0)
    with TestClient(app) as client:
        health = _wait_for_model(client, lambda h: h["model_status"] != "loading")
        assert health["model_status"] == "ready", health
        assert health["model_version"].startswith("examples-head-")
        assert health["topics_available"] is False and "nightly run" in health["model_note"]
        assert "no warehouse" in health["warehouse"]["error"]
        assert health["status"] == "degraded"
        served = client.post("/predict", json={"text": "reset my password"})
        assert served.status_code == 200, served.text
        assert served.json()["topic_id"] == -1 and served.json()["topic_label"] == "unclustered"

        # A model (and a warehouse) appear in the home, as after the first nightly run: the
        # next look for the champion (every retry_seconds) swaps it in without a restart.
        home.unlink()
        home.symlink_to(demo_run.home, target_is_directory=True)
        champion = Classifier.load(InsightSettings(home=demo_run.home)).bundle.version
        health = _wait_for_model(client, lambda h: h["model_version"] == champion)
        assert health["status"] == "ok" and health["topics_available"] is True
        assert health["model_note"] is None and health["model_error"] is None
        served = client.post("/predict", json={"text": "reset my password"})
        assert served.status_code == 200 and served.json()["model_version"] == champion


def test_request_logs_contain_no_prompt_text(
    client: TestClient, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    assert client.post("/predict", json={"text": SECRET_PROMPT}).status_code == 200
    assert client.post("/predict/batch", json={"texts": [SECRET_PROMPT] * 2}).status_code == 200
    assert client.post("/predict", json={"text": SECRET_PROMPT + "x" * 8000}).status_code == 422
    assert client.post("/predict", json={"text": SECRET_PROMPT, "x": 1}).status_code == 422
    client.get(f"/predict?text={MARKER}")
    client.get(f"/{MARKER}")
    printed = capfd.readouterr()
    logged = "\n".join(
        record.getMessage()
        for record in caplog.records
        if record.name.split(".")[0] not in CLIENT_LOGGERS
    )
    # The request lines are there, so the check below would have seen text if it were logged.
    assert "POST /predict -> 200" in logged and "POST /predict/batch -> 200" in logged
    assert "POST /predict -> 422" in logged and "<unmatched route>" in logged
    for output in (logged, printed.out, printed.err):
        assert MARKER not in output
        assert "jo@example.com" not in output and "7946" not in output


def test_real_uvicorn_process_serves_predictions(demo_run: DemoRun, tmp_path: Path) -> None:
    port = free_port()
    log_file = tmp_path / "api.log"
    process = start_insight(
        ["api", "--host", "127.0.0.1", "--port", str(port)], demo_run.home, log_file
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        health = None
        while time.monotonic() < deadline:
            assert process.poll() is None, log_file.read_text()
            try:
                health = httpx.get(f"{base}/health", timeout=5).json()
                break
            except httpx.TransportError:
                time.sleep(0.5)
        assert health is not None, f"API did not come up: {log_file.read_text()}"
        while health["model_status"] == "loading" and time.monotonic() < deadline:
            time.sleep(0.5)
            health = httpx.get(f"{base}/health", timeout=5).json()
        assert health["model_loaded"] is True, health
        response = httpx.post(f"{base}/predict", json={"text": SECRET_PROMPT}, timeout=60)
        assert response.status_code == 200 and response.json()["category"] == "it_support"
        invalid = httpx.post(f"{base}/predict", json={"text": ""}, timeout=10)
        assert invalid.status_code == 422
        assert httpx.get(f"{base}/docs", timeout=10).status_code == 200
        assert httpx.get(f"{base}/predict?text={MARKER}", timeout=10).status_code == 405
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    output = log_file.read_text()
    assert "POST /predict -> 200" in output and "POST /predict -> 422" in output
    assert "GET /docs -> 200" in output and "GET /predict -> 405" in output
    assert MARKER not in output and "jo@example.com" not in output
    # A clean shutdown on SIGTERM (uvicorn re-raises the signal once it has shut down).
    assert "Application shutdown complete." in output
    assert process.returncode in (0, -signal.SIGTERM), output
