"""Preparing a night's prompts: ingest a source, validate rows (quarantined, never lost) and
redact PII."""
