"""Keyword override rules: high-precision signals that beat the model.

Rules live in YAML. Phrases match whole words and phrases only (``tax`` never fires inside
``syntax``); whitespace inside a phrase matches any run of whitespace; a trailing ``*`` lets the
last word continue (``phish*`` matches phishing). ``unless`` phrases block a rule (known false
friends), and ``negatable`` rules do not fire when a negation closely precedes the match
("I don't need a vacation").
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path

import yaml

from insight_core.errors import ConfigError

NEGATIONS = re.compile(
    r"\b(?:no|not|never|without|nor|neither|don'?t|doesn'?t|didn'?t|isn'?t|aren'?t|won'?t|"
    r"can'?t|cannot|wasn'?t|haven'?t|hasn'?t|shouldn'?t|wouldn'?t)\b",
    re.IGNORECASE,
)
NEGATION_WINDOW_WORDS = 4
_WORD = re.compile(r"\w+")


def text_words(lowered: str) -> set[str]:
    """The words (runs of word characters) of a lower-cased text."""
    return set(_WORD.findall(lowered))


def _phrase_pattern(phrase: str) -> str:
    phrase = phrase.strip()
    open_ended = phrase.endswith("*")
    words = phrase.rstrip("*").split()
    body = r"\s+".join(re.escape(word) for word in words)
    tail = r"\w*" if open_ended else ""
    return f"{body}{tail}"


def _compile(phrases: Sequence[str]) -> re.Pattern[str] | None:
    if not phrases:
        return None
    # The word boundaries wrap the whole alternation rather than each phrase: the same matches
    # in the same order, but ``re`` checks the look-behind once per position instead of once per
    # phrase, which made long pasted prompts 5x slower to scan.
    alternatives = "|".join(_phrase_pattern(p) for p in phrases)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


@dataclass(frozen=True)
class Rule:
    """One override rule."""

    id: str
    category: str
    priority: int
    phrases: tuple[str, ...]
    unless: tuple[str, ...] = ()
    negatable: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pattern", _compile(self.phrases))
        object.__setattr__(self, "_unless", _compile(self.unless))
        # Cheap necessary condition: a phrase can only match if its longest word occurs in the
        # text; most rules are ruled out without a regex. A key word made of word characters
        # must then be one of the text's words (one set lookup per rule, the text's words found
        # once per text); one with other characters ("c++", "can't") or left open ("phish*")
        # is looked for as a piece of the lower-cased text.
        whole_words: set[str] = set()
        pieces: set[str] = set()
        for phrase in self.phrases:
            words = phrase.rstrip("*").lower().split()
            key = max(words, key=len)
            open_ended = phrase.strip().endswith("*") and key == words[-1]
            (pieces if open_ended or not _WORD.fullmatch(key) else whole_words).add(key)
        object.__setattr__(self, "_key_words", frozenset(whole_words))
        object.__setattr__(self, "_key_pieces", tuple(sorted(pieces)))

    def could_match(self, lowered: str, words: AbstractSet[str] | None = None) -> bool:
        """False when no phrase can match ``lowered`` (the text in lower case).

        ``words`` (:func:`text_words` of ``lowered``) can be passed when many rules check one
        text.
        """
        if words is None:
            words = text_words(lowered)
        key_words: frozenset[str] = self._key_words  # type: ignore[attr-defined]
        key_pieces: tuple[str, ...] = self._key_pieces  # type: ignore[attr-defined]
        return not key_words.isdisjoint(words) or any(map(lowered.__contains__, key_pieces))

    def match(
        self, text: str, lowered: str | None = None, words: AbstractSet[str] | None = None
    ) -> str | None:
        """The phrase that makes this rule fire on ``text``, or None.

        ``lowered`` (``text.lower()``) and ``words`` (:func:`text_words` of it) can be passed
        when many rules check one text.
        """
        if not self.could_match(text.lower() if lowered is None else lowered, words):
            return None
        unless: re.Pattern[str] | None = self._unless  # type: ignore[attr-defined]
        if unless is not None and unless.search(text):
            return None
        pattern: re.Pattern[str] = self._pattern  # type: ignore[attr-defined]
        for found in pattern.finditer(text):
            if self.negatable and _negated(text, found.start()):
                continue
            return found.group(0)
        return None


def _negated(text: str, position: int) -> bool:
    # Only look back within the clause: a comma or full stop ends a negation's reach.
    before = re.split(r"[,.;:!?\n]", text[:position])[-1]
    window = " ".join(before.split()[-NEGATION_WINDOW_WORDS:])
    return bool(NEGATIONS.search(window))


@dataclass(frozen=True)
class RuleMatch:
    """The rule that decided a prompt and the phrase it matched."""

    rule_id: str
    category: str
    phrase: str
    priority: int


@dataclass(frozen=True)
class RuleSet:
    """Ordered rules plus the hash of the file they came from."""

    rules: tuple[Rule, ...]
    file_hash: str
    version: str

    def decide(self, text: str) -> RuleMatch | None:
        """The highest-priority firing rule (earlier in the file wins a tie), or None."""
        best: RuleMatch | None = None
        lowered = text.lower()
        words = text_words(lowered)
        for rule in self.rules:
            if best is not None and rule.priority <= best.priority:
                continue
            phrase = rule.match(text, lowered, words)
            if phrase is not None:
                best = RuleMatch(rule.id, rule.category, phrase, rule.priority)
        return best

    def decide_many(self, texts: Sequence[str]) -> list[RuleMatch | None]:
        return [self.decide(text) for text in texts]


def load_rules(path: Path, categories: Sequence[str]) -> RuleSet:
    """Load and check a rules file against the taxonomy's categories."""
    try:
        raw_bytes = path.read_bytes()
        document = yaml.safe_load(raw_bytes) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read rules file {path}: {exc}".splitlines()[0]) from exc
    rules: list[Rule] = []
    seen: set[str] = set()
    for entry in document.get("rules", []):
        rule_id = str(entry.get("id", ""))
        if not rule_id or rule_id in seen:
            raise ConfigError(f"rules file {path}: every rule needs a unique id ('{rule_id}')")
        seen.add(rule_id)
        if entry.get("category") not in categories:
            raise ConfigError(
                f"rules file {path}: rule '{rule_id}' names unknown category "
                f"'{entry.get('category')}'"
            )
        phrases = tuple(str(p) for p in entry.get("phrases", []))
        if not phrases:
            raise ConfigError(f"rules file {path}: rule '{rule_id}' has no phrases")
        rules.append(
            Rule(
                id=rule_id,
                category=entry["category"],
                priority=int(entry.get("priority", 50)),
                phrases=phrases,
                unless=tuple(str(p) for p in entry.get("unless", [])),
                negatable=bool(entry.get("negatable", False)),
                description=str(entry.get("description", "")),
            )
        )
    return RuleSet(
        rules=tuple(rules),
        file_hash=hashlib.sha256(raw_bytes).hexdigest(),
        version=str(document.get("version", "0")),
    )
