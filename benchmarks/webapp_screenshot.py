"""Regenerate the web app screenshots in docs/img/ from a demo home.

    insight --home /tmp/insight-docs demo --days 21 --users 400
    python benchmarks/webapp_screenshot.py --home /tmp/insight-docs

Starts ``insight app`` on a free port against that home, drives Debian's headless Chromium
(``/usr/bin/chromium``; Playwright downloads no browser) through the single-prompt, batch,
trends and failure-analysis pages and writes ``webapp.png`` (single prompt) and
``webapp-<page>.png`` beside it.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SINGLE_PROMPT = (
    "My laptop won't connect to the VPN since this morning's update. "
    "Can you call me on +44 20 7946 0958?"
)
BATCH_ROWS = [
    "Please proofread this paragraph for the customer newsletter",
    "How do I fix a KeyError in pandas when I merge two frames?",
    "Write a limerick about Monday stand-ups",
    "Where do I find my payslip for March?",
    "I feel overwhelmed by my workload and can't switch off",
    "Summarise this supplier contract and flag GDPR risks",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"insight app exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=5).text == "ok":
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit("insight app did not start in time")


def _shoot(page: Page, out_dir: Path, url: str) -> list[Path]:
    written = []
    page.goto(url)
    page.get_by_label("Prompt", exact=True).fill(SINGLE_PROMPT)
    page.get_by_role("button", name="Classify").click()
    expect(page.locator(".st-key-single_result")).to_be_visible()
    page.wait_for_timeout(1500)  # let the chart finish drawing
    written.append(out_dir / "webapp.png")
    page.screenshot(path=str(written[-1]))

    csv_file = Path(tempfile.mkdtemp()) / "prompts.csv"
    csv_file.write_text("text\n" + "\n".join(f'"{t}"' for t in BATCH_ROWS) + "\n")
    page.goto(f"{url}/batch")
    page.locator("input[type=file]").set_input_files(str(csv_file))
    page.get_by_role("button", name="Classify", exact=True).click()
    expect(page.get_by_role("button", name="Download classified CSV")).to_be_visible()
    page.wait_for_timeout(1500)
    written.append(out_dir / "webapp-batch.png")
    page.screenshot(path=str(written[-1]))

    # Taller for the trends page, so that the movers and the alerts are in the picture too.
    for name, heading, height in (
        ("trends", "Alerts", 2000),
        ("failures", "Why", 1050),
    ):
        page.set_viewport_size({"width": 1400, "height": height})
        page.goto(f"{url}/{name}")
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        page.wait_for_timeout(2500)
        written.append(out_dir / f"webapp-{name}.png")
        page.screenshot(path=str(written[-1]))
    return written


def main() -> None:
    """Start the web app on a demo home and write the screenshots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="INSIGHT_HOME with a demo run")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="output folder")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    insight = Path(sys.executable).with_name("insight")
    process = subprocess.Popen(
        [str(insight), "--home", str(args.home), "app", "--port", str(port)],
        env={**os.environ, "INSIGHT_HOME": str(args.home)},
    )
    try:
        _wait_until_up(url, process)
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                tempfile.mkdtemp(),
                executable_path=args.chromium,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1400, "height": 1050},
            )
            context.set_default_timeout(90_000)
            try:
                for path in _shoot(context.new_page(), args.out, url):
                    print(f"wrote {path}")
            finally:
                context.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
