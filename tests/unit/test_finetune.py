"""How the category adapter's training rows are drawn."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from insight_core.modelling.examples import (
    DESCRIPTIONS_FAMILY,
    EXAMPLES_FAMILY,
    EXAMPLES_HEAD_SHARE,
)
from insight_core.modelling.finetune import adapter_weights

pytestmark = pytest.mark.unit


def test_the_team_rows_carry_the_heads_share_and_sources_keep_their_ratios() -> None:
    frame = pl.DataFrame(
        {
            "family": [EXAMPLES_FAMILY] * 3 + [DESCRIPTIONS_FAMILY] + ["pool-a"] * 4 + ["pool-b"],
            "weight": [1.0, 1.0, 1.0, 2.0, 0.5, 0.5, 0.5, 0.5, 3.0],
        }
    )
    weights = adapter_weights(frame)
    team = np.arange(len(frame)) < 4
    assert weights[team].sum() / weights.sum() == pytest.approx(EXAMPLES_HEAD_SHARE)
    # Within each part the source weights keep their ratios.
    assert weights[3] / weights[0] == pytest.approx(2.0)
    assert weights[8] / weights[4] == pytest.approx(6.0)


def test_only_one_part_keeps_its_weights() -> None:
    frame = pl.DataFrame({"family": ["pool-a", "pool-b"], "weight": [1.0, 3.0]})
    assert adapter_weights(frame).tolist() == [1.0, 3.0]
