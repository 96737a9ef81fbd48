"""What inference needs at run time, loaded once per process: the embedder, the embedding
cache, the decision configuration (taxonomy and rules), model bundles and the champion.

Nothing here trains: fitting lives in ``insight_core.lifecycle``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from filelock import FileLock

from insight_core.environment import parallelism
from insight_core.errors import ModelNotFoundError
from insight_core.modelling.bundle import (
    BundleCatalogue,
    ModelBundle,
    bundle_precision,
    load_bundle,
    read_bundle_catalogue,
    read_manifest,
)
from insight_core.nlp.embed import (
    ConcurrencyLimitedEmbedder,
    Embedder,
    EmbeddingCache,
    SentenceTransformerEmbedder,
    embedder_precision,
    load_embedder,
    resolve_model,
)
from insight_core.nlp.rules import RuleSet, load_rules
from insight_core.nlp.static import StaticEmbedder, distill_static_model
from insight_core.nlp.taxonomy import Taxonomy, load_taxonomy
from insight_core.registry import open_registry
from insight_core.settings import InsightSettings

log = logging.getLogger(__name__)


def open_embedding_cache(settings: InsightSettings) -> EmbeddingCache:
    """The on-disk embedding cache under ``INSIGHT_HOME``."""
    return EmbeddingCache(settings.cache_dir / "embeddings.sqlite")


# The caches below do not stop several threads from missing at once: the chunks of a stage
# start together, and each would load its own copy of the same models (CPU and memory spent
# for nothing). Loads go one at a time; the later threads then find the cached object.
_LOADING = threading.RLock()


def get_embedder(settings: InsightSettings) -> Embedder:
    """The configured embedder, loaded once per process.

    A transformer's passes in the calling thread use the process's torch threads (derived
    from the CPUs it may use unless set); ``shared_embedder`` gives each concurrent pass its
    share instead.
    """
    embedder = _configured_embedder(settings)
    if isinstance(embedder, SentenceTransformerEmbedder):
        _use_torch_threads(parallelism(settings).torch_threads)
    return embedder


def _configured_embedder(settings: InsightSettings) -> Embedder:
    with _LOADING:
        return load_embedder(
            settings.embedding_model,
            settings.embedding_batch_size,
            settings.embedding_max_tokens,
            settings.embedding_precision,
        )


def _use_torch_threads(threads: int) -> None:
    """Set torch's intra-op threads for the calling thread (torch keeps the count per thread
    once the thread has used it), if not already that many."""
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


@cache
def _embedding_slots(passes: int) -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(passes)


def shared_embedder(settings: InsightSettings) -> Embedder:
    """The configured embedder for chunks processed side by side in one process.

    At most ``concurrent_passes`` of its passes run at once, each on its share of the
    process's torch threads (set in whichever thread runs it): both derived from the machine
    unless set (``insight_core.environment.parallelism``). torch's own default would count the
    machine's cores, not those a container or ``taskset`` leaves this process.
    """
    # Not get_embedder: each pass sets its own share of the threads, in the thread that runs it.
    embedder = _configured_embedder(settings)
    plan = parallelism(settings)
    threads = None
    if isinstance(embedder, SentenceTransformerEmbedder):
        threads = plan.torch_threads_per_pass
    return ConcurrencyLimitedEmbedder(embedder, _embedding_slots(plan.concurrent_passes), threads)


def static_model_dir(settings: InsightSettings) -> Path:
    """Where the static model distilled from the configured transformer lives in the home."""
    _, _, model_id = resolve_model(settings.embedding_model)
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in model_id)
    return settings.models_dir / "static" / f"{name}-pca{settings.static_embedding_dims}"


def get_static_embedder(settings: InsightSettings) -> StaticEmbedder:
    """The cascade's static model, distilled from the transformer on first use (once per home).

    Concurrent first uses wait on a file lock; all but the first find the finished model.
    """
    directory = static_model_dir(settings)
    if not directory.exists():
        directory.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(directory) + ".lock"):
            if not directory.exists():
                distill_static_model(
                    settings.embedding_model, directory, settings.static_embedding_dims
                )
    with _LOADING:
        return _load_static(directory)


@lru_cache(maxsize=2)
def _load_static(directory: Path) -> StaticEmbedder:
    return StaticEmbedder(directory)


def get_topic_embedder(settings: InsightSettings) -> Embedder:
    """The embedder a new fit's topics use: the static model with the cascade on."""
    return get_static_embedder(settings) if settings.embedding_cascade else get_embedder(settings)


def load_decision_config(settings: InsightSettings) -> tuple[Taxonomy, RuleSet]:
    """Taxonomy and override rules named by settings."""
    taxonomy = load_taxonomy(settings.taxonomy_file)
    return taxonomy, load_rules(settings.rules_file, taxonomy.categories)


