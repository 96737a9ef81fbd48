"""Experiment tracking: the only module that talks to MLflow.

One MLflow run per flow run, holding parameters, metrics and artifacts. The tracking URI
defaults to SQLite under ``INSIGHT_HOME`` and can point at an MLflow server instead.
"""

from __future__ import annotations

import functools
import json
import logging
import shutil
import tempfile
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from insight_core.interrupts import shielded
from insight_core.settings import InsightSettings

log = logging.getLogger(__name__)


class _Shielded:
    """An ``MlflowClient`` whose calls a stop signal does not cut short.

    A signal raised inside a SQLite statement leaves MLflow's pooled connection mid-
    transaction, holding the database lock, and every later call in the process (recording the
    run as cancelled) then fails with "database is locked". Each call is short, so the signal
    waits for it (:func:`insight_core.interrupts.shielded`).
    """

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        @functools.wraps(attribute)
        def call(*args: Any, **kwargs: Any) -> Any:
            with shielded():
                return attribute(*args, **kwargs)

        return call


MAX_PARAM_CHARS = 6000


class Tracker:
    """A thin wrapper around ``MlflowClient`` bound to one experiment."""

    def __init__(self, tracking_uri: str, experiment: str, artifact_dir: Path | None) -> None:
        from mlflow.tracking import MlflowClient

        if tracking_uri.startswith("sqlite:///"):
            Path(tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.tracking_uri = tracking_uri
        with shielded():  # creating the client may migrate the SQLite database
            self.client = _Shielded(MlflowClient(tracking_uri=tracking_uri))
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

    def close_abandoned_runs(
        self, insight_run_id: str, reason: str = "process died mid-run", status: str = "crashed"
    ) -> list[str]:
        """Close as KILLED the MLflow runs of an engine run that stopped before it finished
        (its process died, or a signal cancelled it); returns them."""
        from mlflow.entities import RunStatus

        if "'" in insight_run_id:  # run ids are date-hex; anything else cannot be ours
            return []
        found = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`insight.run_id` = '{insight_run_id}'",
        )
        closed = []
        for run in found:
            if run.info.status == RunStatus.to_string(RunStatus.RUNNING):
                self.client.set_tag(run.info.run_id, "insight.error", reason)
                self.client.set_tag(run.info.run_id, "insight.status", status)
                self.client.set_terminated(run.info.run_id, status="KILLED")
                closed.append(str(run.info.run_id))
        return closed


def open_tracker(settings: InsightSettings) -> Tracker:
    """The tracker of the configured tracking URI, experiment and artifact folder."""
    return Tracker(settings.tracking_uri, settings.mlflow_experiment, settings.mlflow_artifact_dir)


def open_registry(settings: InsightSettings) -> ModelRegistry:
    """The registered model named by settings, on the configured tracking server."""
    return ModelRegistry(settings.tracking_uri, settings.model_registry_name)


CHAMPION_ALIAS = "champion"
BUNDLE_ARTIFACT = "bundle"


