"""Errors meant for people: each carries a one-line message the CLI prints as is."""


class InsightError(Exception):
    """A failure with a clear, user-facing explanation (no traceback needed)."""


class SourceError(InsightError):
    """The input source is missing, unreadable or lacks required columns."""


class ConfigError(InsightError):
    """A setting or configuration file is missing or invalid."""


class ModelNotFoundError(InsightError):
    """No topic/category model is available where one is required."""


class ChecksFailedError(InsightError):
    """Warehouse checks returned failing rows; the build was not published."""

    def __init__(self, failures: dict[str, int]) -> None:
        self.failures = failures
        summary = ", ".join(f"{name} ({rows} rows)" for name, rows in sorted(failures.items()))
        super().__init__(f"warehouse checks failed, nothing was published: {summary}")


class FewerRowsError(InsightError):
    """A run would replace a loaded date with fewer rows, and was not told to (``--replace``)."""

    def __init__(self, run_date: object, loaded: int, incoming: int) -> None:
        self.loaded = loaded
        self.incoming = incoming
        super().__init__(
            f"refusing to replace {run_date}: {loaded} prompts are loaded for it and this run "
            f"would leave {incoming}; the published warehouse is unchanged. Check the source "
            "(an unreadable or partial file?), or run again with --replace (flow parameter "
            "replace=true) to replace the date with fewer rows"
        )
