"""Process environment defaults that keep the engine offline and its state under one home.

Entry points (CLI, deployments, benchmarks) call :func:`apply_runtime_defaults` once before
importing Prefect or MLflow. Values a user already set are never overridden.
"""

from __future__ import annotations

import os

from insight_core.nlp.embed import resolve_model
from insight_core.settings import InsightSettings

OFFLINE_DEFAULTS = {
    # No usage telemetry to Prefect, MLflow or Hugging Face: offline by default.
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
    # Model loading is quick and local: no per-file progress bars in the nightly logs.
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "MLFLOW_LOGGING_LEVEL": "WARNING",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    # Our own loggers' progress lines appear in Prefect's task logs.
    "PREFECT_LOGGING_EXTRA_LOGGERS": "insight_core",
    # The temporary local Prefect server migrates a new database on a fresh home: about 30 s
    # on a small machine, more under load, while Prefect gives up after 20 s by default.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",
}


def apply_runtime_defaults(settings: InsightSettings) -> None:
    """Set offline and local-state defaults in ``os.environ`` (never overriding the user)."""
    for key, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(key, value)
    # Without a Prefect server configured, the temporary local server keeps its database
    # under INSIGHT_HOME like every other piece of runtime state.
    if "PREFECT_API_URL" not in os.environ and "PREFECT_HOME" not in os.environ:
        prefect_home = (settings.home / "prefect").resolve()
        prefect_home.mkdir(parents=True, exist_ok=True)
        os.environ["PREFECT_HOME"] = str(prefect_home)
    # The embedding model only needs the hub when the user named a hub model.
    _, offline, _ = resolve_model(settings.embedding_model)
    if offline:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "0" if not offline else "1")
