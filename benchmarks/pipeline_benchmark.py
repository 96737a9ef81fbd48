"""Throughput and memory of the nightly flow in ``infer`` mode.

For each batch size N: a fresh INSIGHT_HOME, a model fitted on an earlier day, then the
embedding cache is emptied (so every prompt of the measured night is embedded for real) and
the nightly flow runs on N new prompts in a process of its own, as the nightly job does.
Prints prompts per second per stage (wall-clock per stage) and end to end, and the peak
resident memory of that process.

    .venv/bin/python benchmarks/pipeline_benchmark.py --sizes 2000 10000 20000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import psutil

RUN_DATE = date(2026, 10, 14)


class PeakMemory:
    """Samples a process's RSS every 50 ms; the peak is what the run needed.

    ``timeline`` keeps (seconds since start, RSS) of every sample, so a report can show where
    in the run the memory went (``deciles``).
    """

    def __init__(self, pid: int | None = None) -> None:
        self.peak = 0
        self.peak_with_helpers = 0  # the run's process plus its worker processes
        self.timeline: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._process = psutil.Process(pid)
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _helpers_rss(self) -> int:
        """RSS of the run's worker processes (redaction pool), not of the Prefect server."""
        total = 0
        try:
            children = self._process.children(recursive=True)
        except psutil.Error:  # the run's process has just ended
            return 0
        for child in children:
            try:
                if "multiprocessing" in " ".join(child.cmdline()):
                    total += child.memory_info().rss
            except psutil.Error:
                continue
        return total

    def _sample(self) -> None:
        started = time.perf_counter()
        while not self._stop.is_set():
            try:
                rss = self._process.memory_info().rss
            except psutil.NoSuchProcess:
                return
            self.peak = max(self.peak, rss)
            self.peak_with_helpers = max(self.peak_with_helpers, rss + self._helpers_rss())
            self.timeline.append((time.perf_counter() - started, rss))
            time.sleep(0.05)

    def deciles(self) -> list[int]:
        """Highest RSS (MiB) in each tenth of the run's wall time."""
        if not self.timeline:
            return []
        end = self.timeline[-1][0] or 1.0
        tenths = [0] * 10
        for seconds, rss in self.timeline:
            index = min(int(10 * seconds / end), 9)
            tenths[index] = max(tenths[index], rss // 2**20)
        return tenths

    def __enter__(self) -> PeakMemory:
        self.peak = self._process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _write_logs(path: Path, n: int, day: date, seed: int, corpus: str = "demo") -> None:
    from insight_core.demo.generator import generate_prompt_records

    if corpus == "real":
        sys.path.insert(0, str(Path(__file__).parent))
        from real_corpus import write_real_night

        write_real_night(path, n, day, seed)
        return
    with path.open("w") as handle:
        for record in generate_prompt_records(n, day, seed=seed):
            handle.write(json.dumps(record) + "\n")


def _nightly_in_subprocess(
    home: Path, day: date, source: Path, mode: str, summary_file: Path, profile: Path | None = None
) -> tuple[float, PeakMemory]:
    """Run one night in a fresh process; returns (wall seconds, its memory samples)."""
    env = {**os.environ, "INSIGHT_HOME": str(home), "INSIGHT_DEMO_MODE": "true"}
    command = [
        sys.executable,
        __file__,
        "--one-night",
        str(day),
        str(source),
        mode,
        str(summary_file),
    ]
    if profile is not None:  # py-spy samples every thread of the run (pip install py-spy)
        command = [
            "py-spy",
            "record",
            "--subprocesses",
            "-r",
            "20",
            "-f",
            "raw" if profile.suffix == ".txt" else "speedscope",
            "-o",
            str(profile),
            "--",
            *command,
        ]
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env)
    with PeakMemory(child.pid) as memory:
        if child.wait() != 0:
            raise SystemExit(f"benchmark run failed: {' '.join(command)}")
    return time.perf_counter() - started, memory


