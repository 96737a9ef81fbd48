"""Shared pieces of the web app: settings, the cached classifier and the sidebar."""

from __future__ import annotations

import streamlit as st

from insight_core.environment import apply_runtime_defaults
from insight_core.examples_head import TOPICS_UNAVAILABLE
from insight_core.inference import Classifier
from insight_core.serve.api import describe_error, warehouse_freshness
from insight_core.settings import InsightSettings


def describe(exc: BaseException) -> str:
    """One line for people about an error (see :func:`insight_core.serve.api.describe_error`)."""
    return describe_error(exc)


@st.cache_resource(show_spinner=False)
def get_settings() -> InsightSettings:
    """Settings from the environment, with the engine's offline defaults applied once."""
    settings = InsightSettings()
    apply_runtime_defaults(settings)
    return settings


# A failed load raises, and Streamlit does not cache exceptions: the next page view tries
# again, so a model trained after start-up appears without a restart. Without a champion the
# head-only examples model loads (trained on the first use of a home, about a minute).
@st.cache_resource(
    show_spinner="Loading the model (on a new home the first use also trains the category head "
    "from the shipped examples, which takes about a minute)..."
)
def _load_classifier() -> Classifier:
    return Classifier.load_serving(get_settings())


def classifier_or_error() -> Classifier | None:
    """The current classifier, or None after showing why it could not be loaded."""
    try:
        classifier = _load_classifier()
    except Exception as exc:
        st.error(f"No model is loaded: {describe(exc)}")
        return None
    if not classifier.topics_available:
        st.info(f"No nightly model yet: {TOPICS_UNAVAILABLE}.")
    return classifier


def reload_model() -> None:
    """Forget the loaded classifier so the next page view loads the current one."""
    _load_classifier.clear()


def sidebar() -> None:
    """Model version and warehouse freshness, on every page."""
    settings = get_settings()
    with st.sidebar:
        st.markdown("### Employee Insight Engine")
        try:
            classifier = _load_classifier()
            topics = "" if classifier.topics_available else " (category head only, no topics)"
            st.caption(f"Model: `{classifier.bundle.version}`{topics}")
        except Exception:
            st.caption("Model: not loaded")
        freshness = warehouse_freshness(settings)
        if freshness.last_published_run_date is not None:
            st.caption(f"Warehouse: runs up to {freshness.last_published_run_date}")
        else:
            st.caption(f"Warehouse: {freshness.error}")
        st.button(
            "Reload model",
            on_click=reload_model,
            help="Load the champion model again (after a promotion or the first nightly run).",
        )
        st.caption(
            "Prompts typed or uploaded here are redacted before they are classified and are "
            "neither stored nor logged."
        )
