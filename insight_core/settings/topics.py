"""Parameters of the topic model (BERTopic, UMAP, HDBSCAN): ``InsightSettings.topics``."""

from __future__ import annotations

from pydantic import BaseModel

from insight_core.settings.fields import advanced


class TopicSettings(BaseModel):
    """BERTopic, UMAP and HDBSCAN parameters for ``fit`` mode."""

    # The clustering parameters below are what `insight tune` searches; its best values
    # (<home>/config/topic_params.json) take precedence at the next fit.
    umap_n_neighbors: int = advanced(15)
    umap_n_components: int = advanced(5)
    umap_min_dist: float = advanced(0.0)
    hdbscan_min_cluster_size: int = advanced(10)
    hdbscan_min_samples: int = advanced(5)
    # Topics with fewer than this many documents are merged into their nearest neighbour.
    min_topic_size: int = advanced(10)
    # Inference assigns the outlier topic (-1) below this cosine similarity to every topic.
    min_similarity: float = advanced(0.3)
    training_window_days: int = 28
    # Below this many documents a cold-start fit adds the shipped example set.
    min_training_docs: int = advanced(200)
    extra_stopwords: list[str] = advanced(
        default_factory=lambda: [
            "act",
            "acting",
            "chatgpt",
            "gpt",
            "ai",
            "assistant",
            "write",
            "writing",
            "prompt",
            "please",
            "pls",
            "help",
            "need",
            "want",
            "like",
            "hi",
            "hello",
            "hey",
            "thanks",
            "thank",
            "thx",
            "ok",
            "just",
            "know",
            "make",
            "use",
            "using",
            "get",
            "im",
            "ive",
            "dont",
            "can",
            "could",
            "would",
            "should",
            "tell",
            "give",
            # fragments the tokenizer leaves of contractions ("isn't" -> "isn")
            "isn",
            "doesn",
            "don",
            "didn",
            "wasn",
            "aren",
            "won",
            "couldn",
            "shouldn",
            "wouldn",
            "haven",
            "hasn",
            "ll",
            "ve",
        ]
    )
    random_state: int = advanced(42)
