"""The demo flow: a month of a fictional company, one nightly subflow per day and a refit
midway, so the whole month shows in the Prefect UI like production nights would. Wiring only."""

from __future__ import annotations

from datetime import date

from prefect import flow

from flows.lifecycle import refit
from flows.nightly import night_summary, nightly
from flows.runners import configured
from insight_core.nightly.summary import RunSummary
from insight_core.settings import InsightSettings
from tasks import demo as t


@flow(name="insight-demo", flow_run_name="demo-{start}-{days}d", log_prints=False)
def demo(
    start: date, days: int = 30, users: int = 600, seed: int = 7, refit_after: int = 7
) -> list[RunSummary]:
    """Generate ``days`` of logs from ``start`` and run the nightly flow on each day in order.

    After ``refit_after`` days (0: never) the topic model is refitted on those days, as the
    weekly refit would. Each night prints one progress line.
    """
    settings = InsightSettings()
    dataset = t.generate_demo_logs(settings.home / "demo", start, days, seed, users)
    print(
        f"generated {dataset.n_prompts} prompts over {days} days in {dataset.root} "
        f"(ground truth: {dataset.ground_truth_file.name})",
        flush=True,
    )
    run_night = configured(nightly, settings)
    summaries: list[RunSummary] = []
    for index, (day, log_file) in enumerate(zip(dataset.dates, dataset.log_files, strict=True)):
        if refit_after and index == refit_after:
            result = refit(end=dataset.dates[index - 1], window_days=index)
            print(
                f"refit after {index} days: challenger version {result.registry_version} "
                f"{result.decision.summary()}",
                flush=True,
            )
        summary = night_summary(run_night(run_date=day, source=str(log_file)))
        summaries.append(summary)
        print(f"[{index + 1}/{days}] {summary.progress_line()}", flush=True)
        for alert in summary.new_alerts:
            print(f"  new alert: {alert.get('headline')}", flush=True)
    return summaries
