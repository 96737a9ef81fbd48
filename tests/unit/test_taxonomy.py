from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from insight_core.errors import ConfigError
from insight_core.nlp.taxonomy import examples_fingerprint, load_examples, load_taxonomy
from insight_core.settings import InsightSettings

pytestmark = pytest.mark.unit

EXPECTED = {
    "coding",
    "it_support",
    "hr_employment",
    "wellbeing",
    "legal_compliance",
    "finance",
    "learning_development",
    "writing_communication",
    "creative_writing",
    "other",
}


def test_shipped_taxonomy_and_examples() -> None:
    settings = InsightSettings()
    taxonomy = load_taxonomy(settings.taxonomy_file)
    assert set(taxonomy.categories) == EXPECTED and taxonomy.fallback == "other"
    assert all(len(d) > 40 for d in taxonomy.descriptions.values())
    examples = load_examples(settings.examples_file, taxonomy)
    counts = Counter(examples.get_column("category").to_list())
    assert set(counts) == EXPECTED
    assert min(counts.values()) >= 40
    assert examples.get_column("text").n_unique() == examples.height


def test_user_examples_extend_the_shipped_set(tmp_path: Path) -> None:
    settings = InsightSettings()
    taxonomy = load_taxonomy(settings.taxonomy_file)
    extra = tmp_path / "mine.csv"
    extra.write_text("text,category\nhow do I file a travel claim,finance\n")
    base = load_examples(settings.examples_file, taxonomy)
    extended = load_examples(settings.examples_file, taxonomy, [extra])
    assert extended.height == base.height + 1
    assert examples_fingerprint(extended) != examples_fingerprint(base)
    extra.write_text("text,category\nx,astrology\n")
    with pytest.raises(ConfigError, match="unknown categories"):
        load_examples(settings.examples_file, taxonomy, [extra])
