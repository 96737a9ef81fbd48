"""Page: classify a CSV file, with a progress bar, a preview and a download."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import streamlit as st

from insight_core.errors import InsightError
from insight_core.serve.webapp import common, data

PREVIEW_ROWS = 50


def render() -> None:
    """The batch CSV page."""
    st.title("Batch CSV")
    settings = common.get_settings()
    st.caption(
        f"Upload a CSV with one prompt per row (up to {settings.app_max_rows:,} rows), choose "
        "the column that holds the text, and download the file with category, evidence and "
        "topic columns added. For larger files use `insight classify`."
    )
    classifier = common.classifier_or_error()
    uploaded = st.file_uploader("CSV file", type=["csv"])
    if uploaded is None or classifier is None:
        return
    try:
        frame = data.read_csv_upload(uploaded.getvalue(), settings.app_max_rows)
    except InsightError as exc:
        st.error(str(exc))
        return
    columns = frame.columns
    column = st.selectbox(
        "Text column", columns, index=columns.index(data.default_text_column(frame))
    )
    st.caption(f"{frame.height:,} rows, {len(columns)} columns")
    key = (uploaded.file_id, column)
    if st.button("Classify", type="primary"):
        bar = st.progress(0.0, text="Classifying...")

        def advance(done: int, total: int) -> None:
            bar.progress(done / total, text=f"Classified {done:,} of {total:,} rows")

        try:
            result = data.classify_frame(classifier, frame, column, progress=advance)
        except Exception as exc:
            st.error(f"Classification failed: {common.describe(exc)}")
            return
        # Kept across reruns so that the download click does not classify the file again.
        st.session_state["batch_result"] = (key, result)
    stored = st.session_state.get("batch_result")
    if not stored or stored[0] != key:
        return
    shown: pl.DataFrame = stored[1]
    with st.container(key="batch_result"):
        st.success(f"Classified {shown.height:,} rows.")
        counts = shown.group_by("category").len("prompts").sort("prompts", descending=True)
        st.bar_chart(counts, x="category", y="prompts", horizontal=True, sort="-prompts")
        st.markdown(f"**Preview** (first {min(PREVIEW_ROWS, shown.height)} rows)")
        st.dataframe(shown.head(PREVIEW_ROWS), hide_index=True)
        st.download_button(
            "Download classified CSV",
            data=shown.write_csv(),
            file_name=f"{Path(uploaded.name).stem}-classified.csv",
            mime="text/csv",
            type="primary",
            on_click="ignore",
        )
