"""What the web app shows, computed without Streamlit (so it is testable on its own).

Trends come read-only from the published warehouse's ``analytics`` schema. A hidden cell (too
few distinct users, or hidden so that a total cannot give one back) has no row there, exactly
like a cell without prompts, so the app can neither show nor count it: a count of hidden cells
would tell that small groups exist. A table reads "–" where there is no row, whichever the
reason. Rows that an older publication still marks ``suppressed`` are dropped on reading.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from insight_core import inference, warehouse
from insight_core.errors import ConfigError, InsightError, SourceError
from insight_core.inference import Classifier
from insight_core.nlp.cascade import model_probabilities
from insight_core.prep.redact import redact_text
from insight_core.runtime import get_embedder
from insight_core.settings import resource_path

DAILY_VIEW = "daily_category_trends"
COMPANY_DAILY_VIEW = "company_daily_category_trends"
WEEKLY_VIEW = "weekly_category_trends"
COMPANY_WEEKLY_VIEW = "company_weekly_category_trends"
ALERTS_VIEW = "alerts"
BATCH_OUTPUT_COLUMNS = (
    "category",
    "decided_by",
    "confidence",
    "rule_id",
    "topic_id",
    "topic_label",
    "topic_words",
)
HARD_CASE_KINDS = ("short", "sarcasm", "metaphor", "multi_intent", "code", "non_english")


# ---- single prompts and the model's view ---------------------------------------------------


def category_probabilities(classifier: Classifier, texts: list[str]) -> pl.DataFrame:
    """The category head's probability of every category for each text (before the rules and
    the abstain threshold): columns ``row``, ``category``, ``probability``.

    The probabilities are the ones the decision uses: like ``cascade.decide``, the static side's
    where it is sure enough, else the transformer head's, each from whichever of the whole
    prompt and its instruction views the head is most confident about.
    """
    redacted = [redact_text(t) for t in texts]
    embedder = get_embedder(classifier.settings)
    bundle = classifier.bundle
    head = bundle.head
    vectors = bundle.topic_vectors(redacted, embedder, None)
    probabilities = model_probabilities(redacted, vectors, head, bundle.cascade, embedder, None)
    return pl.DataFrame(
        {
            "row": [r for r in range(len(texts)) for _ in head.classes],
            "category": list(head.classes) * len(texts),
            "probability": probabilities.reshape(-1).astype(float).tolist(),
        },
        schema={"row": pl.Int64, "category": pl.String, "probability": pl.Float64},
    )


def explain(row: dict[str, Any], abstain_threshold: float, fallback: str) -> str:
    """One sentence on why a prediction came out the way it did."""
    if row["decided_by"] == "rule":
        return (
            f'Override rule `{row["rule_id"]}` fired on the phrase "{row["matched_phrase"]}"; '
            "rules beat the model."
        )
    if row["category"] == fallback and row["confidence"] < abstain_threshold:
        return (
            f"No rule fired and the model's best guess had only {row['confidence']:.0%} "
            f"confidence (under the abstain threshold of {abstain_threshold:.0%}), so the "
            f"prompt fell back to `{fallback}`."
        )
    return f"No rule fired; the model chose `{row['category']}` with {row['confidence']:.0%}."


# ---- batch CSV -----------------------------------------------------------------------------


def read_csv_upload(data: bytes, max_rows: int) -> pl.DataFrame:
    """An uploaded CSV as a frame, or a :class:`SourceError` that says what is wrong."""
    if not data.strip():
        raise SourceError("the file is empty")
    try:
        frame = pl.read_csv(io.BytesIO(data), infer_schema_length=10000)
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read the file as CSV: {exc}".splitlines()[0]) from exc
    if frame.height == 0:
        raise SourceError("the CSV has a header but no rows")
    if frame.height > max_rows:
        raise SourceError(
            f"the CSV has {frame.height} rows, over the web app's limit of {max_rows} "
            "(INSIGHT_APP_MAX_ROWS); use `insight classify FILE -o OUT` for large files"
        )
    return frame


def default_text_column(frame: pl.DataFrame) -> str:
    """``text`` when present, otherwise the first string column, otherwise the first column."""
    if "text" in frame.columns:
        return "text"
    strings = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return strings[0] if strings else frame.columns[0]


def classify_frame(
    classifier: Classifier,
    frame: pl.DataFrame,
    text_column: str,
    chunk_size: int = 64,
    progress: Callable[[int, int], None] | None = None,
) -> pl.DataFrame:
    """``frame`` with the web app's prediction columns appended (replacing same-named ones)."""
    return inference.classify_frame(
        classifier, frame, text_column, BATCH_OUTPUT_COLUMNS, chunk_size, progress=progress
    )


