"""Employee Insight Engine: the domain library behind the nightly pipeline.

Everything here is importable and testable without Prefect or MLflow; the orchestration
lives in ``flows/`` and ``tasks/``.
"""

__version__ = "0.1.0"
