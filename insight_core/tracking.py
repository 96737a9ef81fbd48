"""Experiment tracking: the only module that talks to MLflow.

One MLflow run per flow run, holding parameters, metrics and artifacts. The tracking URI
defaults to SQLite under ``INSIGHT_HOME`` and can point at an MLflow server instead.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MAX_PARAM_CHARS = 6000


class Tracker:
    """A thin wrapper around ``MlflowClient`` bound to one experiment."""

    def __init__(self, tracking_uri: str, experiment: str, artifact_dir: Path | None) -> None:
        from mlflow.tracking import MlflowClient

        if tracking_uri.startswith("sqlite:///"):
            Path(tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.tracking_uri = tracking_uri
        self.client = MlflowClient(tracking_uri=tracking_uri)
        found = self.client.get_experiment_by_name(experiment)
        if found is None:
            location = None
            if artifact_dir is not None and tracking_uri.startswith("sqlite:"):
                artifact_dir.mkdir(parents=True, exist_ok=True)
                location = artifact_dir.as_uri()
            self.experiment_id = self.client.create_experiment(
                experiment, artifact_location=location
            )
        else:
            self.experiment_id = found.experiment_id

    def start_run(self, run_name: str, tags: Mapping[str, str] | None = None) -> str:
        """Open a run and return its id."""
        run = self.client.create_run(self.experiment_id, run_name=run_name, tags=dict(tags or {}))
        return str(run.info.run_id)

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        entries = [Param(str(k), str(v)[:MAX_PARAM_CHARS]) for k, v in params.items()]
        if entries:
            self.client.log_batch(run_id, params=entries)

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int = 0) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        entries = [Metric(str(k), float(v), now, step) for k, v in metrics.items() if v is not None]
        for start in range(0, len(entries), 900):
            self.client.log_batch(run_id, metrics=entries[start : start + 900])

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_tag(run_id, key, value)

    def log_files(self, run_id: str, files: Mapping[str, str | bytes]) -> None:
        """Log in-memory contents as artifacts named by their keys."""
        with tempfile.TemporaryDirectory() as tmp:
            for name, content in files.items():
                target = Path(tmp) / name
                if isinstance(content, bytes):
                    target.write_bytes(content)
                else:
                    target.write_text(content, encoding="utf-8")
                self.client.log_artifact(run_id, str(target))

    def log_json(self, run_id: str, name: str, payload: Any) -> None:
        self.log_files(run_id, {name: json.dumps(payload, indent=2, default=str)})

    def end_run(self, run_id: str, succeeded: bool) -> None:
        self.client.set_terminated(run_id, status="FINISHED" if succeeded else "FAILED")

    def run_url(self, run_id: str) -> str:
        """Where to find the run: a UI link for a server, the store otherwise."""
        if self.tracking_uri.startswith("http"):
            base = self.tracking_uri.rstrip("/")
            return f"{base}/#/experiments/{self.experiment_id}/runs/{run_id}"
        return f"{self.tracking_uri} (experiment {self.experiment_id}, run {run_id})"
