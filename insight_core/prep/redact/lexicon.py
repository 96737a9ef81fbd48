"""The word lists that tell names from words: the name gazetteer, common English words,
products, places, and the shapes of a capitalised name word. Each list is loaded once per
process."""

from __future__ import annotations

import gzip
import re
from functools import lru_cache
from typing import NamedTuple

from insight_core.settings import resource_path

# A name part this frequent as an English word (wordfreq Zipf scale: 4.5 = 30 per million
# words, e.g. "grace", "mark", "will") is a person's name only with a cue or an unambiguous
# neighbour.
_COMMON_WORD_ZIPF = 4.5
# A lone capitalised first name without any cue must be rare as a word ("Priya", not "Bert").
_LONE_NAME_ZIPF = 3.0
# After a weak cue ("with", "ask") a lone name must be rarer than this as a word.
_WEAK_CUE_ZIPF = 4.0
# A last name rarer than this as a word makes a capitalised pair a name even after a common
# first name ("Rose Bennett"; not "German Shepherd", "Deep Purple").
_SURNAME_ZIPF = 4.1
# Function words ("the", "my", "as") never start a name, even where a name list has them.
_FUNCTION_WORD_ZIPF = 5.8

_UPPER = "A-ZÀ-ÖØ-Þ"
_WORD = r"[^\W\d_]+(?:[-'’][^\W\d_]+)*"
# A capitalised word: "Raman", "Ana-Lucía", "O'Neill", "McCartney" (inner capitals after a
# Mc/Mac prefix), not an acronym ("AWS").
_CAP_TAIL = rf"[^\W\d_{_UPPER}]+(?:[{_UPPER}][^\W\d_{_UPPER}]+)?(?:[-'’][{_UPPER}]?[^\W\d_]+)*"
_CAP_WORD = rf"[{_UPPER}]{_CAP_TAIL}"
# Names of AI assistants and products that are also first names: the subject of many prompts,
# never a person to protect.
_NOT_PEOPLE = frozenset(
    {
        "claude",
        "gemini",
        "siri",
        "alexa",
        "cortana",
        "copilot",
        "grok",
        "llama",
        "mistral",
        "bard",
        "jarvis",
        "devin",
        "ollama",
        "jasper",
        "ada",
    }
)


class NameEntry(NamedTuple):
    """What the gazetteer knows of one lower-cased name part (a tuple, so the list loads fast)."""

    first: bool
    last: bool
    common: bool  # also a common English word
    rare_word: bool  # rare as an English word: safe to take alone
    function_word: bool = False
    zipf: float = 0.0  # frequency as an English word (Zipf scale)


@lru_cache(maxsize=1)
def name_gazetteer() -> dict[str, NameEntry]:
    """The shipped first/last-name list (see ``benchmarks/derive_person_names.py``), loaded once."""
    entries: dict[str, NameEntry] = {}
    lines = gzip.decompress(resource_path("person_names.tsv.gz").read_bytes()).decode("utf-8")
    for line in lines.splitlines()[1:]:
        name, kinds, zipf = line.split("\t")
        frequency = float(zipf)
        entries[name] = NameEntry(
            "F" in kinds,
            "L" in kinds,
            frequency >= _COMMON_WORD_ZIPF,
            frequency < _LONE_NAME_ZIPF,
            frequency >= _FUNCTION_WORD_ZIPF,
            frequency,
        )
    return entries


# Surnames the list may lack but whose shape says "surname": McCartney, MacLeod, O'Neill.
_SURNAME_SHAPE = re.compile(rf"(?:Mc|Mac|O['’]|D['’])[{_UPPER}][^\W\d_{_UPPER}]")
_SHAPED_SURNAME = NameEntry(False, True, False, True, False, 0.0)


def _lookup(word: str, names: dict[str, NameEntry]) -> NameEntry | None:
    """A name part, or its hyphen-joined parts ("Ana-Lucía": "ana"), in the gazetteer."""
    lowered = word.lower().rstrip("'’s") if word.lower().endswith(("'s", "’s")) else word.lower()
    entry = names.get(lowered)
    if entry is None and _SURNAME_SHAPE.match(word):
        return _SHAPED_SURNAME
    if entry is not None or "-" not in lowered:
        return entry
    # A double name counts only when every part is a name ("Ana-Lucía", not "Elo-style").
    parts = [names.get(part) for part in lowered.split("-")]
    if any(part is None for part in parts):
        return None
    known = [part for part in parts if part is not None]
    return NameEntry(
        any(p.first for p in known),
        any(p.last for p in known),
        any(p.common for p in known),
        all(p.rare_word for p in known),
        any(p.function_word for p in known),
        max(p.zipf for p in known),
    )


