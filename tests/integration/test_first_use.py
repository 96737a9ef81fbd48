"""A fresh home with no nightly run: ``insight classify`` and ``insight api`` work at once.

Both are real processes started together on one new ``INSIGHT_HOME`` with the real embedding
model: one of them trains the category head on the shipped examples while the other waits for
it (file lock), so the test pays for one fit. The API must listen at once, answer 503 with
``Retry-After`` while the model loads, then predict; classify must write categories.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import polars as pl
import pytest

from insight_core.nlp.taxonomy import load_taxonomy
from insight_core.settings import InsightSettings
from tests.integration.processes import free_port, start_insight

pytestmark = pytest.mark.integration

# Invented prompts (never rows of the evaluation data).
PROMPTS = [
    "My laptop keeps losing the wifi connection in meeting room 4",
    "Can you help me write a polite reminder to a client about an unpaid invoice?",
    "Explain the difference between a left join and an inner join in SQL",
    "Write a short limerick about our team's Monday stand-up",
    "How many days of parental leave am I entitled to?",
    "I have been feeling overwhelmed at work lately, any advice?",
]
STARTUP_SECONDS = 15  # generous for a busy CI machine; measured values are printed


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_tcp(port: int, process: subprocess.Popen, log_file: Path) -> float:
    started = time.monotonic()
    while time.monotonic() - started < STARTUP_SECONDS:
        assert process.poll() is None, log_file.read_text()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return time.monotonic() - started
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listened within {STARTUP_SECONDS} s: {log_file.read_text()}")


def test_fresh_home_classify_and_api_work_before_any_nightly_run(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    source = tmp_path / "prompts.csv"
    pl.DataFrame({"id": range(len(PROMPTS)), "text": PROMPTS}).write_csv(source)
    destination = tmp_path / "classified.csv"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api_log, classify_log = tmp_path / "api.log", tmp_path / "classify.log"

    started = time.monotonic()
    api = start_insight(["api", "--host", "127.0.0.1", "--port", str(port)], home, api_log)
    classify = start_insight(["classify", str(source), "-o", str(destination)], home, classify_log)
    try:
        to_listen = _wait_for_tcp(port, api, api_log)
        health = httpx.get(f"{base}/health", timeout=10).json()
        assert health["status"] == "loading" and health["model_status"] == "loading", health
        assert health["model_loaded"] is False
        refused = httpx.post(f"{base}/predict", json={"text": PROMPTS[0]}, timeout=10)
        assert refused.status_code == 503, refused.text
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["model_status"] == "loading"
        refused = httpx.post(f"{base}/predict/batch", json={"texts": PROMPTS}, timeout=10)
        assert refused.status_code == 503 and "retry-after" in refused.headers

        deadline = time.monotonic() + 900
        while health["model_status"] == "loading" and time.monotonic() < deadline:
            assert api.poll() is None, api_log.read_text()
            time.sleep(1)
            health = httpx.get(f"{base}/health", timeout=10).json()
        assert health["model_status"] == "ready", f"{health}\n{api_log.read_text()}"
        assert health["model_version"].startswith("examples-head-")
        assert health["topics_available"] is False and "nightly run" in health["model_note"]
        answer = httpx.post(f"{base}/predict/batch", json={"texts": PROMPTS}, timeout=120)
        to_predict = time.monotonic() - started
        assert answer.status_code == 200, answer.text
        predictions = answer.json()["predictions"]
        categories = set(load_taxonomy(InsightSettings(home=home).taxonomy_file).categories)
        assert {p["category"] for p in predictions} <= categories
        assert {p["topic_id"] for p in predictions} == {-1}
        print(f"api: listening after {to_listen:.1f} s, first prediction after {to_predict:.1f} s")

        assert classify.wait(timeout=900) == 0, classify_log.read_text()
    finally:
        _stop(api)
        _stop(classify)
    result = pl.read_csv(destination)
    assert result.get_column("text").to_list() == PROMPTS
    assert set(result.get_column("category").to_list()) <= categories
    assert result.get_column("topic_id").to_list() == [-1] * len(PROMPTS)
    assert "topics are unavailable" in " ".join(classify_log.read_text().split())
    # One of the two processes trained, the other waited and loaded the same folder.
    heads = [p for p in (home / "models").glob("examples-head-*") if p.is_dir()]
    assert [p.name for p in heads] == [health["model_version"]]
    assert not [p for p in (home / "models").iterdir() if p.name.startswith(".")]
    assert "Traceback" not in api_log.read_text()
