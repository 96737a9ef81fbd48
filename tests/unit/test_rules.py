from __future__ import annotations

from pathlib import Path

import pytest

from insight_core.errors import ConfigError
from insight_core.nlp.rules import Rule, RuleSet, load_rules

pytestmark = pytest.mark.unit

CATEGORIES = ("finance", "coding", "it_support", "hr_employment", "other")


def _ruleset(*rules: Rule) -> RuleSet:
    return RuleSet(rules=rules, file_hash="x", version="t")


def test_phrases_match_whole_words_only() -> None:
    tax = Rule("tax", "finance", 50, ("tax",))
    assert tax.match("how much tax do I owe") == "tax"
    assert tax.match("syntax error on line 3") is None
    assert tax.match("taxes") is None
    api = Rule("api", "coding", 50, ("api",))
    assert api.match("what is the capital of France") is None
    assert api.match("call the API twice") == "API"


def test_phrases_allow_flexible_whitespace_and_open_endings() -> None:
    rule = Rule("phish", "it_support", 50, ("phish*", "reset my password"))
    assert rule.match("I clicked a PHISHING link") == "PHISHING"
    assert rule.match("please reset   my\npassword") is not None
    assert rule.match("sophisticated phish") == "phish"
    assert rule.match("morphism") is None


def test_key_words_with_symbols_or_open_endings_still_reach_the_phrase() -> None:
    # The pre-check looks a key word up among the text's words; these key words are not plain
    # words ("c++", "can't", "self-harm") or continue ("phish*" in phishing), so they are
    # looked for as pieces of the text instead.
    rules = _ruleset(
        Rule("cpp", "coding", 50, ("c++", "two-factor")),
        Rule("login", "it_support", 60, ("can't log in",)),
        Rule("phish", "it_support", 70, ("phishing*",)),
    )
    cases = {
        "template error in C++ code": "cpp",
        "set up Two-Factor on my phone": "cpp",
        "I can't   log in since Monday": "login",
        "report these PhishingAttempts": "phish",
        "nothing of that kind": None,
    }
    for text, rule_id in cases.items():
        match = rules.decide(text)
        assert (match.rule_id if match else None) == rule_id, text


def test_unless_blocks_known_false_friends() -> None:
    rule = Rule("vpn", "it_support", 50, ("vpn",), unless=("vpn market",))
    assert rule.match("my vpn is down") == "vpn"
    assert rule.match("summarise the vpn market report") is None


def test_negation_blocks_negatable_rules_within_the_clause() -> None:
    vacation = Rule("leave", "hr_employment", 50, ("vacation",), negatable=True)
    assert vacation.match("I don't need a vacation, I need my VPN fixed") is None
    assert vacation.match("can I book a vacation in May") == "vacation"
    # a negation in an earlier clause does not reach the match
    assert vacation.match("not urgent, but how many vacation days are left") == "vacation"


def test_highest_priority_wins_and_ties_go_to_the_first_rule() -> None:
    rules = _ruleset(
        Rule("hr", "hr_employment", 50, ("vacation",), negatable=True),
        Rule("vpn", "it_support", 70, ("vpn",)),
        Rule("vpn_low", "other", 70, ("vpn",)),
    )
    match = rules.decide("I don't need a vacation, I need my VPN fixed")
    assert match is not None and (match.rule_id, match.category) == ("vpn", "it_support")
    assert rules.decide("nothing relevant here") is None


def test_load_rules_checks_categories_and_ids(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("version: 2\nrules:\n  - id: a\n    category: finance\n    phrases: [tax]\n")
    loaded = load_rules(path, CATEGORIES)
    assert loaded.version == "2" and len(loaded.file_hash) == 64
    path.write_text("rules:\n  - id: a\n    category: nope\n    phrases: [tax]\n")
    with pytest.raises(ConfigError, match="unknown category"):
        load_rules(path, CATEGORIES)
    path.write_text(
        "rules:\n  - {id: a, category: finance, phrases: [x]}\n"
        "  - {id: a, category: finance, phrases: [y]}\n"
    )
    with pytest.raises(ConfigError, match="unique id"):
        load_rules(path, CATEGORIES)