# Particles inside a name ("Jan-Willem van den Berg", "Siobhán Ní Bhriain", "Abu Bakr bin
# Salleh"): allowed between a name's words, never alone a name.
_PARTICLES = frozenset(
    """
    van von den der de del della di da das dos du le la bin binti bint ibn ben al el ter ten
    zu y e ó ní nic mac mc ap ua
    """.split()  # noqa: SIM905
)


def _read_word_list(name: str) -> set[str]:
    path = resource_path(name)
    raw = path.read_bytes()
    text = (gzip.decompress(raw) if name.endswith(".gz") else raw).decode("utf-8")
    return {line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"}


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Lower-cased words that are no person's name on their own: common English words (the
    topic word list, which leaves out names), rarer dictionary words (``english_words.txt.gz``,
    see ``benchmarks/derive_english_words.py``), the workplace glossary and product names."""
    return frozenset(
        _read_word_list("topic_words.txt.gz")
        | _read_word_list("english_words.txt.gz")
        | _read_word_list("topic_glossary.txt")
        | _read_word_list("redact_product_terms.txt")
    )


# Endings stripped to find a listed word's stem ("engulfing": "engulf", "affordances").
_INFLECTIONS = (
    ("'s", ("",)),
    ("’s", ("",)),
    ("'m", ("",)),
    ("'re", ("",)),
    ("'ll", ("",)),
    ("'ve", ("",)),
    ("n't", ("",)),
    ("ies", ("y",)),
    ("es", ("", "e")),
    ("s", ("",)),
    ("ed", ("", "e")),
    ("ing", ("", "e")),
    ("ly", ("",)),
    ("ance", ("", "e")),
    ("ence", ("", "e")),
    ("ness", ("",)),
    ("er", ("", "e")),
    ("ers", ("", "e")),
)


@lru_cache(maxsize=1 << 16)
def _is_word(lowered: str) -> bool:
    """Whether a lower-cased token is an English word: listed, or a listed word inflected,
    possessive ("apple's") or hyphen-joined ("goal-directed", "street-smart"). Cached: the same
    words recur across prompts."""
    common = _lexicon().common
    if lowered in common or lowered in _SHORT_ENGLISH:
        return True
    if "-" in lowered:
        parts = [part for part in lowered.split("-") if part]
        return bool(parts) and all(_is_word(part) for part in parts)
    for suffix, replacements in _INFLECTIONS:
        if lowered.endswith(suffix) and len(lowered) > len(suffix) + 2:
            stem = lowered[: -len(suffix)]
            if any(stem + r in common for r in replacements):
                return True
    return False


@lru_cache(maxsize=1)
def product_terms() -> frozenset[str]:
    """Workplace and product terms (glossary and product list): never a name, even listed."""
    return frozenset(
        _read_word_list("topic_glossary.txt") | _read_word_list("redact_product_terms.txt")
    )


@lru_cache(maxsize=1)
def place_names() -> frozenset[str]:
    """Lower-cased names of cities, countries, US states and continents (see
    ``benchmarks/derive_place_names.py``): a run of unlisted capitalised words that is a place
    ("Buenos Aires") is no person."""
    return frozenset(_read_word_list("place_names.txt.gz"))


# English words of one or two letters (the common-word list starts at three).
_SHORT_ENGLISH = frozenset(
    """a i am an as at be by do go he if in is it me my no of on or so to up us we""".split()  # noqa: SIM905
)


class _Lexicon(NamedTuple):
    """The word lists the unlisted-name rules consult, merged once per process."""

    names: dict[str, NameEntry]
    common: frozenset[str]
    # Words that end a run of name words: common words that are no name part, function words,
    # products and the short English words.
    plain: frozenset[str]
    products: frozenset[str]
    places: frozenset[str]


@lru_cache(maxsize=1)
def _lexicon() -> _Lexicon:
    names, common, products = name_gazetteer(), common_words(), product_terms()
    plain = {w for w in common if (e := names.get(w)) is None or e.function_word}
    plain |= {w for w, e in names.items() if e.function_word}
    plain = (plain | products | _SHORT_ENGLISH) - _PARTICLES
    return _Lexicon(names, common, frozenset(plain), products, place_names())