# Bundles already said to decide as fitted: once per process, not once per chunk.
_TOLD_AS_FITTED: set[object] = set()


def settings_as_fitted(settings: InsightSettings, manifest: dict[str, object]) -> InsightSettings:
    """``settings`` with the transformer a bundle was fitted with (model, token cut, precision).

    A bundle's heads read vectors of the space they were fitted in; after the embedding
    settings (or their defaults, on an upgrade) change, the champion keeps deciding with its
    own transformer until the next fit instead of reading another model's vectors. Bundles that
    do not record their transformer setting are returned ``settings`` unchanged.
    """
    model = manifest.get("embedding_model_setting")
    if not isinstance(model, str):
        return settings
    max_tokens = manifest.get("embedding_max_tokens")
    fitted = {
        "embedding_model": model,
        "embedding_max_tokens": max_tokens if isinstance(max_tokens, int) else None,
        "embedding_precision": bundle_precision(manifest),
    }
    current = {
        "embedding_model": settings.embedding_model,
        "embedding_max_tokens": settings.embedding_max_tokens,
        "embedding_precision": embedder_precision(
            settings.embedding_model, settings.embedding_precision
        ),
    }
    if fitted == current:
        return settings
    if manifest.get("version") not in _TOLD_AS_FITTED:
        _TOLD_AS_FITTED.add(manifest.get("version"))
        log.warning(
            "model %s was fitted with %s; the settings now say %s: it decides as fitted "
            "until the next fit (insight train, or the scheduled refit)",
            manifest.get("version"),
            fitted,
            current,
        )
    return settings.model_copy(update=fitted)


@lru_cache(maxsize=4)
def _cached_bundle(
    directory: Path,
    embedding_model: str,
    batch_size: int,
    max_tokens: int | None,
    precision: str,
) -> ModelBundle:
    return load_bundle(directory, load_embedder(embedding_model, batch_size, max_tokens, precision))


def load_model_bundle(settings: InsightSettings, version: str) -> ModelBundle:
    """Load a bundle once per process (tasks on one worker share it), with the transformer it
    was fitted with (:func:`settings_as_fitted`)."""
    settings = settings_as_fitted(settings, read_manifest(settings.models_dir / version))
    with _LOADING:
        return _cached_bundle(
            settings.models_dir / version,
            settings.embedding_model,
            settings.embedding_batch_size,
            settings.embedding_max_tokens,
            settings.embedding_precision,
        )


@dataclass(frozen=True)
class ChunkModels:
    """What the chunk stages of a night use, loaded once per process and handed to them: the
    night's model bundle, the decision configuration, the shared embedder and its cache."""

    bundle: ModelBundle
    taxonomy: Taxonomy
    rules: RuleSet
    embedder: Embedder
    settings: InsightSettings

    def open_cache(self) -> EmbeddingCache:
        """The on-disk embedding cache, opened for one chunk (the caller closes it)."""
        return open_embedding_cache(self.settings)


def chunk_models(settings: InsightSettings, version: str) -> ChunkModels:
    """The collaborators of the chunk stages for model ``version`` (cached per process)."""
    bundle = load_model_bundle(settings, version)
    taxonomy, rules = load_decision_config(settings)
    fitted = settings_as_fitted(settings, bundle.manifest)
    return ChunkModels(bundle, taxonomy, rules, shared_embedder(fitted), fitted)


def model_bundle_catalogue(settings: InsightSettings, version: str) -> BundleCatalogue:
    """A bundle's manifest and topics, without loading (or keeping loaded) its models."""
    return read_bundle_catalogue(settings.models_dir / version)


def champion_bundle_version(settings: InsightSettings) -> tuple[str, str] | None:
    """(registry version, bundle version) of the champion, its bundle present locally.

    A bundle registered on another machine (shared MLflow server) is downloaded once into
    the models folder.
    """
    champion = open_registry(settings).champion()
    if champion is None:
        return None
    registry_version, bundle_version = champion
    if not (settings.models_dir / bundle_version / "manifest.json").exists():
        log.info("downloading champion bundle %s (version %s)", bundle_version, registry_version)
        open_registry(settings).download_bundle(
            registry_version, settings.models_dir / bundle_version
        )
    return champion


def require_champion(settings: InsightSettings) -> tuple[str, str]:
    """The champion, or a clear error that says how to get one."""
    champion = champion_bundle_version(settings)
    if champion is None:
        raise ModelNotFoundError(
            f"no champion model in the registry '{settings.model_registry_name}' at "
            f"{settings.tracking_uri}: run 'insight train' (or 'insight demo') first"
        )
    return champion


def drop_loaded_models() -> None:
    """Forget the embedders and model bundles this process holds; they load again on next use.

    ``insight_core.nightly.memory.release_models`` then hands their memory back.
    """
    with _LOADING:
        _cached_bundle.cache_clear()
        _load_static.cache_clear()
        load_embedder.cache_clear()
