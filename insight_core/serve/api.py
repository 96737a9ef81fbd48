"""The prediction API: classify single prompts or small batches with the champion model.

``create_app(settings)`` builds the FastAPI application; ``insight api`` serves it with uvicorn.
The server listens at once; the classifier is loaded in a background thread through
:meth:`Classifier.load_serving` (the champion, or on a home without one the head-only model
trained on first use from the shipped examples, with no topics). While it loads, the predict
endpoints answer 503 with ``Retry-After`` and ``/health`` says ``loading``. When a load fails
(unreadable bundle, broken configuration), ``/health`` says why, the predict endpoints answer
503, and a new load is attempted at most every ``retry_seconds`` until one succeeds.

Privacy: prompt text is never logged. The request log names the route template, status and
duration only; validation errors are answered without echoing the submitted text; a failure
while classifying is logged with its exception type and stack frames, not its message (which
could quote the input).

No ``from __future__ import annotations`` here: FastAPI reads the endpoint annotations at
definition time, and the request models are built per application from settings.
"""

import logging
import math
import threading
import time
import traceback
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, field_validator
from pydantic_core import PydanticCustomError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from insight_core import warehouse
from insight_core.errors import InsightError
from insight_core.examples_head import TOPICS_UNAVAILABLE
from insight_core.inference import Classifier
from insight_core.settings import InsightSettings

log = logging.getLogger(__name__)

TOO_MANY_TEXTS = "too_many_texts"
DEFAULT_RETRY_SECONDS = 30.0
# What a client is asked to wait while the model loads (a load takes tens of seconds).
LOADING_RETRY_SECONDS = 5


# ---- model holder -------------------------------------------------------------------------


def describe_error(exc: BaseException) -> str:
    """One line for people: an InsightError's message as is, otherwise type and first line."""
    if isinstance(exc, InsightError):
        return str(exc)
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


ModelStatus = Literal["loading", "ready", "failed"]


class ModelHolder:
    """The classifier of the API, loaded in a background thread so that the server listens at
    once and answers 503 while the model loads.

    ``loader`` defaults to :meth:`Classifier.load_serving`: the champion, or on a home without
    one the head-only examples model (trained on first use). A failed load is retried in the
    background at most every ``retry_seconds``; while the head-only model serves, the champion is
    looked for as often, so the first nightly model is picked up without a restart.
    """

    def __init__(
        self,
        settings: InsightSettings,
        retry_seconds: float = DEFAULT_RETRY_SECONDS,
        loader: Callable[[InsightSettings], Classifier] = Classifier.load_serving,
    ) -> None:
        self.settings = settings
        self.retry_seconds = retry_seconds
        self._loader = loader
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._last_attempt = -math.inf
        self._loading_since: float | None = None
        self.classifier: Classifier | None = None
        self.error: str | None = None

    @property
    def loading(self) -> bool:
        """Whether a load runs in the background right now."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    @property
    def status(self) -> ModelStatus:
        """``ready`` with a classifier; ``failed`` after a failed load until the next attempt;
        ``loading`` otherwise (also before the first attempt has started)."""
        if self.classifier is not None:
            return "ready"
        if self.error is not None and not self.loading:
            return "failed"
        return "loading"

    @property
    def loading_seconds(self) -> float | None:
        """How long the current first load has been running."""
        if self.status != "loading" or self._loading_since is None:
            return None
        return time.monotonic() - self._loading_since

    def start(self) -> bool:
        """Start a background load unless one is running; True when one was started."""
        with self._lock:
            if self.loading:
                return False
            self._last_attempt = time.monotonic()
            if self.classifier is None:
                self._loading_since = self._last_attempt
            self._thread = threading.Thread(target=self._load, name="model-loader", daemon=True)
            self._thread.start()
            return True

    def _load(self) -> None:
        try:
            classifier = self._loader(self.settings)
        except Exception as exc:
            error = describe_error(exc)
            if self.classifier is None:
                self.error = error
                log.warning("model not loaded: %s", error)
            else:
                log.warning("kept model %s: %s", self.classifier.bundle.version, error)
            return
        previous = self.classifier
        self.classifier, self.error = classifier, None
        if previous is None or previous.bundle.version != classifier.bundle.version:
            log.info("loaded model %s", classifier.bundle.version)
            if not classifier.topics_available:
                log.warning("%s", TOPICS_UNAVAILABLE)

    def load(self) -> Classifier | None:
        """Load in the background and wait for the result (for scripts and tests)."""
        self.start()
        thread = self._thread
        if thread is not None:
            thread.join()
        return self.classifier

    def get(self) -> Classifier | None:
        """The classifier to answer with, or None while loading or after a failure.

        Once ``retry_seconds`` have passed since the last attempt, starts a background retry of
        a failed load, or a look for the champion while the head-only model serves.
        """
        classifier = self.classifier
        due = time.monotonic() - self._last_attempt >= self.retry_seconds
        if due and (classifier is None or not classifier.topics_available):
            self.start()
        return self.classifier


# ---- request and response models ----------------------------------------------------------


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


def _request_models(max_chars: int, max_batch: int) -> tuple[type[BaseModel], type[BaseModel]]:
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


# ---- helpers ------------------------------------------------------------------------------


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


def _predictions(classifier: Classifier, texts: list[str]) -> list[Prediction]:
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


def _clean_errors(errors: Any) -> list[dict[str, Any]]:
    """Validation errors without the submitted input (it may be a long prompt)."""
    return [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in errors
    ]


class BodySizeLimit:
    """Refuse request bodies over ``max_bytes`` with 413 before they are read into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        too_large = False
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # A chunked body without Content-Length: stop reading it here.
                    too_large = True
                    raise _BodyTooLargeError
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if too_large:
                return  # the app's answer to a cut-off body is replaced by the 413 below
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not too_large:
                raise
        if too_large and not response_started:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            status_code=status.HTTP_413_CONTENT_TOO_LARGE,
            content={"detail": f"request body is over the limit of {self.max_bytes} bytes"},
        )
        await response(scope, receive, send)


