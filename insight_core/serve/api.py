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

The classifier holder is :mod:`insight_core.serve.model_holder`, the request and response
bodies :mod:`insight_core.serve.api_models`, the body size limit and the 503 answer
:mod:`insight_core.serve.http`.

No ``from __future__ import annotations`` here: FastAPI reads the endpoint annotations at
definition time, and the request models are built per application from settings.
"""

import logging
import threading
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Literal

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from insight_core.examples_head import TOPICS_UNAVAILABLE
from insight_core.inference import Classifier
from insight_core.serve.api_models import (
    TOO_MANY_TEXTS,
    BatchPrediction,
    Health,
    Limits,
    Prediction,
    predictions,
    request_models,
    warehouse_freshness,
)
from insight_core.serve.http import (
    LOADING_RETRY_SECONDS,
    BodySizeLimit,
    ModelUnavailableError,
    clean_errors,
)
from insight_core.serve.model_holder import DEFAULT_RETRY_SECONDS, ModelHolder, describe_error
from insight_core.settings import InsightSettings

__all__ = [
    "DEFAULT_RETRY_SECONDS",
    "LOADING_RETRY_SECONDS",
    "ModelHolder",
    "create_app",
    "describe_error",
    "warehouse_freshness",
]

log = logging.getLogger(__name__)


def create_app(
    settings: InsightSettings | None = None,
    retry_seconds: float = DEFAULT_RETRY_SECONDS,
    loader: Callable[[InsightSettings], Classifier] = Classifier.load_serving,
) -> FastAPI:
    """The FastAPI application serving the model ``Classifier.load_serving`` resolves (the
    registry's champion, else the head-only examples model), loaded in the background."""
    settings = settings or InsightSettings()
    holder = ModelHolder(settings, retry_seconds, loader)
    predict_request, batch_request = request_models(settings.max_text_chars, settings.api_max_batch)
    # The embedding model and head are CPU-bound and not meant for concurrent calls.
    predict_lock = threading.Lock()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
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
        errors = clean_errors(exc.errors())
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
                return predictions(classifier, texts)
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
