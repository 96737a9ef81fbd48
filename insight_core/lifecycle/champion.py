"""The champion alias: register fitted bundles, make one the champion, promote, roll back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from insight_core.errors import InsightError, ModelNotFoundError
from insight_core.lifecycle.pyfunc import InsightCategoryModel
from insight_core.lifecycle.train import fit_on_window
from insight_core.modelling.bundle import ModelBundle
from insight_core.registry import open_registry, open_tracker
from insight_core.runtime import champion_bundle_version
from insight_core.settings import InsightSettings


def register_bundle(
    settings: InsightSettings,
    bundle: ModelBundle,
    run_id: str | None = None,
    role: str = "challenger",
) -> str:
    """Log ``bundle`` as an MLflow pyfunc model and register it; returns the version."""
    tracker = open_tracker(settings)
    own_run = run_id is None
    if own_run:
        run_id = tracker.start_run(
            f"register-{bundle.version}", tags={"insight.kind": "model-registration"}
        )
    assert run_id is not None
    manifest = bundle.manifest
    tags = {
        "role": role,
        "rules_hash": str(manifest.get("rules_hash")),
        "embedding_model": str(manifest.get("embedding_model")),
        "taxonomy_version": str(manifest.get("taxonomy_version")),
        "examples_cv_macro_f1": str((manifest.get("examples_cv") or {}).get("macro_f1")),
    }
    version = open_registry(settings).log_and_register(
        run_id, bundle.directory, bundle.version, tags, InsightCategoryModel()
    )
    if own_run:
        tracker.end_run(run_id, succeeded=True)
    return version


@dataclass(frozen=True)
class ChampionFit:
    """A bundle fitted, registered and made the champion."""

    bundle: ModelBundle
    registry_version: str


def train_champion(
    settings: InsightSettings,
    reason: str,
    end: date | None = None,
    window_days: int | None = None,
    tonight: pl.DataFrame | None = None,
    run_id: str | None = None,
) -> ChampionFit:
    """Fit on the training window (see :func:`fit_on_window`), register, make it champion.

    The one train-register-promote sequence: the first nightly fit, ``fit`` mode and
    ``insight train`` all come here. A weekly refit registers a challenger instead.
    """
    fit = fit_on_window(settings, end, window_days, tonight)
    version = register_bundle(settings, fit.bundle, run_id, role="champion")
    open_registry(settings).set_champion(version, reason)
    return ChampionFit(fit.bundle, version)


def promote(settings: InsightSettings, version: str, reason: str = "manual promotion") -> str:
    """Make registry ``version`` the champion; returns its bundle version."""
    registry = open_registry(settings)
    bundle_version = registry.bundle_version(version)
    registry.set_champion(version, reason)
    champion_bundle_version(settings)  # make sure the bundle is available locally
    return bundle_version


def rollback(settings: InsightSettings, to_version: str | None = None) -> str:
    """Move the champion back to ``to_version`` or to the champion before the current one."""
    registry = open_registry(settings)
    champion = registry.champion()
    if champion is None:
        raise ModelNotFoundError("no champion to roll back")
    if to_version is None:
        tags = {v["version"]: v["tags"] for v in registry.versions()}
        to_version = tags.get(champion[0], {}).get("previous_champion")
        if to_version is None:
            raise InsightError(
                f"champion version {champion[0]} has no previous champion recorded; "
                "name one with --to"
            )
    promote(settings, to_version, reason=f"rollback from version {champion[0]}")
    return to_version


def list_versions(settings: InsightSettings) -> list[dict[str, Any]]:
    """Registered versions with aliases and scores, newest first."""
    return open_registry(settings).versions()
