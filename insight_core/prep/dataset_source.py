"""A ``datasets`` source: a folder written by ``save_to_disk`` or a hub dataset named
``hf://owner/name``. Its own module so that only such a source loads the library."""

from __future__ import annotations

import datasets
import polars as pl

from insight_core.errors import SourceError


def load(location: str, split: str | None, hub_name: str | None) -> pl.LazyFrame:
    """The rows of the dataset saved at ``location``, or of the hub dataset ``hub_name``: its
    ``split``, else ``train``, else the first."""
    try:
        if hub_name is not None:
            loaded = datasets.load_dataset(hub_name)
        else:
            loaded = datasets.load_from_disk(location)
    except Exception as exc:  # datasets raises many types; all mean "cannot read this source"
        raise SourceError(f"cannot load dataset '{location}': {exc}".splitlines()[0]) from exc
    if isinstance(loaded, datasets.DatasetDict):
        name = split or ("train" if "train" in loaded else next(iter(loaded)))
        loaded = loaded[name]
    return pl.from_arrow(loaded.data.table).lazy()  # type: ignore[union-attr]
