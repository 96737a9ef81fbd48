"""The category taxonomy, the labeled example set that ships with it and the labelled corpus of
real text the decision also learns from."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml

from insight_core.errors import ConfigError


@dataclass(frozen=True)
class Taxonomy:
    """Versioned list of categories with descriptions and the fallback category."""

    version: str
    categories: tuple[str, ...]
    descriptions: dict[str, str]
    fallback: str


def load_taxonomy(path: Path) -> Taxonomy:
    """Read a taxonomy YAML file (see ``resources/taxonomy.yaml``)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read taxonomy {path}: {exc}".splitlines()[0]) from exc
    entries = document.get("categories") or []
    names = tuple(str(entry["name"]) for entry in entries)
    if len(set(names)) != len(names) or not names:
        raise ConfigError(f"taxonomy {path} must list unique category names")
    fallback = str(document.get("fallback", "other"))
    if fallback not in names:
        raise ConfigError(f"taxonomy {path}: fallback '{fallback}' is not a category")
    return Taxonomy(
        version=str(document.get("version", "0")),
        categories=names,
        descriptions={str(e["name"]): str(e.get("description", "")).strip() for e in entries},
        fallback=fallback,
    )


def _read_example_file(path: Path) -> pl.DataFrame:
    if path.suffix in {".yaml", ".yml"}:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        category = document.get("category")
        texts = [str(t).strip() for t in document.get("examples", []) if str(t).strip()]
        return pl.DataFrame(
            {"text": texts, "category": [category] * len(texts)},
            schema={"text": pl.String, "category": pl.String},
        )
    if path.suffix == ".csv":
        frame = pl.read_csv(path, infer_schema=False)
    elif path.suffix == ".parquet":
        frame = pl.read_parquet(path)
    else:
        raise ConfigError(f"labeled examples must be yaml, csv or parquet: {path}")
    if not {"text", "category"} <= set(frame.columns):
        raise ConfigError(f"labeled examples {path} need columns 'text' and 'category'")
    return frame.select(pl.col("text").cast(pl.String), pl.col("category").cast(pl.String))


def load_examples(location: Path, taxonomy: Taxonomy, extra: Sequence[Path] = ()) -> pl.DataFrame:
    """The labeled example set (``text``, ``category``): the shipped files plus user extras."""
    paths = sorted(location.glob("*.y*ml")) if location.is_dir() else [location]
    paths += list(extra)
    if not paths:
        raise ConfigError(f"no labeled examples found at {location}")
    try:
        frames = [_read_example_file(p) for p in paths]
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read labeled examples: {exc}".splitlines()[0]) from exc
    examples = (
        pl.concat(frames)
        .filter(pl.col("text").str.strip_chars() != "")
        .unique(subset=["text"], keep="first", maintain_order=True)
    )
    unknown = set(examples.get_column("category").unique().to_list()) - set(taxonomy.categories)
    if unknown:
        raise ConfigError(f"labeled examples use unknown categories: {sorted(unknown)}")
    return examples


def examples_fingerprint(examples: pl.DataFrame) -> str:
    """Content hash of a labeled example set, to tell when the category head must be refit."""
    digest = hashlib.sha256()
    for text, category in examples.sort(["category", "text"]).iter_rows():
        digest.update(f"{category}\x00{text}\x01".encode())
    return digest.hexdigest()


CORPUS_SCHEMA = pl.Schema({"text": pl.String(), "category": pl.String(), "family": pl.String()})


def load_training_corpus(path: Path, taxonomy: Taxonomy) -> pl.DataFrame:
    """The shipped corpus of real labelled text (``text``, ``category``, ``family``): public
    requests and questions labelled by their source, and real assistant prompts labelled in two
    reading passes (``resources/training/``, built by ``benchmarks/build_training_corpus.py``).
    Rows of categories the taxonomy does not have are left out (a custom taxonomy)."""
    try:
        frame = pl.read_csv(path, infer_schema=False, columns=list(CORPUS_SCHEMA.names()))
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ConfigError(f"cannot read the training corpus {path}: {exc}".splitlines()[0]) from exc
    return frame.filter(pl.col("category").is_in(list(taxonomy.categories))).cast(CORPUS_SCHEMA)
