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


# Memory across a long night (docs/benchmarks.md, "Memory across a night"): oneDNN keeps a
# compiled kernel per input shape it has seen (1,024 by default), and glibc gives each busy
# thread a heap arena of its own whose freed pages stay with it. Both grew a night's RSS with
# the night's length. A cache of 64 kernels keeps most of the cache's speed (no cache at all
# cost the cascade's categories stage 10%).
MEMORY_DEFAULTS = {
    "ONEDNN_PRIMITIVE_CACHE_CAPACITY": "64",
    "MALLOC_ARENA_MAX": "2",
}
_M_ARENA_MAX = -8  # glibc's mallopt parameter number


def apply_runtime_defaults(settings: InsightSettings) -> None:
    """Set offline, memory and local-state defaults in ``os.environ`` (never overriding the
    user), and cap this process's heap arenas as ``MALLOC_ARENA_MAX`` asks (glibc reads the
    variable only when a process starts, so this one is capped through ``mallopt``)."""
    for key, value in {**OFFLINE_DEFAULTS, **MEMORY_DEFAULTS}.items():
        os.environ.setdefault(key, value)
    _limit_heap_arenas(os.environ["MALLOC_ARENA_MAX"])
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


def _limit_heap_arenas(value: str) -> None:
    """glibc ``mallopt(M_ARENA_MAX, value)``; a no-op elsewhere (musl, macOS) or if invalid."""
    import ctypes
    import ctypes.util

    library = ctypes.util.find_library("c")
    if not library or not value.isdigit() or int(value) < 1:
        return
    try:
        ctypes.CDLL(library).mallopt(_M_ARENA_MAX, int(value))
    except (OSError, AttributeError):
        return