# ---- trends --------------------------------------------------------------------------------

# Percent-valued columns of the analytics tables (fractions in the warehouse).
PERCENT_COLUMNS = frozenset({"share", "baseline_share"})
PERCENT_CHANGE_COLUMNS = frozenset({"prompts_change_rel"})
POINTS_CHANGE_COLUMNS = frozenset({"share_change"})
NOT_SHOWN = "–"


def analytics_tables(published: Path) -> set[str]:
    """Names of the tables and views in the warehouse's ``analytics`` schema."""
    frame = warehouse.query(
        published,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'analytics'",
    )
    return set(frame.get_column("table_name").to_list())


def read_view(published: Path, name: str) -> pl.DataFrame:
    """Every visible row of ``analytics.<name>`` (names come from :func:`analytics_tables`)."""
    if not name.replace("_", "").isalnum():
        raise InsightError(f"not a table name: {name!r}")
    return visible_rows(warehouse.query(published, f"SELECT * FROM analytics.{name}"))


def visible_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` without the rows that mark a hidden cell, and without the ``suppressed`` column.

    Since hidden cells have no row, ``suppressed`` is always false; a publication made before
    that still has rows marked ``suppressed`` (with no counts), and showing one would tell that
    a small group exists, so they are dropped here like any cell that has no row.
    """
    if "suppressed" not in frame.columns:
        return frame
    return frame.filter(~pl.col("suppressed").fill_null(True)).drop("suppressed")


def privacy_thresholds(published: Path) -> dict[str, int]:
    """Smallest visible group per category ('*' is the default), as the warehouse applied it."""
    try:
        frame = warehouse.query(published, "SELECT category, min_users FROM ops.privacy_thresholds")
    except InsightError:
        return {}
    return {row[0]: int(row[1]) for row in frame.iter_rows()}


def departments_by_size(daily: pl.DataFrame) -> list[str]:
    """Departments of a daily trends table, the one with the most visible prompts first."""
    return (
        daily.group_by("department")
        .agg(pl.col("prompts").sum())
        .sort(["prompts", "department"], descending=[True, False])
        .get_column("department")
        .to_list()
    )


def in_scope(frame: pl.DataFrame, department: str | None) -> pl.DataFrame:
    """Rows of one department, or all rows of a company-wide table (``department`` None)."""
    return frame if department is None else frame.filter(pl.col("department") == department)


def share_table(rows: pl.DataFrame) -> pl.DataFrame:
    """Date x category table of shares as text: "12.5 %", or "–" where the category has no row
    that day (no prompts, or a cell below the minimum group size: the two look the same)."""
    if rows.height == 0:
        return pl.DataFrame({"date": []}, schema={"date": pl.String})
    cells = rows.with_columns(
        ((pl.col("share") * 100).round(1).cast(pl.String) + " %").alias("cell")
    )
    return (
        cells.pivot(on="category", index="date", values="cell", aggregate_function="first")
        .sort("date")
        .with_columns(pl.col("date").cast(pl.String))
        .fill_null(NOT_SHOWN)
    )


def share_series(rows: pl.DataFrame) -> pl.DataFrame:
    """Shares in percent as a wide date x category frame for a chart; a cell without a row is a
    missing value there."""
    if rows.height == 0:
        return pl.DataFrame({"date": []}, schema={"date": pl.Date})
    return (
        rows.with_columns((pl.col("share") * 100).alias("share_pct"))
        .pivot(on="category", index="date", values="share_pct", aggregate_function="first")
        .sort("date")
    )


@dataclass(frozen=True)
class Movers:
    """The biggest changes of one week among its published cells."""

    week: str | None
    complete: bool
    table: pl.DataFrame
    cells: int  # published cells of the week (a hidden cell has no row and is not counted)


def weekly_movers(weekly: pl.DataFrame, top: int = 10) -> Movers:
    """The latest complete ISO week's cells ranked by the absolute change of their share.

    A week in progress has no changes yet, so the latest complete week is ranked; with none
    complete, the week in progress is shown unranked. Only a cell with a change (both weeks
    published) is ranked.
    """
    if weekly.height == 0:
        return Movers(None, False, weekly, 0)
    complete = weekly.filter(pl.col("complete")) if "complete" in weekly.columns else weekly
    candidates = complete if complete.height else weekly
    week = str(candidates.get_column("iso_week").max())
    this_week = weekly.filter(pl.col("iso_week") == week)
    ranked = this_week
    if "share_change" in ranked.columns:
        ranked = ranked.filter(pl.col("share_change").is_not_null()).sort(
            pl.col("share_change").abs(), descending=True
        )
    return Movers(week, complete.height > 0, ranked.head(top), this_week.height)


def _formatted(name: str, dtype: pl.DataType) -> pl.Expr:
    column = pl.col(name)
    sign = pl.when(column > 0).then(pl.lit("+")).otherwise(pl.lit(""))
    if name in PERCENT_COLUMNS:
        return (column * 100).round(1).cast(pl.String) + " %"
    if name in PERCENT_CHANGE_COLUMNS:
        return sign + (column * 100).round(0).cast(pl.Int64).cast(pl.String) + " %"
    if name in POINTS_CHANGE_COLUMNS:
        return sign + (column * 100).round(1).cast(pl.String) + " pp"
    if dtype.is_float():
        return column.round(2).cast(pl.String)
    return column.cast(pl.String)


def display_table(frame: pl.DataFrame) -> pl.DataFrame:
    """An analytics table for people: values that are not shown (no comparable previous week,
    for example) read "–", shares are percentages and dates have no time of day. Rows that mark
    a hidden cell are dropped (:func:`visible_rows`)."""
    frame = visible_rows(frame)
    columns = []
    for name, dtype in frame.schema.items():
        if dtype.is_numeric():
            columns.append(
                pl.when(pl.col(name).is_null())
                .then(pl.lit(NOT_SHOWN))
                .otherwise(_formatted(name, dtype))
                .alias(name)
            )
        elif dtype == pl.Date:
            columns.append(pl.col(name).cast(pl.String))
    return frame.with_columns(columns) if columns else frame


# ---- failure analysis ----------------------------------------------------------------------


@dataclass(frozen=True)
class HardCase:
    """One curated input the model is known to find hard, with the category a person expects."""

    id: str
    kind: str
    text: str
    expected: str
    note: str


def hard_cases_file() -> Path:
    """The curated hard cases shipped with the package."""
    return resource_path("hard_cases.yaml")


def load_hard_cases(path: Path | None = None) -> tuple[str, list[HardCase]]:
    """(version, cases) from the hard-cases YAML file."""
    path = path or hard_cases_file()
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read hard cases {path}: {exc}".splitlines()[0]) from exc
    cases = []
    for entry in document.get("cases") or []:
        try:
            cases.append(
                HardCase(
                    id=str(entry["id"]),
                    kind=str(entry["kind"]),
                    text=str(entry["text"]),
                    expected=str(entry["expected"]),
                    note=" ".join(str(entry["note"]).split()),
                )
            )
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"hard case {entry!r} in {path} lacks {exc}") from exc
    return str(document.get("version", "0")), cases


def hard_case_report(classifier: Classifier, cases: list[HardCase]) -> pl.DataFrame:
    """What the model says about each hard case, and the model's runner-up category."""
    texts = [c.text for c in cases]
    predicted = classifier.classify(texts)
    probabilities = category_probabilities(classifier, texts)
    ranked = probabilities.sort(["row", "probability"], descending=[False, True])
    best_two = ranked.group_by("row", maintain_order=True).head(2)
    runner_up = (
        best_two.group_by("row", maintain_order=True)
        .agg(
            pl.col("category").last().alias("runner_up"),
            pl.col("probability").last().alias("runner_up_probability"),
            pl.col("category").first().alias("model_top"),
        )
        .sort("row")
    )
    cases_frame = pl.DataFrame(
        {
            "id": [c.id for c in cases],
            "kind": [c.kind for c in cases],
            "text": texts,
            "expected": [c.expected for c in cases],
            "note": [c.note for c in cases],
        },
        schema=dict.fromkeys(("id", "kind", "text", "expected", "note"), pl.String),
    )
    report = pl.concat(
        [
            cases_frame,
            predicted.select(
                "category",
                "decided_by",
                "confidence",
                "rule_id",
                "matched_phrase",
                "topic_label",
            ),
            runner_up.select("model_top", "runner_up", "runner_up_probability"),
        ],
        how="horizontal",
    )
    return report.with_columns((pl.col("category") == pl.col("expected")).alias("correct"))
