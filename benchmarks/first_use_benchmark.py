"""First use on a new home: how soon `insight api` listens and predicts, and how long
`insight classify` of 100 prompts takes the first time (the category head is trained from the
shipped examples) and the second time (the cached head is loaded).

    python benchmarks/first_use_benchmark.py [--rows 100] [--work /tmp/first-use-bench]

Each measurement starts a real `insight` process on its own new INSIGHT_HOME. The prompts come
from the fictional demo generator.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import httpx
import polars as pl

from insight_core.demo.generator import generate_demo_logs

INSIGHT = str(Path(sys.executable).with_name("insight"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prompts(work: Path, rows: int) -> Path:
    dataset = generate_demo_logs(work / "demo", date(2026, 10, 5), days=3, seed=1, n_users=150)
    texts = pl.concat([pl.read_ndjson(f).select("text") for f in dataset.log_files]).head(rows)
    source = work / f"prompts-{rows}.csv"
    texts.with_row_index("id").write_csv(source)
    return source


def measure_api(home: Path) -> tuple[float, float]:
    """Seconds from start to an accepted TCP connection and to the first 200 from /predict."""
    port = _free_port()
    env = {**os.environ, "INSIGHT_HOME": str(home)}
    started = time.monotonic()
    with (home.parent / f"{home.name}-api.log").open("w") as log:
        process = subprocess.Popen(
            [INSIGHT, "api", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env
        )
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.02)
        listening = time.monotonic() - started
        while True:
            answer = httpx.post(
                f"http://127.0.0.1:{port}/predict", json={"text": "reset my VPN"}, timeout=60
            )
            if answer.status_code == 200:
                return listening, time.monotonic() - started
            assert answer.status_code == 503, answer.text
            time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def measure_classify(home: Path, source: Path) -> float:
    started = time.monotonic()
    subprocess.run(
        [INSIGHT, "--home", str(home), "classify", str(source), "-o", str(home / "out.csv")],
        check=True,
        capture_output=True,
    )
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--work", type=Path, default=Path("/tmp/first-use-bench"))
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    source = _prompts(args.work, args.rows)
    listening, predicting = measure_api(args.work / "api-home")
    print(
        f"insight api, new home: listening after {listening:.1f} s, "
        f"first prediction after {predicting:.1f} s"
    )
    first = measure_classify(args.work / "classify-home", source)
    second = measure_classify(args.work / "classify-home", source)
    print(
        f"insight classify {args.rows} rows, new home: first {first:.1f} s, second {second:.1f} s"
    )
    print(f"(load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
