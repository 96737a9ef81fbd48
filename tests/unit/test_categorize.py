from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from insight_core.nlp.decision import decide_categories, majority_categories
from insight_core.nlp.embed import HashingEmbedder
from insight_core.nlp.head import CategoryHead, train_category_head
from insight_core.nlp.rules import Rule, RuleSet

pytestmark = pytest.mark.unit

TEXTS = [
    "vpn down",
    "vpn broken again",
    "vpn wont connect",
    "payslip missing",
    "when is payday",
    "payslip wrong amount",
    "python list sort",
    "python dict merge",
    "python loop slow",
]
LABELS = ["it_support"] * 3 + ["hr_employment"] * 3 + ["coding"] * 3


@pytest.fixture
def head() -> CategoryHead:
    return train_category_head(HashingEmbedder(64).embed(TEXTS), LABELS)


def test_head_round_trips_through_safetensors(head: CategoryHead, tmp_path: Path) -> None:
    head.save(tmp_path)
    loaded = CategoryHead.load(tmp_path)
    vectors = HashingEmbedder(64).embed(["vpn down please"])
    assert loaded.classes == head.classes
    assert np.array_equal(loaded.weights, head.weights)
    assert np.allclose(loaded.predict_proba(vectors), head.predict_proba(vectors))
    training = HashingEmbedder(64).embed(TEXTS)
    predicted = [loaded.classes[i] for i in loaded.predict_proba(training).argmax(axis=1)]
    assert predicted == LABELS
    assert np.isclose(loaded.predict_proba(vectors).sum(), 1.0)


def test_rules_beat_the_model_and_low_confidence_abstains(head: CategoryHead) -> None:
    rules = RuleSet((Rule("pay", "hr_employment", 50, ("payslip",)),), "h", "1")
    texts = ["my vpn and payslip", "vpn down", "completely unrelated words"]
    decisions = decide_categories(
        texts,
        HashingEmbedder(64).embed(texts),
        rules,
        head,
        abstain_threshold=0.9,
        fallback="other",
    )
    assert (decisions[0].category, decisions[0].decided_by, decisions[0].rule_id) == (
        "hr_employment",
        "rule",
        "pay",
    )
    assert decisions[0].confidence == 1.0
    assert decisions[1].decided_by == "model"
    assert decisions[2].category == "other" and decisions[2].decided_by == "model"
    assert decisions[2].confidence < 0.9


def test_majority_category_is_not_forced_on_mixed_topics() -> None:
    result = majority_categories([0, 0, 0, 1, 1, 1, 1], ["a", "a", "b", "a", "b", "c", "d"])
    assert result == {0: "a", 1: None}