class ModelRegistry:
    """The MLflow model registry entry of the engine: versions, the champion alias, bundles."""

    def __init__(self, tracking_uri: str, name: str) -> None:
        from mlflow.tracking import MlflowClient

        self.tracking_uri = tracking_uri
        self.name = name
        with shielded():
            self.client = _Shielded(MlflowClient(tracking_uri=tracking_uri))

    def _ensure_registered(self) -> None:
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(self.name)
        except MlflowException:
            self.client.create_registered_model(
                self.name, description="Employee Insight Engine: topic model + category head"
            )

    def log_and_register(
        self,
        run_id: str,
        bundle_dir: Path,
        bundle_version: str,
        tags: Mapping[str, str],
        python_model: Any,
    ) -> str:
        """Log the bundle as a pyfunc model in ``run_id`` and register it; returns the version.

        ``python_model`` is the pyfunc wrapper (``insight_core.lifecycle.pyfunc``): passed in so
        that this module stays below inference in the layers.
        """
        import mlflow
        import mlflow.pyfunc

        mlflow.set_tracking_uri(self.tracking_uri)
        # MLflow warns about pickling the wrapper and missing type hints: neither applies (the
        # wrapper holds no state; the bundle files are the model), so keep run logs clean.
        mlflow_logger = logging.getLogger("mlflow")
        level = mlflow_logger.level
        mlflow_logger.setLevel(logging.ERROR)
        # (MLflow re-enables its own UserWarnings with simplefilter("once"), so filters alone
        # do not silence them; showwarning is restored by catch_warnings on exit.)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.showwarning = lambda *args, **kwargs: None
            # Shielded like every MLflow call (see _Shielded); a stop waits for the upload.
            with shielded(), mlflow.start_run(run_id=run_id):
                info = mlflow.pyfunc.log_model(
                    name="insight-model",
                    python_model=python_model,
                    artifacts={BUNDLE_ARTIFACT: str(bundle_dir)},
                    pip_requirements=["employee-insight-engine"],
                )
        mlflow_logger.setLevel(level)
        self._ensure_registered()
        version = self.client.create_model_version(
            self.name,
            source=info.model_uri,
            run_id=run_id,
            tags={"bundle_version": bundle_version, **tags},
        )
        return str(version.version)

    def champion(self) -> tuple[str, str] | None:
        """(registry version, bundle version) of the champion, or None before the first one."""
        from mlflow.exceptions import MlflowException

        try:
            version = self.client.get_model_version_by_alias(self.name, CHAMPION_ALIAS)
        except MlflowException:
            return None
        return str(version.version), str(version.tags.get("bundle_version", ""))

    def bundle_version(self, version: str) -> str:
        return str(self.client.get_model_version(self.name, version).tags["bundle_version"])

    def set_champion(self, version: str, reason: str) -> None:
        """Point the champion alias at ``version``, remembering the previous champion."""
        previous = self.champion()
        if previous is not None and previous[0] != version:
            self.client.set_model_version_tag(self.name, version, "previous_champion", previous[0])
        self.client.set_registered_model_alias(self.name, CHAMPION_ALIAS, version)
        self.client.set_model_version_tag(self.name, version, "promotion", reason[:4000])

    def tag(self, version: str, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_model_version_tag(self.name, version, key, str(value)[:4000])

    def versions(self) -> list[dict[str, Any]]:
        """Every registered version, newest first, with its tags and aliases."""
        from mlflow.exceptions import MlflowException

        try:
            found = self.client.search_model_versions(f"name = '{self.name}'")
            # search_model_versions leaves ``aliases`` empty (MLflow fills it only on single
            # lookups): take them from the registered model, alias -> version.
            registered_aliases = self.client.get_registered_model(self.name).aliases or {}
        except MlflowException:
            return []
        aliases: dict[str, list[str]] = {}
        for alias, version in sorted(registered_aliases.items()):
            aliases.setdefault(str(version), []).append(alias)
        return sorted(
            (
                {
                    "version": str(v.version),
                    "aliases": aliases.get(str(v.version), []),
                    "tags": dict(v.tags),
                    "created": v.creation_timestamp,
                    "run_id": v.run_id,
                }
                for v in found
            ),
            key=lambda v: int(v["version"]),
            reverse=True,
        )

    def download_bundle(self, version: str, destination: Path) -> Path:
        """Copy a registered version's bundle into ``destination`` (for remote registries)."""
        import mlflow

        with tempfile.TemporaryDirectory() as tmp, shielded():
            local = Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=f"models:/{self.name}/{version}",
                    dst_path=tmp,
                    tracking_uri=self.tracking_uri,
                )
            )
            source = next(local.rglob("manifest.json")).parent
            destination.parent.mkdir(parents=True, exist_ok=True)
            staging = destination.with_name(destination.name + ".partial")
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(source, staging)
            staging.replace(destination)
        return destination
