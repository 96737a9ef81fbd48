"""How every Prefect task of the project caches and retries, in one place.

Stages pass small file references, so Prefect's input hashing and result persistence add
nothing: the embedding cache is what makes reruns cheap. Retries with backoff only where a
failure can be transient (reading the source, loading a model, writing to MLflow or the
warehouse file); never for validation or a configuration error, which would fail the same way
again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun
from prefect.tasks import Task

from insight_core.errors import InsightError
from insight_core.interrupts import stop_requested

P = ParamSpec("P")
R = TypeVar("R")


def retry_unless_permanent(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Retry unexpected errors (I/O, locks, servers); an InsightError is final, and nothing is
    retried once the run is stopping (a signal came: its work folder is going away)."""
    return not isinstance(state.data, InsightError) and not stop_requested()


def project_task(name: str, *, transient: bool = False) -> Callable[[Callable[P, R]], Task[P, R]]:
    """The ``@task`` of one step: never cached or persisted; retried twice (after 2 s and 10 s)
    when ``transient`` and the error may pass."""
    if transient:
        return task(
            name=name,
            cache_policy=NO_CACHE,
            persist_result=False,
            retries=2,
            retry_delay_seconds=[2, 10],
            retry_condition_fn=retry_unless_permanent,
        )
    return task(name=name, cache_policy=NO_CACHE, persist_result=False)
