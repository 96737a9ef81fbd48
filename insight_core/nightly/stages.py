"""The nightly run's stages in one namespace, for callers that want them all.

Each stage lives in its own module (``intake``, ``redaction``, ``model_stages``, ``categories``,
``publication``), with how a run begins (``run_start``) and ends (``run_end``); each Prefect task
in ``tasks/nightly.py`` calls one of them directly.
"""

from __future__ import annotations

from insight_core.nightly.categories import categorize
from insight_core.nightly.intake import deduplicate, ingest, validate
from insight_core.nightly.model_stages import assign_topics, embed, prepare_model
from insight_core.nightly.publication import Publication, prepare_publication, publish
from insight_core.nightly.redaction import redact
from insight_core.nightly.run_end import (
    cancel_run,
    cleanup,
    describe_error,
    fail_run,
    record_late_warnings,
    record_outcomes,
)
from insight_core.nightly.run_start import begin_run, discard_stale_texts, recover_crashed_runs
from insight_core.nightly.stage_files import redacted_quarantine

# The name the redaction tests know it by.
_redacted_quarantine = redacted_quarantine

__all__ = [
    "Publication",
    "assign_topics",
    "begin_run",
    "cancel_run",
    "categorize",
    "cleanup",
    "deduplicate",
    "describe_error",
    "discard_stale_texts",
    "embed",
    "fail_run",
    "ingest",
    "prepare_model",
    "prepare_publication",
    "publish",
    "record_late_warnings",
    "record_outcomes",
    "recover_crashed_runs",
    "redact",
    "redacted_quarantine",
    "validate",
]
