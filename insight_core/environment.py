"""The process's environment: offline and memory defaults, and the parallelism the machine
allows.

Entry points (CLI, deployments, benchmarks) call :func:`apply_runtime_defaults` once before
importing Prefect or MLflow. Values a user already set are never overridden.

:func:`parallelism` derives chunk threads, concurrent transformer passes, redaction processes,
torch threads and local Dask workers from the CPUs this process may use and the memory
available to it; an explicit setting overrides each (see :func:`derive_parallelism`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import math
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import psutil

from insight_core.nlp.embed import resolve_model
from insight_core.settings import InsightSettings

log = logging.getLogger(__name__)

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
# thread a heap arena of its own whose freed pages stay with it. Both let a night's RSS grow
# with the night's length. A cache of 64 kernels keeps most of the cache's speed (no cache at
# all slows the cascade's categories stage).
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
    library = ctypes.util.find_library("c")
    if not library or not value.isdigit() or int(value) < 1:
        return
    try:
        ctypes.CDLL(library).mallopt(_M_ARENA_MAX, int(value))
    except (OSError, AttributeError):
        return


# ---- parallelism ------------------------------------------------------------------------

CGROUP_ROOT = Path("/sys/fs/cgroup")
MIB = 1024 * 1024
# Memory of one run process (docs/benchmarks.md, "Derived parallelism"): the base is the
# process with its models loaded and one chunk in flight; each further chunk in flight and each
# redaction process (it holds the name lists) adds a unit. The units carry a margin for long
# prompts.
RUN_BASE_BYTES = 1200 * MIB
CHUNK_THREAD_BYTES = 64 * MIB
REDACTION_PROCESS_BYTES = 128 * MIB
# The settings' own upper bound: beyond it a process or thread adds start-up, not speed.
MOST_PARALLEL = 64


@dataclass(frozen=True)
class Parallelism:
    """How much work one run process does at once (see :func:`derive_parallelism`)."""

    cpus: int
    available_bytes: int
    chunk_threads: int
    concurrent_passes: int
    redaction_processes: int
    torch_threads: int
    dask_workers: int

    @property
    def torch_threads_per_pass(self) -> int:
        """torch threads of each of the concurrent transformer passes."""
        return max(1, self.torch_threads // self.concurrent_passes)


def derive_parallelism(
    cpus: int,
    available_bytes: int,
    *,
    chunk_threads: int | None = None,
    concurrent_passes: int | None = None,
    redaction_processes: int | None = None,
    torch_threads: int | None = None,
    dask_workers: int | None = None,
) -> Parallelism:
    """The parallelism ``cpus`` usable CPUs and ``available_bytes`` of memory allow.

    A value given explicitly (an ``INSIGHT_*`` setting) is kept; each other is derived:

    * ``spare = max(0, available - 1200 MiB)``: the memory beyond one run process with its
      models loaded and one chunk in flight.
    * ``chunk_threads = clamp(cpus, 1, 1 + spare // 64 MiB)``: one chunk in flight per CPU
      (on 2 CPUs two were as fast as three or four and held less), fewer if memory is short.
    * ``torch_threads = cpus``: torch's own default counts the machine's cores, not a
      container's quota or the affinity mask, and would oversubscribe a restricted process.
    * ``concurrent_passes = min(chunk_threads, torch_threads)``, each pass on
      ``max(1, torch_threads // concurrent_passes)`` threads: on few cores, N one-thread passes
      side by side do more work per second than one pass on N threads (11 % faster on 2).
    * ``redaction_processes = min(cpus - 1, (spare - (chunk_threads - 1) * 64 MiB) // 128 MiB)``,
      and 1 (redact in the run's own process) when that is below 2: redaction is pure Python,
      so only processes use more than one core, but one core stays with the run's process and
      its transformer passes. On 2 CPUs two processes redacted 2.1x faster yet made the whole
      100k night no faster (177.8 s against 173.5 s in the run's process) and added 370 MB.
    * ``dask_workers = clamp(cpus, 1, available // 1200 MiB)``: single-threaded workers of a
      local cluster, each a run process of its own.

    Everything is capped at 64. Examples: 1 CPU gives 1/1/1/1; 2 CPUs with ample memory give
    2 chunk threads, 2 passes of 1 torch thread, redaction in the run's process; 16 CPUs give
    16 chunk threads, 16 passes, 15 redaction processes.
    """
    cpus = max(1, cpus)
    spare = max(0, available_bytes - RUN_BASE_BYTES)
    if chunk_threads is None:
        chunk_threads = _clamp(cpus, 1 + spare // CHUNK_THREAD_BYTES)
    if torch_threads is None:
        torch_threads = _clamp(cpus, MOST_PARALLEL)
    if concurrent_passes is None:
        concurrent_passes = _clamp(min(chunk_threads, torch_threads), MOST_PARALLEL)
    if redaction_processes is None:
        left = max(0, spare - (chunk_threads - 1) * CHUNK_THREAD_BYTES)
        processes = min(cpus - 1, left // REDACTION_PROCESS_BYTES, MOST_PARALLEL)
        redaction_processes = processes if processes >= 2 else 1
    if dask_workers is None:
        dask_workers = _clamp(cpus, available_bytes // RUN_BASE_BYTES)
    return Parallelism(
        cpus=cpus,
        available_bytes=available_bytes,
        chunk_threads=chunk_threads,
        concurrent_passes=concurrent_passes,
        redaction_processes=redaction_processes,
        torch_threads=torch_threads,
        dask_workers=dask_workers,
    )


def _clamp(value: int, most: int) -> int:
    return max(1, min(value, most, MOST_PARALLEL))


def parallelism(settings: InsightSettings) -> Parallelism:
    """The parallelism of this process: the settings' explicit values, the rest derived from
    :func:`usable_cpus` and :func:`available_memory` (probed and logged once per process)."""
    return _parallelism(
        settings.chunk_threads,
        settings.embedding_concurrent_passes,
        settings.redaction_processes,
        settings.torch_threads,
        settings.dask_workers,
    )


@cache
def _parallelism(
    chunk_threads: int | None,
    concurrent_passes: int | None,
    redaction_processes: int | None,
    torch_threads: int | None,
    dask_workers: int | None,
) -> Parallelism:
    derived = derive_parallelism(
        usable_cpus(),
        available_memory(),
        chunk_threads=chunk_threads,
        concurrent_passes=concurrent_passes,
        redaction_processes=redaction_processes,
        torch_threads=torch_threads,
        dask_workers=dask_workers,
    )
    log.info(
        "parallelism: %d CPUs, %.1f GB available -> %d chunk threads, %d transformer passes "
        "of %d torch threads, %d redaction processes",
        derived.cpus,
        derived.available_bytes / 1e9,
        derived.chunk_threads,
        derived.concurrent_passes,
        derived.torch_threads_per_pass,
        derived.redaction_processes,
    )
    return derived


def usable_cpus(cgroup_root: Path = CGROUP_ROOT) -> int:
    """CPUs this process may run on: its affinity mask (``taskset``, cpusets), further bounded
    by a cgroup CPU quota (``docker --cpus``, Kubernetes limits), rounded up.

    ``os.process_cpu_count`` would do the first part from Python 3.13 on; ``os.cpu_count``
    counts the machine's CPUs whatever the process may use.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cpus = os.cpu_count() or 1
    quota = cgroup_cpu_quota(cgroup_root)
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return max(1, cpus)


def cgroup_cpu_quota(cgroup_root: Path = CGROUP_ROOT) -> float | None:
    """CPUs' worth of time the process's cgroup may use per period; None without a quota.

    cgroup v2 writes ``<quota> <period>`` (or ``max <period>``) in ``cpu.max``; v1 has
    ``cpu.cfs_quota_us`` (-1: none) and ``cpu.cfs_period_us``.
    """
    for directory in _cgroup_dirs(cgroup_root, "cpu"):
        v2 = _read(directory / "cpu.max")
        if v2 is not None:
            quota, _, period = v2.partition(" ")
            if quota == "max" or not period:
                return None
            return int(quota) / int(period)
        v1_quota, v1_period = (
            _read(directory / "cpu.cfs_quota_us"),
            _read(directory / "cpu.cfs_period_us"),
        )
        if v1_quota is not None and v1_period is not None:
            return None if int(v1_quota) < 0 else int(v1_quota) / int(v1_period)
    return None


def available_memory(cgroup_root: Path = CGROUP_ROOT) -> int:
    """Bytes this process can still use: the machine's available memory (psutil), or less
    where a cgroup memory limit leaves less room (limit minus what the cgroup uses)."""
    available = int(psutil.virtual_memory().available)
    for directory in _cgroup_dirs(cgroup_root, "memory"):
        limit = _read(directory / "memory.max") or _read(directory / "memory.limit_in_bytes")
        used = _read(directory / "memory.current") or _read(directory / "memory.usage_in_bytes")
        if limit is None or used is None:
            continue
        # "max" (v2) or a page-rounded 2^63 (v1) mean no limit.
        if limit.isdigit() and int(limit) < 1 << 60:
            available = min(available, max(0, int(limit) - int(used)))
        break
    return available


def _cgroup_dirs(root: Path, controller: str) -> list[Path]:
    """Where the process's own cgroup files may be: its v2 or v1 (``controller``) cgroup path
    from ``/proc/self/cgroup``, then the mount's root (a container sees its own cgroup there)."""
    candidates: list[Path] = []
    own = _read(Path("/proc/self/cgroup")) if root == CGROUP_ROOT else None
    for line in (own or "").splitlines():
        _, controllers, path = line.split(":", 2)
        relative = path.lstrip("/")
        if not controllers:
            candidates.append(root / relative)
        elif controller in controllers.split(","):
            candidates.append(root / controllers / relative)
    candidates += [root, root / controller]
    return [directory for directory in dict.fromkeys(candidates) if directory.is_dir()]


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None
