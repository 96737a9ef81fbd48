"""Model artefacts and how they are scored: the model bundle, decision metrics, topic quality
and the head learned from the shipped examples."""
