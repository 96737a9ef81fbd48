"""How settings are declared: tuning overrides marked as advanced, and shipped resources."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic.fields import FieldInfo


def advanced(*args: Any, **kwargs: Any) -> Any:
    """``Field(...)`` of a tuning override: the engine decides it, an explicit value wins, and
    docs/configuration.md does not list it."""
    return Field(*args, json_schema_extra={"advanced": True}, **kwargs)


def is_advanced(field: FieldInfo) -> bool:
    """Whether a settings field was declared with :func:`advanced`."""
    extra = field.json_schema_extra
    return isinstance(extra, dict) and bool(extra.get("advanced"))


def resource_path(*parts: str) -> Path:
    """Path of a file shipped inside ``insight_core/resources``."""
    return Path(str(resources.files("insight_core").joinpath("resources", *parts)))
