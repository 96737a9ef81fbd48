"""Language pieces of the decision: embedder, override rules, taxonomy, category head, the
decision itself and topics."""
