"""HTTP plumbing of the prediction API: the body size limit, the 503 while the model is not
there, and validation errors without the submitted text."""

from __future__ import annotations

from typing import Any

from fastapi import status
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from insight_core.serve.model_holder import ModelHolder

# What a client is asked to wait while the model loads (a load takes tens of seconds).
LOADING_RETRY_SECONDS = 5


def clean_errors(errors: Any) -> list[dict[str, Any]]:
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
