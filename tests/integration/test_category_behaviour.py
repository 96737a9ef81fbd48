"""Behaviour of the category decision with the real embedding model and the shipped head.

Minimum-functionality cases per category, invariance to greetings, typos and paraphrase, the
seed failures of the substring classifier this project replaced, and the wellbeing boundary.
None of these prompts is in the shipped example set.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from insight_core.modelling.examples import train_head
from insight_core.nlp.decision import decide_categories, embed_views
from insight_core.nlp.embed import embed_with_cache
from insight_core.nlp.taxonomy import load_examples
from insight_core.runtime import get_embedder, load_decision_config
from insight_core.settings import InsightSettings

pytestmark = pytest.mark.integration

Decide = Callable[[list[str]], list[str]]


@pytest.fixture(scope="module")
def decide(tmp_path_factory: pytest.TempPathFactory) -> Decide:
    # The transformer head's own behaviour (full-length float32 vectors), without the cascade.
    settings = InsightSettings(
        home=tmp_path_factory.mktemp("behaviour-home"), embedding_cascade=False
    )
    taxonomy, rules = load_decision_config(settings)
    embedder = get_embedder(settings)
    head, _ = train_head(settings, taxonomy, embedder, None)

    def run(texts: list[str]) -> list[str]:
        vectors, _ = embed_with_cache(texts, embedder, None)
        return [
            d.category
            for d in decide_categories(
                texts,
                vectors,
                rules,
                head,
                settings.abstain_threshold,
                taxonomy.fallback,
                views=embed_views(texts, embedder, None),
            )
        ]

    return run


MINIMUM_FUNCTIONALITY = {
    "coding": [
        "why does my for loop in javascript skip the last element",
        "write a bash one-liner that counts lines in all csv files",
        "refactor this java class to use dependency injection",
    ],
    "it_support": [
        "teams crashes every time I try to share my screen",
        "can't connect to the office wifi since this morning",
        "need access to the marketing shared drive please",
    ],
    "hr_employment": [
        "how many vacation days carry over to next year",
        "who do I talk to about changing my dental plan",
        "what is the policy for working from home two days a week",
    ],
    "wellbeing": [
        "I feel anxious every sunday night before work and can't sleep",
        "since my dad died I can't focus on anything, how do I cope",
        "my manager shouts at me in meetings and I dread coming in",
    ],
    "legal_compliance": [
        "can our app store users' location data without consent",
        "is this clause in the supplier contract enforceable",
        "are we allowed to use GPL code in our commercial product",
    ],
    "finance": [
        "what was our operating margin last quarter compared to the year before",
        "how much do I still owe on my credit card",
        "build a cash flow forecast for the next six months",
    ],
    "learning_development": [
        "create a four-week study plan for the AWS solutions architect exam",
        "explain recursion like I'm ten and then quiz me",
        "design a one-day workshop curriculum on negotiation skills",
    ],
    "writing_communication": [
        "make this email to the client sound more polite",
        "summarise these meeting notes into five bullet points",
        "how do you say 'see you tomorrow' in italian",
    ],
    "creative_writing": [
        "write a funny limerick about our printer",
        "come up with a tagline for our new coffee brand",
        "write the opening scene of a sci-fi screenplay set on mars",
    ],
    "other": [
        "what's a good recipe for banana bread",
        "how long is the drive from boston to new york",
        "who won the world cup in 2014",
    ],
}


@pytest.mark.parametrize("category", sorted(MINIMUM_FUNCTIONALITY))
def test_minimum_functionality(decide: Decide, category: str) -> None:
    prompts = MINIMUM_FUNCTIONALITY[category]
    assert decide(prompts) == [category] * len(prompts)


SEED_FAILURES = [
    ("what is the right syntax for a left join in postgres", "coding"),
    ("which city is the capital of australia", "other"),
    ("my lawn has brown patches, which fertiliser should I use", "other"),
    (
        "I've been working 70-hour weeks for two months. I'm exhausted, burnt out and I've "
        "started having panic attacks at night. I don't know what to do.",
        "wellbeing",
    ),
    ("the server is on fire, prod is down since 9am", "it_support"),
    ("I don't need a holiday, I need my VPN working again", "it_support"),
]


@pytest.mark.parametrize(("prompt", "expected"), SEED_FAILURES)
def test_seed_failures_are_decided_correctly(decide: Decide, prompt: str, expected: str) -> None:
    assert decide([prompt]) == [expected]


INVARIANCE = [
    ("how do I reset my laptop password", "it_support"),
    ("write a python function that removes duplicates from a list", "coding"),
    ("how many days of annual leave do I have left", "hr_employment"),
    ("summarise this report for my boss in three sentences", "writing_communication"),
    ("I feel completely overwhelmed and I can't stop crying at my desk", "wellbeing"),
    ("write a short poem about the last day before the holidays", "creative_writing"),
]


def _typo(text: str) -> str:
    words = text.split()
    longest = max(range(len(words)), key=lambda i: len(words[i]))
    word = words[longest]
    words[longest] = word[:2] + word[3] + word[2] + word[4:]  # swap two letters
    return " ".join(words)


@pytest.mark.parametrize(("prompt", "expected"), INVARIANCE)
def test_greetings_typos_and_politeness_do_not_flip_the_category(
    decide: Decide, prompt: str, expected: str
) -> None:
    variants = [
        prompt,
        f"hi there! {prompt}",
        f"{prompt}, thanks a lot",
        _typo(prompt),
        prompt.upper(),
        f"Hey, quick one: {prompt}?",
    ]
    assert decide(variants) == [expected] * len(variants)


PARAPHRASES = {
    "it_support": [
        "outlook won't open, it just hangs on the loading screen",
        "my email client freezes on startup every time",
        "Outlook is stuck loading and never opens",
    ],
    "finance": [
        "how did revenue change between 2022 and 2023",
        "what was the year-over-year revenue growth in 2023",
        "compare this year's revenue to last year's",
    ],
}


@pytest.mark.parametrize("category", sorted(PARAPHRASES))
def test_paraphrases_land_in_the_same_category(decide: Decide, category: str) -> None:
    assert set(decide(PARAPHRASES[category])) == {category}


def test_research_about_burnout_is_not_distress(decide: Decide) -> None:
    prompts = [
        "I need slides summarising research on burnout for the leadership offsite",
        "find statistics on employee burnout rates for my quarterly HR report",
    ]
    assert "wellbeing" not in decide(prompts)


def test_examples_file_holds_none_of_these_prompts() -> None:
    settings = InsightSettings()
    taxonomy, _ = load_decision_config(settings)
    shipped = {t.lower() for t in load_examples(settings.examples_file, taxonomy)["text"]}
    tested = [p for group in MINIMUM_FUNCTIONALITY.values() for p in group]
    tested += [p for p, _ in SEED_FAILURES + INVARIANCE]
    assert not [p for p in tested if p.lower() in shipped]


@pytest.mark.shared_data
def test_dev_set_meets_the_quality_target(shared_data: Path, tmp_path: Path) -> None:
    """Real prompts the model never saw: macro-F1 >= 0.85, no category under 0.70."""
    from insight_core.lifecycle.evaluate import run_evaluation

    settings = InsightSettings(home=tmp_path / "eval-home")
    hybrid, rules_only, model_only = run_evaluation(
        settings, shared_data / "dev_labeled.csv", use_current_model=False
    )
    assert hybrid.macro_f1 >= 0.85
    assert hybrid.per_category["f1"].min() >= 0.70
    # the rule layer is for high-precision signals only
    assert rules_only.extra["rule_precision"] >= 0.9
    assert model_only.macro_f1 >= 0.80
