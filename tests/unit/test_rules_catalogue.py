"""Every shipped override rule fires where it should and stays quiet on a near miss."""

from __future__ import annotations

import pytest

from insight_core.nlp.rules import RuleSet, load_rules
from insight_core.nlp.taxonomy import load_taxonomy
from insight_core.settings import InsightSettings

pytestmark = pytest.mark.unit

# rule id -> (prompts it must decide, near misses it must not fire on)
CASES: dict[str, tuple[list[str], list[str]]] = {
    "wellbeing_crisis": (
        ["some days I just want to die, nothing helps", "I keep thinking about self-harm"],
        [
            "summarise our self-harm policy for managers",
            "the die casting machine is broken",
            "a character in my novel becomes suicidal in chapter three",
        ],
    ),
    "wellbeing_first_person_distress": (
        [
            "I'm burnt out after 70-hour weeks and I keep having panic attacks",
            "honestly i feel so overwhelmed and i can't cope anymore",
        ],
        [
            "I'm not depressed, just curious how antidepressants work",
            "slides on research about people who feel burned out at work",
            "the build pipeline is burning out our CI minutes",
        ],
    ),
    "it_vpn": (
        ["my vpn keeps dropping every ten minutes", "GlobalProtect says gateway unreachable"],
        ["write a summary of the vpn market for investors", "explain how a vpn works"],
    ),
    "it_account_access": (
        ["I'm locked out of my account after the update", "need a password reset for SAP"],
        ["implement a password reset endpoint in Flask", "passwords for the wifi party game"],
    ),
    "it_hardware_devices": (
        ["the printer keeps jamming on floor 3", "laptop won't boot after the update"],
        [
            "make this page printer friendly with css",
            "laptops for the sales team budget",
            "I left the minutes of the meeting on the printer tray for you",
        ],
    ),
    "it_server_down": (
        ["prod is down and customers are calling", "the server is on fire, nothing responds"],
        [
            "write a poem about servers",
            "the downtown office party is on friday",
            "write a story set during a city-wide power outage",
        ],
    ),
    "hr_leave_pay": (
        [
            "how many pto days do I have left",
            "when is payday this month",
            "where can I download my W-2",
        ],
        [
            "I don't need pto, I need my vpn fixed",
            "draft an email to my manager about pto",
            "optometrist appointment near me",
            "my late uncle's 401k has no named beneficiary",
        ],
    ),
    "hr_people_processes": (
        ["what is the notice period in my contract", "when is my performance review due"],
        ["draft a performance review for my report", "performance of the new database index"],
    ),
    "legal_privacy_regulation": (
        [
            "does this vendor need a data processing agreement under GDPR",
            "a customer asked us to delete their data under the right to be forgotten",
        ],
        [
            "add it to the agenda for the team meeting",
            "flights to Rwanda in march",
            "I signed an NDA when I joined, can my employer stop me talking about my pay",
        ],
    ),
    "coding_errors": (
        [
            "Traceback (most recent call last): KeyError: 'id' what does this mean",
            "I get a syntax error near FROM in this query",
        ],
        ["is there a syntax for writing haiku", "what is a type of error in statistics"],
    ),
    "coding_languages": (
        [
            "how do I merge two dicts in python",
            "write a regex for uk postcodes",
            "refactor this java class to use dependency injection",
        ],
        ["teach me python from scratch as a study plan", "is this pythonic enough"],
    ),
    "writing_translation": (
        ["translate this paragraph into german", "how do you say thank you in japanese"],
        ["translate this python function to javascript", "teach me how to say hello in spanish"],
    ),
    "writing_summarise": (
        [
            "summarize this: the board met on monday and agreed the budget",
            "please proofread my cover letter",
        ],
        [
            "write a short story and summarise the plot in a poem",
            "summary statistics in sql",
            "long story about my landlord below. TL;DR: he kept my deposit, what can I do",
        ],
    ),
    "creative_forms": (
        ["write a haiku about the monday standup", "a short story about a lost umbrella"],
        ["translate this poem into french", "analyze the poem we read in class"],
    ),
    "finance_terms": (
        ["what was the gross margin in 2019", "what is the interest rate on my credit card"],
        [
            "write a python function for compound interest rate",
            "the cash register game",
            "the debt collector says I owe them for an old credit card, do I have to pay",
        ],
    ),
    "learning_requests": (
        ["quiz me on the GDPR principles", "make flashcards on the basics of SQL joins"],
        [
            "the teacher quizzed me yesterday, write a story",
            "flash memory card not detected",
            "write a song whose chorus goes 'teach me how to let you go'",
        ],
    ),
}


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    settings = InsightSettings()
    return load_rules(settings.rules_file, load_taxonomy(settings.taxonomy_file).categories)


def test_every_rule_has_cases(rules: RuleSet) -> None:
    assert {rule.id for rule in rules.rules} == set(CASES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fires_and_decides(rules: RuleSet, rule_id: str) -> None:
    rule = next(r for r in rules.rules if r.id == rule_id)
    for prompt in CASES[rule_id][0]:
        assert rule.match(prompt) is not None, prompt
        decision = rules.decide(prompt)
        assert decision is not None and decision.category == rule.category, prompt


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_stays_quiet_on_near_misses(rules: RuleSet, rule_id: str) -> None:
    rule = next(r for r in rules.rules if r.id == rule_id)
    for prompt in CASES[rule_id][1]:
        assert rule.match(prompt) is None, prompt


@pytest.mark.parametrize(
    "prompt",
    [
        "what is the syntax for a left join",
        "the capital of France is Paris",
        "my lawn has brown patches",
        "the vpnx tool is a made-up name",
        "metaxes and taxonomy of beetles",
        "apricots and aprons",
    ],
)
def test_no_rule_fires_inside_another_word(rules: RuleSet, prompt: str) -> None:
    for rule in rules.rules:
        phrase = rule.match(prompt)
        if phrase is None:
            continue
        # whatever fired must be a whole word of the prompt, never a piece of one
        words = prompt.lower().replace(",", " ").split()
        assert all(part in words for part in phrase.lower().split()), (rule.id, phrase)
