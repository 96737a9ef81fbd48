"""The MLflow pyfunc wrapper of a model bundle: a DataFrame with ``text`` in, categories and
topics out. With ``insight_core.registry`` the only module that imports MLflow."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import mlflow.pyfunc

from insight_core.inference import Classifier
from insight_core.registry import BUNDLE_ARTIFACT

# MLflow warns at class creation that ``predict`` has no type hints (they would turn on its
# input validation); the wrapper takes any DataFrame with a ``text`` column, so keep logs clean.
# (MLflow re-enables its own UserWarnings with simplefilter("once"), so a filter alone does not
# silence them; showwarning is restored by catch_warnings on exit.)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    warnings.showwarning = lambda *args, **kwargs: None

    # MLflow's base class is untyped (Any) to the type checker.
    class InsightCategoryModel(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined,misc]
        """MLflow pyfunc wrapper: a DataFrame with ``text`` in, categories and topics out."""

        def load_context(self, context: Any) -> None:
            self.classifier = Classifier.from_bundle_dir(Path(context.artifacts[BUNDLE_ARTIFACT]))

        # Left unannotated on purpose: type hints on ``predict`` switch on MLflow's input
        # validation, and the wrapper takes any DataFrame with a ``text`` column.
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            texts = (
                list(model_input["text"]) if hasattr(model_input, "columns") else list(model_input)
            )
            return self.classifier.classify([str(t) for t in texts]).to_pandas()
