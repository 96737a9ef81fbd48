"""The classifier behind the prediction API, loaded in a background thread.

The server listens at once; :class:`ModelHolder` loads the classifier through
:meth:`Classifier.load_serving` (the champion, or on a home without one the head-only model
trained on first use from the shipped examples, with no topics) and retries a failed load at
most every ``retry_seconds``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Literal

from insight_core.errors import InsightError
from insight_core.examples_head import TOPICS_UNAVAILABLE
from insight_core.inference import Classifier
from insight_core.settings import InsightSettings

log = logging.getLogger(__name__)

DEFAULT_RETRY_SECONDS = 30.0


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
