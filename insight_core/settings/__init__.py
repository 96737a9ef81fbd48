"""The one typed settings object of the engine.

Every value can be set through an ``INSIGHT_``-prefixed environment variable (nested values
with ``__``, e.g. ``INSIGHT_TOPICS__UMAP_N_NEIGHBORS=20``) or a ``.env`` file. Building the
object has no side effects: directories are created by the code that writes into them.

Settings a user chooses (where data is, secrets, thresholds, schedules, servers) are listed in
docs/configuration.md. Tuning knobs the engine decides for itself are marked with
:func:`advanced`: they still override the engine's choice, but are not listed there (their
measurements are in docs/benchmarks.md). Parallelism left unset (None) is derived from the
machine by ``insight_core.environment.parallelism``.

The package's rooms: :mod:`~insight_core.settings.insight` (``InsightSettings`` and the
model names it defaults to), :mod:`~insight_core.settings.topics` (``TopicSettings``) and
:mod:`~insight_core.settings.fields` (:func:`advanced`, :func:`resource_path`).
"""

from insight_core.settings.fields import advanced, is_advanced, resource_path
from insight_core.settings.insight import (
    ADAPTED_BUNDLED_MODEL,
    BUNDLED_MODEL,
    DEMO_USER_HASH_SECRET,
    InsightSettings,
)
from insight_core.settings.topics import TopicSettings

__all__ = [
    "ADAPTED_BUNDLED_MODEL",
    "BUNDLED_MODEL",
    "DEMO_USER_HASH_SECRET",
    "InsightSettings",
    "TopicSettings",
    "advanced",
    "is_advanced",
    "resource_path",
]
