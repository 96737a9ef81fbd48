"""Streamlit entry script of the web app (run by ``insight app``)."""

import streamlit as st

from insight_core.serve.webapp import batch, common, failures, single, trends

st.set_page_config(page_title="Employee Insight Engine", layout="wide")
page = st.navigation(
    [
        st.Page(single.render, title="Single prompt", url_path="single", default=True),
        st.Page(batch.render, title="Batch CSV", url_path="batch"),
        st.Page(trends.render, title="Trends", url_path="trends"),
        st.Page(failures.render, title="Failure analysis", url_path="failures"),
    ]
)
page.run()
# After the page: the sidebar names the model version, and the trends page must not wait for
# the model to load before it shows anything.
common.sidebar()
