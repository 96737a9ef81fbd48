"""The DuckDB warehouse: migrations, per-date storage, models, checks and atomic publication.

Storage: per-prompt rows live in immutable per-date Parquet files beside the warehouse file
(:mod:`~insight_core.warehouse.partitions`); the DuckDB file is a small catalog holding views
over them, the configuration and runs, and the aggregates the SQL models maintain
(:mod:`~insight_core.warehouse.models`). See docs/architecture.md, "Warehouse storage".

Publication (:mod:`~insight_core.warehouse.publish`): a run never writes to the published
catalog. It works in a staging copy (:mod:`~insight_core.warehouse.staging`), runs the checks
(:mod:`~insight_core.warehouse.checks`, partly generated from the privacy declarations of every
``analytics`` relation, :mod:`~insight_core.warehouse.declarations`), and only then replaces
the published catalog atomically, with the analyst copy beside it
(:mod:`~insight_core.warehouse.export`). Readers use :mod:`~insight_core.warehouse.reading`.
"""

from insight_core.warehouse.checks import check_queries, run_checks
from insight_core.warehouse.declarations import analytics_relations
from insight_core.warehouse.export import export_analytics
from insight_core.warehouse.lookup import LoadedIdLookup, look_up_loaded_ids
from insight_core.warehouse.migrations import apply_migrations, migration_files
from insight_core.warehouse.models import build_models, model_files
from insight_core.warehouse.partitions import PartitionFiles, partitions_root
from insight_core.warehouse.publish import (
    PublishRequest,
    loaded_rows,
    publish_run,
    refuse_fewer_rows,
)
from insight_core.warehouse.reading import (
    connect_read_only,
    published_alerts,
    query,
    run_published,
)
from insight_core.warehouse.runs import record_failed_run, record_runs
from insight_core.warehouse.sql import named_query
from insight_core.warehouse.staging import discard_stale_staging, publish_lock, staged_build

__all__ = [
    "LoadedIdLookup",
    "PartitionFiles",
    "PublishRequest",
    "analytics_relations",
    "apply_migrations",
    "build_models",
    "check_queries",
    "connect_read_only",
    "discard_stale_staging",
    "export_analytics",
    "loaded_rows",
    "look_up_loaded_ids",
    "migration_files",
    "model_files",
    "named_query",
    "partitions_root",
    "publish_lock",
    "publish_run",
    "published_alerts",
    "query",
    "record_failed_run",
    "record_runs",
    "refuse_fewer_rows",
    "run_checks",
    "run_published",
    "staged_build",
]