def _one_night(day: str, source: str, mode: str, summary_file: str) -> None:
    from dataclasses import asdict

    from flows.nightly import nightly
    from flows.runners import configured
    from insight_core.environment import parallelism
    from insight_core.settings import InsightSettings

    # The task runner the settings ask for (INSIGHT_TASK_RUNNER=dask), as `insight run` does.
    settings = InsightSettings()
    flow = configured(nightly, settings)
    started = time.perf_counter()
    summary = flow(run_date=date.fromisoformat(day), source=source, mode=mode)
    result = {
        **summary.as_dict(),
        "flow_seconds": time.perf_counter() - started,
        # what the machine allowed this process (derived unless set)
        "parallelism": {
            k: v for k, v in asdict(parallelism(settings)).items() if k != "available_bytes"
        },
    }
    Path(summary_file).write_text(json.dumps(result))


def run_size(
    n: int, workdir: Path, corpus: str = "demo", profile: Path | None = None, attempt: int = 1
) -> dict[str, object]:
    home = workdir / f"home-{n}-{attempt}"
    training_day = RUN_DATE - timedelta(days=1)
    _write_logs(workdir / f"train-{n}.jsonl", 2000, training_day, seed=101)
    _nightly_in_subprocess(
        home, training_day, workdir / f"train-{n}.jsonl", "fit", workdir / "train-summary.json"
    )
    shutil.rmtree(home / "cache")  # measure real embedding work, not cache hits

    source = workdir / f"night-{n}.jsonl"
    _write_logs(source, n, RUN_DATE, seed=202, corpus=corpus)
    summary_file = workdir / f"summary-{n}.json"
    process_seconds, memory = _nightly_in_subprocess(
        home, RUN_DATE, source, "infer", summary_file, profile
    )
    summary = json.loads(summary_file.read_text())
    wall = summary["flow_seconds"]
    per_stage = {
        stage: round(summary["rows_read"] / seconds, 1) if seconds > 0 else None
        for stage, seconds in summary["stage_seconds"].items()
    }
    return {
        "corpus": corpus,
        "prompts": n,
        "parallelism": summary.get("parallelism"),
        "loaded": summary["rows_loaded"],
        "embedded_new": summary["rows_embedded_new"],
        "escalated_to_transformer": summary.get("rows_escalated"),
        "flow_seconds": round(wall, 1),
        "process_seconds_incl_startup": round(process_seconds, 1),
        "prompts_per_second_end_to_end": round(n / wall, 1),
        "stage_seconds": summary["stage_seconds"],
        "prompts_per_second_by_stage": per_stage,
        "peak_rss_mb": round(memory.peak / 2**20),
        "peak_rss_with_worker_processes_mb": round(memory.peak_with_helpers / 2**20),
        "rss_mb_by_tenth_of_run": memory.deciles(),
    }


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--one-night":
        _one_night(*sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000])
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="nights per size, each in a fresh home (a short night's peak RSS varies run to run)",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the temporary homes.")
    parser.add_argument(
        "--corpus",
        choices=["demo", "real"],
        default="demo",
        help="'real': unique variations of the real-length texts in ../shared/data",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="write a py-spy profile here (collapsed stacks if it ends in .txt, else speedscope)",
    )
    args = parser.parse_args()

    from insight_core.environment import apply_runtime_defaults
    from insight_core.settings import InsightSettings

    workdir = Path(tempfile.mkdtemp(prefix="insight-bench-"))
    apply_runtime_defaults(InsightSettings(home=workdir / "shared"))
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    results = [
        run_size(n, workdir, args.corpus, args.profile, attempt)
        for n in args.sizes
        for attempt in range(1, args.repeat + 1)
    ]
    for result in results:
        print(json.dumps(result, indent=2))
    print(
        "\n| prompts | end-to-end prompts/s | peak RSS (MB) | "
        + " | ".join(f"{s} p/s" for s in results[0]["prompts_per_second_by_stage"])
        + " |"
    )
    for result in results:
        stages = result["prompts_per_second_by_stage"]
        print(
            f"| {result['prompts']} | {result['prompts_per_second_end_to_end']} | "
            f"{result['peak_rss_mb']} | " + " | ".join(str(v) for v in stages.values()) + " |"
        )
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
