"""The web app in a real headless Chromium (Debian's package) driven by Playwright.

``insight app`` runs as a real process against the demo warehouse and model that the real
nightly flow built (``demo_run``). Screenshots go to the test's tmp folder.
"""

from __future__ import annotations

import csv
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from insight_core import warehouse
from insight_core.inference import Classifier
from insight_core.serve.webapp.data import load_hard_cases
from insight_core.settings import InsightSettings
from tests.integration.conftest import DemoRun
from tests.integration.processes import free_port, start_insight

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
# Without these Chromium keeps trying to reach Google's update and sync services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 90_000


@dataclass(frozen=True)
class RunningApp:
    url: str
    log_file: Path


@pytest.fixture(scope="module")
def web_app(demo_run: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """``insight app`` as a real process on a free port."""
    port = free_port()
    log_file = tmp_path_factory.mktemp("webapp") / "streamlit.log"
    process = start_insight(
        ["app", "--host", "127.0.0.1", "--port", str(port)], demo_run.home, log_file
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, f"web app exited: {log_file.read_text()}"
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=5).text == "ok":
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"web app did not start: {log_file.read_text()}"
            time.sleep(0.5)
        yield RunningApp(url, log_file)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    """A page in Debian's Chromium, headless, with a fresh profile (no browser download)."""
    assert CHROMIUM.exists(), "Debian's chromium is not installed (apt-get install chromium)"
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
            accept_downloads=True,
        )
        context.set_default_timeout(TIMEOUT_MS)
        try:
            yield context.new_page()
        finally:
            context.close()


@pytest.fixture(scope="module")
def classifier(demo_run: DemoRun) -> Classifier:
    return Classifier.load(InsightSettings(home=demo_run.home))


def _assert_png(path: Path) -> None:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_single_prompt_shows_category_confidence_topic_and_rule(
    web_app: RunningApp, browser_page: Page, classifier: Classifier, tmp_path: Path
) -> None:
    text = "My laptop won't connect to the VPN since this morning, mail me at jane.doe@example.com"
    expected = classifier.classify([text]).row(0, named=True)
    page = browser_page
    page.goto(web_app.url)
    page.get_by_label("Prompt", exact=True).fill(text)
    page.get_by_role("button", name="Classify").click()
    result = page.locator(".st-key-single_result")
    expect(result).to_be_visible()
    expect(result.get_by_test_id("stMetricValue").first).to_have_text(expected["category"])
    expect(result).to_contain_text(f"{expected['confidence']:.0%}")
    expect(result).to_contain_text(f"Rule fired: {expected['rule_id']}")
    expect(result).to_contain_text(f"Topic {expected['topic_id']}: {expected['topic_label']}")
    expect(result).to_contain_text("Topic words:")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot = tmp_path / "webapp-single.png"
    page.screenshot(path=str(screenshot))
    _assert_png(screenshot)
    print(f"screenshot: {screenshot}")


def test_batch_csv_upload_progress_preview_and_download(
    web_app: RunningApp, browser_page: Page, classifier: Classifier, tmp_path: Path
) -> None:
    texts = [
        "Please proofread this paragraph for my newsletter",
        "How do I fix a KeyError in pandas?",
        "Write a limerick about Mondays",
        "Where do I find my payslip for March?",
    ]
    upload = tmp_path / "prompts.csv"
    with upload.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "department", "prompt"])
        writer.writerows([i, "Sales", t] for i, t in enumerate(texts))
    expected = classifier.classify(texts)
    page = browser_page
    page.goto(f"{web_app.url}/batch")
    page.locator("input[type=file]").set_input_files(str(upload))
    # No `text` column: the app proposes the first text column; choose the prompt column.
    column = page.get_by_label("Text column")
    expect(column).to_be_visible()
    column.click()
    page.get_by_role("option", name="prompt", exact=True).click()
    page.get_by_role("button", name="Classify", exact=True).click()
    expect(page.get_by_text("Classified 4 of 4 rows")).to_be_visible()
    expect(page.get_by_text("Classified 4 rows.")).to_be_visible()
    expect(page.get_by_text("Preview (first 4 rows)")).to_be_visible()
    download_button = page.get_by_role("button", name="Download classified CSV")
    with page.expect_download() as download_info:
        download_button.click()
    download = download_info.value
    assert download.suggested_filename == "prompts-classified.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with saved.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["prompt"] for r in rows] == texts
    assert [r["department"] for r in rows] == ["Sales"] * 4
    assert [r["category"] for r in rows] == expected.get_column("category").to_list()
    assert [r["decided_by"] for r in rows] == expected.get_column("decided_by").to_list()
    assert [int(r["topic_id"]) for r in rows] == expected.get_column("topic_id").to_list()
    screenshot = tmp_path / "webapp-batch.png"
    page.screenshot(path=str(screenshot))
    _assert_png(screenshot)


def test_trends_and_failure_analysis_pages_render(
    web_app: RunningApp, browser_page: Page, demo_run: DemoRun
) -> None:
    published = demo_run.home / "warehouse.duckdb"
    hidden = warehouse.query(
        published,
        "SELECT department, count(*) AS hidden FROM core.category_cells AS c "
        "JOIN core.cell_suppression AS s ON s.cell_id = concat_ws('|', 'category', c.grain, "
        "c.period, c.department, c.category) "
        "WHERE s.suppressed AND c.grain = 'day' AND c.department <> '(all)' "
        "GROUP BY ALL ORDER BY hidden DESC, department",
    )
    assert hidden.height, "the demo warehouse should have small groups to hide"
    department = hidden.row(0)[0]
    page = browser_page
    page.goto(f"{web_app.url}/trends")
    expect(page.get_by_role("heading", name="Category shares over time")).to_be_visible()
    # Hidden cells are neither shown nor counted (a count would tell that small groups
    # exist); the page says that cells below the minimum group size are not shown.
    expect(page.get_by_text("are not shown", exact=False)).to_be_visible()
    page.get_by_label("Department").click()
    page.get_by_role("option", name=department, exact=True).click()
    expect(page.get_by_text(f"Share of {department}'s published prompts")).to_be_visible()
    expect(page.get_by_text("suppressed", exact=False)).to_have_count(0)
    expect(page.get_by_role("heading", name="This week's movers")).to_be_visible()
    expect(page.get_by_role("heading", name="Alerts")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    _, cases = load_hard_cases()
    page.goto(f"{web_app.url}/failures")
    expect(page.get_by_text(re.compile(rf"^\d+ of {len(cases)}$"))).to_be_visible()
    expect(page.get_by_text("Only the cases the model gets wrong")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert "Traceback (most recent call last)" not in web_app.log_file.read_text()
