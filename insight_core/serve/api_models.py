"""Request and response bodies of the prediction API, and the helpers that fill them.

No ``from __future__ import annotations`` here: the request models are built per application
from settings, and pydantic reads their annotations where they are defined.
"""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, field_validator
from pydantic_core import PydanticCustomError

from insight_core import warehouse
from insight_core.inference import Classifier
from insight_core.serve.model_holder import ModelStatus, describe_error
from insight_core.settings import InsightSettings

TOO_MANY_TEXTS = "too_many_texts"


def _not_blank(text: str) -> str:
    if not text.strip():
        raise PydanticCustomError(
            "blank_text", "text is blank: send at least one visible character"
        )
    return text


def _text_type(max_chars: int) -> Any:
    """Prompt text: a JSON string of 1..max_chars characters with something visible in it."""
    return Annotated[
        StrictStr,
        Field(min_length=1, max_length=max_chars, description="Prompt text to classify."),
        AfterValidator(_not_blank),
    ]


def request_models(max_chars: int, max_batch: int) -> tuple[type[BaseModel], type[BaseModel]]:
    """Request bodies whose limits come from settings (so they show in the OpenAPI schema)."""
    text_type = _text_type(max_chars)

    class PredictRequest(BaseModel):
        """One prompt to classify."""

        model_config = ConfigDict(
            extra="forbid",
            json_schema_extra={"examples": [{"text": "How do I reset my VPN password?"}]},
        )
        text: text_type  # type: ignore[valid-type]

    class BatchPredictRequest(BaseModel):
        """Up to ``api_max_batch`` prompts to classify in one call."""

        model_config = ConfigDict(
            extra="forbid",
            json_schema_extra={
                "examples": [{"texts": ["Fix this SQL join", "Write a haiku about Mondays"]}]
            },
        )
        texts: list[text_type] = Field(  # type: ignore[valid-type]
            min_length=1,
            json_schema_extra={"maxItems": max_batch},
            description=f"1 to {max_batch} prompt texts.",
        )

        @field_validator("texts", mode="before")
        @classmethod
        def _at_most_max_batch(cls, value: Any) -> Any:
            # Counted before the items are validated, so an oversized batch is refused cheaply.
            if isinstance(value, list) and len(value) > max_batch:
                raise PydanticCustomError(
                    TOO_MANY_TEXTS,
                    "batch of {count} texts is over the limit of {limit} "
                    "(INSIGHT_API_MAX_BATCH); split it into smaller batches",
                    {"count": len(value), "limit": max_batch},
                )
            return value

    return PredictRequest, BatchPredictRequest


class Prediction(BaseModel):
    """The category and topic of one prompt, with the evidence for the category."""

    category: str
    decided_by: str = Field(
        description="'rule' when an override rule fired, 'model' when the category head decided."
    )
    confidence: float = Field(ge=0.0, le=1.0)
    rule_id: str | None = Field(default=None, description="Override rule that fired, if any.")
    matched_phrase: str | None = Field(default=None, description="Rule phrase that matched.")
    topic_id: int = Field(description="-1 is the outlier topic (no close topic).")
    topic_label: str
    topic_words: list[str]
    model_version: str


class BatchPrediction(BaseModel):
    """Predictions in the order of the submitted texts."""

    predictions: list[Prediction]


class WarehouseFreshness(BaseModel):
    """How current the published warehouse is."""

    last_published_run_date: date | None = Field(
        default=None, description="Latest run date with a succeeded nightly run."
    )
    last_published_at: datetime | None = Field(
        default=None, description="When the latest succeeded run finished."
    )
    error: str | None = None


class Limits(BaseModel):
    """Request limits from settings."""

    max_text_chars: int
    max_batch: int


class Health(BaseModel):
    """Liveness and readiness in one answer (always HTTP 200 while the process serves)."""

    status: Literal["ok", "loading", "degraded"] = Field(
        description="'loading' while the model loads; 'ok' with a model and a readable "
        "warehouse; 'degraded' otherwise."
    )
    model_status: ModelStatus
    model_loaded: bool
    model_version: str | None
    model_error: str | None = Field(description="Why the model is not loaded, when it is not.")
    loading_seconds: float | None = Field(
        default=None, description="How long the model has been loading, while it loads."
    )
    topics_available: bool | None = Field(
        default=None,
        description="False while the head-only examples model serves (no nightly model yet).",
    )
    model_note: str | None = Field(default=None, description="What the served model cannot do.")
    warehouse: WarehouseFreshness
    limits: Limits


def warehouse_freshness(settings: InsightSettings) -> WarehouseFreshness:
    """Last succeeded run date of the published warehouse, or why it cannot be read."""
    try:
        frame = warehouse.query(
            settings.warehouse_file,
            "SELECT max(run_date) AS run_date, max(finished_at) AS finished_at "
            "FROM ops.runs WHERE status = 'succeeded'",
        )
    except Exception as exc:
        return WarehouseFreshness(error=describe_error(exc))
    row = frame.row(0, named=True)
    if row["run_date"] is None:
        return WarehouseFreshness(error="the warehouse has no succeeded run yet")
    return WarehouseFreshness(
        last_published_run_date=row["run_date"], last_published_at=row["finished_at"]
    )


def predictions(classifier: Classifier, texts: list[str]) -> list[Prediction]:
    """The answers for ``texts``, in their order, from one pass of ``classifier``."""
    frame = classifier.classify(texts)
    version = classifier.bundle.version
    return [
        Prediction(
            category=row["category"],
            decided_by=row["decided_by"],
            confidence=row["confidence"],
            rule_id=row["rule_id"],
            matched_phrase=row["matched_phrase"],
            topic_id=row["topic_id"],
            topic_label=row["topic_label"],
            topic_words=[w for w in (row["topic_words"] or "").split(", ") if w],
            model_version=version,
        )
        for row in frame.iter_rows(named=True)
    ]
