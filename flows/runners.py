"""Which Prefect task runner the flows use: threads by default, Dask when configured."""

from __future__ import annotations

from typing import Any, ParamSpec, TypeVar

from prefect import Flow
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from insight_core.environment import parallelism
from insight_core.settings import InsightSettings

P = ParamSpec("P")
R = TypeVar("R")


def as_flow_runner(runner: TaskRunner[Any]) -> TaskRunner[PrefectFuture[Any]]:
    """``runner`` as a flow takes it: Prefect types a flow's runner with its generic future
    type, which no concrete runner's (invariant) type matches."""
    return runner


def configured(flow: Flow[P, R], settings: InsightSettings) -> Flow[P, R]:
    """``flow`` with the task runner the settings ask for.

    Threads by default: the chunks of a stage in flight at once in this process, one per CPU
    the process may use as memory allows (``insight_core.environment.parallelism``), or
    ``INSIGHT_CHUNK_THREADS``.

    With ``INSIGHT_TASK_RUNNER=dask`` the chunks of each stage fan out over a Dask cluster:
    the one at ``INSIGHT_DASK_ADDRESS`` or, without it, a local cluster of single-threaded
    worker processes started for the run (one per CPU as memory allows, or
    ``INSIGHT_DASK_WORKERS``). Workers read and write the run's chunk files, so they need the
    same INSIGHT_HOME (a shared volume on a real cluster).
    """
    plan = parallelism(settings)
    if settings.task_runner != "dask":
        threads: ThreadPoolTaskRunner[Any] = ThreadPoolTaskRunner(max_workers=plan.chunk_threads)
        return flow.with_options(task_runner=as_flow_runner(threads))
    from prefect_dask.task_runners import DaskTaskRunner  # optional: only with Dask

    if settings.dask_address:
        runner = DaskTaskRunner(address=settings.dask_address)
    else:
        runner = DaskTaskRunner(
            cluster_kwargs={
                "n_workers": plan.dask_workers,
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": None,
            }
        )
    return flow.with_options(task_runner=as_flow_runner(runner))
