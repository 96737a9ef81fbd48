"""The first-use model of a home without a champion: the category head alone, trained on the
shipped labeled examples, with no topic model.

``insight classify``, the API and the web app use it until a nightly run (or ``insight demo`` /
``insight train``) has registered a champion. The head is fitted by
:func:`insight_core.modelling.examples.train_head`, the same code the nightly cold start runs,
and saved once per home under
``<home>/models/examples-head-<key>/``, where the key hashes everything the head depends on
(examples, embedding model, taxonomy, rules, head format). A second use loads it in well under a
second. Several processes may ask for it at once: one trains under a file lock and publishes the
folder with an atomic rename; the others wait for the lock and load what it wrote.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from filelock import FileLock

from insight_core.modelling.bundle import ModelBundle, write_manifest
from insight_core.modelling.examples import TRAINING_CORPUS, train_head
from insight_core.nlp.embed import Embedder, resolve_model
from insight_core.nlp.head import CategoryHead
from insight_core.nlp.rules import RuleSet
from insight_core.nlp.taxonomy import Taxonomy, examples_fingerprint, load_examples
from insight_core.nlp.topics import TopicIndex
from insight_core.runtime import open_embedding_cache
from insight_core.settings import InsightSettings, resource_path

log = logging.getLogger(__name__)

EXAMPLES_HEAD_KIND = "examples-head"
# Bump when train_head or the saved layout changes, so that old cached heads are not reused.
HEAD_FORMAT = 2
# How long a process waits for another one that is training the same head.
LOCK_TIMEOUT_SECONDS = 900.0
TOPICS_UNAVAILABLE = (
    "topics are unavailable until a nightly run has made a model ('insight run', "
    "'insight demo' or 'insight train'): the category comes from the head trained on the "
    "shipped examples and every topic is -1 (unclustered)"
)
TOPIC_COLUMNS = {
    "topic_id": pl.Int64,
    "label": pl.String,
    "words": pl.String,
    "size": pl.Int64,
    "category": pl.String,
}


def examples_head_key(settings: InsightSettings, taxonomy: Taxonomy, rules: RuleSet) -> str:
    """Short content hash of what the examples head depends on (names its cache folder)."""
    examples = load_examples(settings.examples_file, taxonomy, settings.extra_examples_paths)
    parts = {
        "format": HEAD_FORMAT,
        "examples": examples_fingerprint(examples),
        "corpus": hashlib.sha256(resource_path(*TRAINING_CORPUS).read_bytes()).hexdigest(),
        "embedding_model": resolve_model(settings.embedding_model)[2],
        "taxonomy": hashlib.sha256(settings.taxonomy_file.read_bytes()).hexdigest(),
        "rules": rules.file_hash,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def examples_head_dir(settings: InsightSettings, key: str) -> Path:
    """The cache folder of the examples head with ``key``."""
    return settings.models_dir / f"{EXAMPLES_HEAD_KIND}-{key}"


def ensure_examples_head(
    settings: InsightSettings, taxonomy: Taxonomy, rules: RuleSet, embedder: Embedder
) -> Path:
    """The folder of the examples head for the current configuration, trained if missing."""
    key = examples_head_key(settings, taxonomy, rules)
    directory = examples_head_dir(settings, key)
    if (directory / "manifest.json").exists():
        return directory
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(directory.with_name(directory.name + ".lock"), timeout=LOCK_TIMEOUT_SECONDS):
        if (directory / "manifest.json").exists():
            return directory  # another process trained it while this one waited
        # Left by a process that died while training (only the lock holder writes these).
        for stale in settings.models_dir.glob(f".{directory.name}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=settings.models_dir))
        staging.chmod(0o755)  # mkdtemp makes it private; the other model folders are not
        try:
            _write_examples_head(settings, taxonomy, rules, embedder, key, staging)
            if directory.exists():  # without a manifest: damaged by hand, never by a writer
                shutil.rmtree(directory)
            staging.replace(directory)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return directory


def _write_examples_head(
    settings: InsightSettings,
    taxonomy: Taxonomy,
    rules: RuleSet,
    embedder: Embedder,
    key: str,
    directory: Path,
) -> None:
    log.info("no champion model yet: training the category head on the shipped examples")
    started = datetime.now(UTC)
    cache = open_embedding_cache(settings)
    try:
        head, examples = train_head(settings, taxonomy, embedder, cache)
    finally:
        cache.close()
    head.save(directory)
    shutil.copyfile(settings.rules_file, directory / "rules.yaml")
    shutil.copyfile(settings.taxonomy_file, directory / "taxonomy.yaml")
    pl.DataFrame(schema=TOPIC_COLUMNS).write_parquet(directory / "topics.parquet")
    manifest: dict[str, Any] = {
        "version": directory_version(key),
        "kind": EXAMPLES_HEAD_KIND,
        "topics_available": False,
        "created_at": started.isoformat(),
        "training_seconds": round((datetime.now(UTC) - started).total_seconds(), 1),
        "embedding_model": embedder.model_id,
        "embedding_model_setting": settings.embedding_model,
        "embedding_dimension": embedder.dimension,
        "taxonomy_version": taxonomy.version,
        "rules_hash": rules.file_hash,
        "examples_hash": examples_fingerprint(examples),
        "n_examples": examples.height,
        "n_topics": 0,
        "abstain_threshold": settings.abstain_threshold,
        "head_temperature": head.temperature,
    }
    write_manifest(directory, manifest)


def directory_version(key: str) -> str:
    """The model version an examples head reports (its folder name)."""
    return f"{EXAMPLES_HEAD_KIND}-{key}"


def load_examples_head(directory: Path) -> ModelBundle:
    """A head-only bundle: the saved head, an empty topic index and an empty topic table."""
    manifest = json.loads((directory / "manifest.json").read_text())
    dimension = int(manifest["embedding_dimension"])
    return ModelBundle(
        version=str(manifest["version"]),
        directory=directory,
        manifest=manifest,
        head=CategoryHead.load(directory),
        topic_index=TopicIndex(
            topic_ids=np.zeros(0, dtype=np.int64),
            topic_vectors=np.zeros((0, dimension), dtype=np.float32),
        ),
        topics=pl.read_parquet(directory / "topics.parquet"),
    )


def is_examples_head(bundle: ModelBundle) -> bool:
    """Whether ``bundle`` is a head-only examples model (no topics)."""
    return bundle.manifest.get("kind") == EXAMPLES_HEAD_KIND
