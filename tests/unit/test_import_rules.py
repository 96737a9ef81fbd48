"""One rule for imports inside functions, checked over every shipped module.

An import inside a function (or method) is allowed only for a heavy or optional third-party
library (``HEAVY``): deferring those keeps `insight --help`, the API and the light stages fast
and lets a machine without the optional extras run what does not need them. A lazy import of a
project module is allowed only where that module exists to defer one of those libraries, and the
import line then says which with ``# lazy: <library>``. Everything else (the standard library,
polars, duckdb, pydantic, numpy, the project's own modules) goes at the top of the module; a lazy
import that only dodges an import cycle is a cycle to restructure, not to hide.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("insight_core", "flows", "tasks", "schemas")
PROJECT_PACKAGES = frozenset(PACKAGES)

HEAVY = frozenset(
    {
        "torch",
        "transformers",
        "sentence_transformers",
        "bertopic",
        "umap",
        "hdbscan",
        "sklearn",
        "scipy",
        "model2vec",
        "peft",
        "mlflow",
        "prefect",
        "prefect_dask",
        "dask",
        "distributed",
        "playwright",
        "uvicorn",
        "fastapi",
        "starlette",
        "matplotlib",
        "plotly",
        "onnxruntime",
        "spacy",
        "presidio_analyzer",
        "presidio_anonymizer",
        "huggingface_hub",
        "tokenizers",
        "safetensors",
        "pandas",
        "pyarrow",
        "sqlglot",
    }
)

LAZY_MARKER = re.compile(r"#\s*lazy:\s*\S+")


def _shipped_modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def _imported_packages(node: ast.Import | ast.ImportFrom) -> list[str]:
    """Top-level package names an import statement reaches (relative imports are ours)."""
    if isinstance(node, ast.ImportFrom):
        if node.level:
            return ["<relative>"]
        return [(node.module or "").split(".")[0]]
    return [alias.name.split(".")[0] for alias in node.names]


def _function_level_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Import | ast.ImportFrom) and node not in found:
                found.append(node)
    return found


def _is_allowed(node: ast.Import | ast.ImportFrom, source_lines: list[str]) -> bool:
    line = source_lines[node.lineno - 1]
    for package in _imported_packages(node):
        if package in HEAVY:
            continue
        is_project = package in PROJECT_PACKAGES or package == "<relative>"
        if is_project and LAZY_MARKER.search(line):
            continue
        return False
    return True


def violations(path: Path) -> list[str]:
    """``path:line: statement`` for every function-level import that breaks the rule."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source, filename=str(path))
    return [
        f"{path.relative_to(ROOT)}:{node.lineno}: {lines[node.lineno - 1].strip()}"
        for node in _function_level_imports(tree)
        if not _is_allowed(node, lines)
    ]


@pytest.mark.unit
def test_function_level_imports_are_heavy_libraries_or_marked_lazy() -> None:
    found = [entry for path in _shipped_modules() for entry in violations(path)]
    assert not found, (
        "imports inside functions must be heavy optional libraries "
        f"({', '.join(sorted(HEAVY))}) or project modules marked '# lazy: <library>':\n"
        + "\n".join(found)
    )


@pytest.mark.unit
def test_rule_flags_light_imports_and_allows_heavy_or_marked_ones(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import time\n"
        "def f():\n"
        "    import json\n"
        "    import torch\n"
        "    from insight_core import runtime\n"
        "    from insight_core.nlp import embed  # lazy: sentence_transformers\n"
        "    class C:\n"
        "        def g(self):\n"
        "            from polars import col\n",
        encoding="utf-8",
    )
    source = sample.read_text(encoding="utf-8")
    lines = source.splitlines()
    flagged = [
        node.lineno
        for node in _function_level_imports(ast.parse(source))
        if not _is_allowed(node, lines)
    ]
    assert flagged == [3, 5, 9]
