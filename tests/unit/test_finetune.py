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
            "category": ["coding"] * 9,
        }
    )
    weights = adapter_weights(frame)
    team = np.arange(len(frame)) < 4
    assert weights[team].sum() / weights.sum() == pytest.approx(EXAMPLES_HEAD_SHARE)
    # Within each part the source weights keep their ratios.
    assert weights[3] / weights[0] == pytest.approx(2.0)
    assert weights[8] / weights[4] == pytest.approx(6.0)


def test_only_one_part_keeps_its_weights() -> None:
    frame = pl.DataFrame(
        {"family": ["pool-a", "pool-b"], "weight": [1.0, 3.0], "category": ["coding"] * 2}
    )
    assert adapter_weights(frame).tolist() == pytest.approx([0.25, 0.75])


def test_a_share_of_the_draws_is_spread_evenly_over_the_categories() -> None:
    # A thin category (one row of four, a quarter of the source weight) gets half the draws
    # at full balance and between the two at half balance; rows keep their ratios within it.
    frame = pl.DataFrame(
        {
            "family": ["pool-a", "pool-a", "pool-b", "pool-b"],
            "weight": [1.0, 2.0, 3.0, 2.0],
            "category": ["coding", "coding", "coding", "creative_writing"],
        }
    )
    by_source = adapter_weights(frame, class_balance=0.0)
    assert by_source.tolist() == pytest.approx([0.125, 0.25, 0.375, 0.25])
    balanced = adapter_weights(frame, class_balance=1.0)
    assert balanced[3] == pytest.approx(0.5) and balanced[:3].sum() == pytest.approx(0.5)
    assert balanced[1] / balanced[0] == pytest.approx(2.0)
    half = adapter_weights(frame)
    assert half.sum() == pytest.approx(1.0)
    assert half[3] == pytest.approx(0.5 * 0.25 + 0.5 * 0.5)
