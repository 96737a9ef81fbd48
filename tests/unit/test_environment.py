"""Process defaults set by the entry points: offline, memory limits, state under the home."""

from __future__ import annotations

from pathlib import Path

import pytest

from insight_core.environment import MEMORY_DEFAULTS, OFFLINE_DEFAULTS, apply_runtime_defaults
from insight_core.settings import InsightSettings

pytestmark = pytest.mark.unit

SET_BY_DEFAULTS = [
    *OFFLINE_DEFAULTS,
    *MEMORY_DEFAULTS,
    "PREFECT_HOME",
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_DATASETS_OFFLINE",
]


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    # Deleting through monkeypatch also removes, after the test, what the defaults added.
    for key in SET_BY_DEFAULTS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    return monkeypatch


def test_memory_limits_are_set_for_the_run_and_its_child_processes(
    clean_environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import os

    apply_runtime_defaults(InsightSettings(home=tmp_path))
    assert os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == "64"
    assert os.environ["MALLOC_ARENA_MAX"] == "2"
    assert os.environ["TOKENIZERS_PARALLELISM"] == "false"
    assert os.environ["PREFECT_HOME"] == str((tmp_path / "prefect").resolve())


def test_a_users_own_values_are_kept(clean_environment: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    clean_environment.setenv("MALLOC_ARENA_MAX", "8")
    clean_environment.setenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "1024")
    apply_runtime_defaults(InsightSettings(home=tmp_path))
    assert os.environ["MALLOC_ARENA_MAX"] == "8"
    assert os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == "1024"


# ---- derived parallelism ----------------------------------------------------------------

GB = 1024**3


@pytest.mark.parametrize(
    ("cpus", "threads", "passes", "per_pass", "processes"),
    [
        (1, 1, 1, 1, 1),  # one CPU: everything in line, redaction in the run's own process
        (2, 2, 2, 1, 1),  # the reference machine: redaction in the run's process (measured)
        (3, 3, 3, 1, 2),  # one core stays with the run's process
        (4, 4, 4, 1, 3),
        (16, 16, 16, 1, 15),  # a 16-core box uses its cores without a setting
    ],
)
def test_parallelism_follows_the_cpus_when_memory_is_ample(
    cpus: int, threads: int, passes: int, per_pass: int, processes: int
) -> None:
    from insight_core.environment import derive_parallelism

    plan = derive_parallelism(cpus, 24 * GB)
    assert plan.cpus == plan.torch_threads == cpus
    assert plan.chunk_threads == threads
    assert plan.concurrent_passes == passes
    assert plan.torch_threads_per_pass == per_pass
    assert plan.redaction_processes == processes
    assert plan.dask_workers == cpus


def test_small_memory_holds_fewer_chunks_and_no_redaction_processes() -> None:
    from insight_core.environment import (
        CHUNK_THREAD_BYTES,
        REDACTION_PROCESS_BYTES,
        RUN_BASE_BYTES,
        derive_parallelism,
    )

    # 16 CPUs, but memory for the run and three more chunks only
    plan = derive_parallelism(16, RUN_BASE_BYTES + 3 * CHUNK_THREAD_BYTES)
    assert plan.chunk_threads == plan.concurrent_passes == 4
    assert plan.torch_threads == 16 and plan.torch_threads_per_pass == 4
    assert plan.redaction_processes == 1
    assert plan.dask_workers == 1
    # less than one run's worth: still one of each, never zero
    tiny = derive_parallelism(4, 256 * 1024**2)
    assert (tiny.chunk_threads, tiny.concurrent_passes, tiny.redaction_processes) == (1, 1, 1)
    assert tiny.torch_threads == 4 and tiny.dask_workers == 1
    # 3 CPUs with room for two more chunks and two redaction processes, then one less
    room = RUN_BASE_BYTES + 2 * CHUNK_THREAD_BYTES + 2 * REDACTION_PROCESS_BYTES
    assert derive_parallelism(3, room).chunk_threads == 3
    assert derive_parallelism(3, room).redaction_processes == 2
    assert derive_parallelism(3, room - 1).redaction_processes == 1


def test_explicit_settings_override_what_the_machine_would_choose() -> None:
    from insight_core.environment import derive_parallelism

    plan = derive_parallelism(
        16, 24 * GB, chunk_threads=3, concurrent_passes=2, redaction_processes=1, torch_threads=8
    )
    assert (plan.chunk_threads, plan.concurrent_passes, plan.redaction_processes) == (3, 2, 1)
    assert plan.torch_threads_per_pass == 4
    # torch threads set alone: the passes follow them, never more passes than threads
    assert derive_parallelism(16, 24 * GB, torch_threads=4).concurrent_passes == 4


def test_parallelism_reads_the_settings_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    from insight_core.environment import parallelism, usable_cpus

    monkeypatch.setenv("INSIGHT_CHUNK_THREADS", "5")
    monkeypatch.setenv("INSIGHT_REDACTION_PROCESSES", "3")
    plan = parallelism(InsightSettings())
    assert (plan.chunk_threads, plan.redaction_processes) == (5, 3)
    assert plan.cpus == usable_cpus() >= 1


def _cgroup(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text + "\n")
    return root


def test_a_cgroup_cpu_quota_bounds_the_usable_cpus(tmp_path: Path) -> None:
    import os

    from insight_core.environment import cgroup_cpu_quota, usable_cpus

    affinity = len(os.sched_getaffinity(0))
    v2 = _cgroup(tmp_path / "v2", {"cpu.max": "150000 100000"})
    assert cgroup_cpu_quota(v2) == 1.5
    assert usable_cpus(v2) == min(affinity, 2)  # 1.5 CPUs' time: two threads may share it
    assert cgroup_cpu_quota(_cgroup(tmp_path / "none", {"cpu.max": "max 100000"})) is None
    v1 = _cgroup(
        tmp_path / "v1", {"cpu/cpu.cfs_quota_us": "100000", "cpu/cpu.cfs_period_us": "100000"}
    )
    assert cgroup_cpu_quota(v1) == 1.0 and usable_cpus(v1) == 1
    unlimited = _cgroup(
        tmp_path / "v1-unlimited",
        {"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"},
    )
    assert cgroup_cpu_quota(unlimited) is None and usable_cpus(unlimited) == affinity
    assert usable_cpus(tmp_path / "missing") == affinity


def test_a_cgroup_memory_limit_bounds_the_available_memory(tmp_path: Path) -> None:
    import psutil

    from insight_core.environment import available_memory

    machine = psutil.virtual_memory().available
    v2 = _cgroup(tmp_path / "v2", {"memory.max": str(2 * GB), "memory.current": str(GB // 2)})
    assert available_memory(v2) == min(machine, 2 * GB - GB // 2)
    v1 = _cgroup(
        tmp_path / "v1",
        {"memory/memory.limit_in_bytes": str(GB), "memory/memory.usage_in_bytes": str(GB)},
    )
    assert available_memory(v1) == 0
    unlimited = _cgroup(tmp_path / "max", {"memory.max": "max", "memory.current": "1"})
    assert abs(available_memory(unlimited) - machine) < GB  # the machine's, read again