class _BodyTooLargeError(Exception):
    pass


class ModelUnavailableError(Exception):
    """No classifier to answer with: the model is loading or its load failed."""

    def __init__(self, holder: ModelHolder) -> None:
        self.status = holder.status
        if self.status == "failed":
            self.detail = f"model not loaded: {holder.error}"
            self.retry_after = max(1, round(holder.retry_seconds))
        else:
            waited = holder.loading_seconds or 0.0
            self.detail = (
                f"the model is loading ({waited:.0f} s so far); retry in {LOADING_RETRY_SECONDS} s"
            )
            self.retry_after = LOADING_RETRY_SECONDS
        super().__init__(self.detail)

    def response(self) -> JSONResponse:
        """503 with ``Retry-After`` in seconds and a body that says why."""
        return JSONResponse(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            content={"detail": self.detail, "model_status": self.status},
            headers={"Retry-After": str(self.retry_after)},
        )


# ---- application --------------------------------------------------------------------------


def create_app(
    settings: InsightSettings | None = None,
    retry_seconds: float = DEFAULT_RETRY_SECONDS,
    loader: Callable[[InsightSettings], Classifier] = Classifier.load_serving,
) -> FastAPI:
    """The FastAPI application serving the model ``Classifier.load_serving`` resolves (the
    registry's champion, else the head-only examples model), loaded in the background."""
    settings = settings or InsightSettings()
    holder = ModelHolder(settings, retry_seconds, loader)
    predict_request, batch_request = _request_models(
        settings.max_text_chars, settings.api_max_batch
    )
    # The embedding model and head are CPU-bound and not meant for concurrent calls.
    predict_lock = threading.Lock()

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        # In the background: uvicorn listens only once start-up is over, and a load takes
        # tens of seconds (a first use on a new home also trains the category head).
        holder.start()
        yield

    app = FastAPI(
        title="Employee Insight Engine: prediction API",
        version="1",
        description=(
            "Classify prompts into the engine's categories and topics with the champion model. "
            "Prompt text is redacted before classification and never logged."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.model_holder = holder
    # Filled after the routes exist; the docs routes carry no route object in the scope.
    known_paths: set[str] = set()

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _clean_errors(exc.errors())
        code = (
            status.HTTP_413_CONTENT_TOO_LARGE
            if any(e["type"] == TOO_MANY_TEXTS for e in errors)
            else status.HTTP_422_UNPROCESSABLE_CONTENT
        )
        return JSONResponse(status_code=code, content=jsonable_encoder({"detail": errors}))

    @app.exception_handler(ModelUnavailableError)
    async def _model_unavailable(_: Request, exc: ModelUnavailableError) -> JSONResponse:
        return exc.response()

    @app.middleware("http")
    async def _request_log(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        # The route template, never the raw path or query string: both are caller-controlled.
        route = request.scope.get("route")
        path = getattr(route, "path", None)
        if path is None:
            path = request.url.path if request.url.path in known_paths else "<unmatched route>"
        log.info(
            "%s %s -> %d in %.0f ms",
            request.method,
            path,
            response.status_code,
            1000 * (time.perf_counter() - started),
        )
        return response

    def _classifier_or_503() -> Classifier:
        classifier = holder.get()
        if classifier is None:
            raise ModelUnavailableError(holder)
        return classifier

    def _classify(texts: list[str]) -> list[Prediction]:
        classifier = _classifier_or_503()
        try:
            with predict_lock:
                return _predictions(classifier, texts)
        except Exception as exc:
            frames = "".join(traceback.format_tb(exc.__traceback__))
            log.error(
                "classification failed with %s (message withheld: it may quote the prompt)\n%s",
                type(exc).__name__,
                frames,
            )
            raise HTTPException(
                status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
                detail=f"classification failed ({type(exc).__name__}); see the server log",
            ) from None

    @app.get("/health", response_model=Health, tags=["service"])
    def health() -> Health:
        """Whether the model is loaded (and its version), loading or failed, and how fresh the
        warehouse is."""
        classifier = holder.get()
        model_status = holder.status
        freshness = warehouse_freshness(settings)
        if model_status == "loading":
            overall: Literal["ok", "loading", "degraded"] = "loading"
        elif classifier is not None and freshness.error is None:
            overall = "ok"
        else:
            overall = "degraded"
        topics = classifier.topics_available if classifier is not None else None
        return Health(
            status=overall,
            model_status=model_status,
            model_loaded=classifier is not None,
            model_version=classifier.bundle.version if classifier else None,
            model_error=holder.error,
            loading_seconds=holder.loading_seconds,
            topics_available=topics,
            model_note=TOPICS_UNAVAILABLE if topics is False else None,
            warehouse=freshness,
            limits=Limits(max_text_chars=settings.max_text_chars, max_batch=settings.api_max_batch),
        )

    @app.post(
        "/predict",
        response_model=Prediction,
        tags=["predict"],
        responses={503: {"description": "The model is loading or failed to load (see /health)."}},
    )
    def predict(body: predict_request) -> Prediction:  # type: ignore[valid-type]
        """Category, evidence and topic of one prompt."""
        return _classify([body.text])[0]  # type: ignore[attr-defined]

    @app.post(
        "/predict/batch",
        response_model=BatchPrediction,
        tags=["predict"],
        responses={
            413: {"description": "More texts than INSIGHT_API_MAX_BATCH, or body too large."},
            503: {"description": "The model is loading or failed to load (see /health)."},
        },
    )
    def predict_batch(body: batch_request) -> BatchPrediction:  # type: ignore[valid-type]
        """Predictions for up to ``api_max_batch`` prompts, in order."""
        return BatchPrediction(predictions=_classify(list(body.texts)))  # type: ignore[attr-defined]

    # JSON can spell one character in up to 12 bytes ("\\ud83d\\ude00" for 2 chars), so the
    # byte limit is generous; it exists to stop a runaway body, not to count characters.
    known_paths.update(getattr(r, "path", "") for r in app.routes)
    max_bytes = settings.api_max_batch * settings.max_text_chars * 6 + 65536
    app.add_middleware(BodySizeLimit, max_bytes=max_bytes)
    return app
