"""Page: classify one prompt and show the evidence (rule, confidence, topic, runner-ups)."""

from __future__ import annotations

import streamlit as st

from insight_core.prep.redact import redact_text
from insight_core.serve.webapp import common, data


def render() -> None:
    """The single-prompt page."""
    st.title("Single prompt")
    st.caption(
        "What the champion model says about one prompt, and why. The text is redacted first "
        "(e-mails, phone numbers, secrets...) and is not stored."
    )
    settings = common.get_settings()
    classifier = common.classifier_or_error()
    with st.form("single_prompt"):
        text = st.text_area(
            "Prompt",
            height=140,
            max_chars=settings.max_text_chars,
            placeholder="e.g. My VPN drops every few minutes when I work from home",
        )
        submitted = st.form_submit_button("Classify", type="primary")
    if not submitted or classifier is None:
        return
    if not text.strip():
        st.warning("Type a prompt first.")
        return
    try:
        row = classifier.classify([text]).row(0, named=True)
        probabilities = data.category_probabilities(classifier, [text])
    except Exception as exc:
        st.error(f"Classification failed: {common.describe(exc)}")
        return
    taxonomy = classifier.taxonomy
    with st.container(key="single_result", border=True):
        category, confidence, decided = st.columns(3)
        category.metric("Category", row["category"])
        confidence.metric("Confidence", f"{row['confidence']:.0%}")
        decided.metric("Decided by", row["decided_by"])
        if row["rule_id"]:
            top = probabilities.sort("probability", descending=True).row(0, named=True)
            st.markdown(
                f'**Rule fired:** `{row["rule_id"]}` on "{row["matched_phrase"]}". Rules beat '
                f"the model; the category head alone would say `{top['category']}` "
                f"({top['probability']:.0%})."
            )
        else:
            st.markdown(
                "**Rule fired:** none. "
                + data.explain(row, settings.abstain_threshold, taxonomy.fallback)
            )
        st.markdown(f"**Topic {row['topic_id']}:** {row['topic_label']}")
        st.caption(f"Topic words: {row['topic_words'] or '(none)'}")
        st.markdown("**The model's view** (category head, before rules and the abstain threshold)")
        st.bar_chart(
            probabilities.select("category", "probability").sort("probability", descending=True),
            x="category",
            y="probability",
            horizontal=True,
            sort="-probability",
        )
        with st.expander("Text as the model saw it (after redaction)"):
            st.code(redact_text(text), language=None, wrap_lines=True)
