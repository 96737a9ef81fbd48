"""Page: a curated set of hard cases, what the model says about each, and why."""

from __future__ import annotations

import polars as pl
import streamlit as st

from insight_core.inference import Classifier
from insight_core.serve.webapp import common, data


# The leading underscore keeps Streamlit from hashing the classifier; the versions are the key.
@st.cache_data(show_spinner="Classifying the hard cases...", max_entries=4)
def _report(_classifier: Classifier, model_version: str, cases_version: str) -> pl.DataFrame:
    _, cases = data.load_hard_cases()
    return data.hard_case_report(_classifier, cases)


def render() -> None:
    """The failure-analysis page."""
    st.title("Failure analysis")
    settings = common.get_settings()
    cases_version, cases = data.load_hard_cases()
    st.caption(
        f"{len(cases)} invented prompts of the kinds that trip classifiers up (hard cases "
        f"v{cases_version}, `insight_core/resources/hard_cases.yaml`), with the category a "
        "person would choose, what the model says, and why."
    )
    classifier = common.classifier_or_error()
    if classifier is None:
        return
    try:
        report = _report(classifier, classifier.bundle.version, cases_version)
    except Exception as exc:
        st.error(f"Classification failed: {common.describe(exc)}")
        return
    right = int(report.get_column("correct").sum())
    st.metric("Correct", f"{right} of {report.height}")
    by_kind = (
        report.group_by("kind", maintain_order=True)
        .agg(pl.len().alias("cases"), pl.col("correct").sum().alias("correct"))
        .with_columns((pl.col("correct") / pl.col("cases")).round(2).alias("accuracy"))
    )
    st.dataframe(by_kind, hide_index=True)
    kinds = by_kind.get_column("kind").to_list()
    chosen = st.multiselect("Kinds", kinds, default=kinds)
    only_wrong = st.toggle("Only the cases the model gets wrong")
    shown = report.filter(pl.col("kind").is_in(chosen))
    if only_wrong:
        shown = shown.filter(~pl.col("correct"))
    st.dataframe(
        shown.select(
            "kind",
            "text",
            "expected",
            "category",
            "correct",
            "decided_by",
            "rule_id",
            "confidence",
            "runner_up",
            "note",
        ),
        hide_index=True,
        column_config={
            "correct": st.column_config.CheckboxColumn("correct"),
            "confidence": st.column_config.ProgressColumn(
                "confidence", min_value=0.0, max_value=1.0, format="%.2f"
            ),
        },
    )
    st.subheader("Why")
    for row in shown.iter_rows(named=True):
        mark = "right" if row["correct"] else "wrong"
        with st.expander(f"[{mark}] {row['kind']}: {row['text'][:80]}"):
            st.markdown(
                f"Expected **{row['expected']}**, the engine says **{row['category']}**. "
                + data.explain(row, settings.abstain_threshold, classifier.taxonomy.fallback)
            )
            st.markdown(
                f"The category head alone ranks **{row['model_top']}** first and "
                f"**{row['runner_up']}** second ({row['runner_up_probability']:.0%}); "
                f"topic: {row['topic_label']}."
            )
            st.caption(row["note"])
