"""Person names from the gazetteer and context: a title ("Mr. Okafor"), a cue ("Dear",
"cc:", "my manager ..."), a weaker cue before a capitalised name ("ask Priya"), or a
capitalised first-name + last-name pair; then the names no list holds
(:mod:`insight_core.prep.redact.unlisted_names`)."""

from __future__ import annotations

import re

from insight_core.prep.redact.lexicon import (
    _CAP_TAIL,
    _CAP_WORD,
    _NOT_PEOPLE,
    _SURNAME_ZIPF,
    _UPPER,
    _WEAK_CUE_ZIPF,
    _WORD,
    NameEntry,
    _lookup,
    place_names,
    product_terms,
)
from insight_core.prep.redact.spans import _replace_names, _replace_titled
from insight_core.prep.redact.unlisted_names import redact_unlisted_names

# Honorifics: whatever capitalised words follow are a name ("Mr. Okafor", "Dr Anh Nguyen").
# No leading \b: a pattern that starts with its literals is scanned much faster by the
# regex engine; ``redact_people`` checks the word boundary instead.
_TITLED = re.compile(
    rf"(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof|Herr|Frau)\.?[ \t]+(?P<name>{_CAP_WORD}"
    rf"(?:[ \t]+{_CAP_WORD}){{0,2}})"
)
# Cues after which a known first name, in any case, is a person ("my manager jonas weber").
_CUED = re.compile(
    # The lookahead on the cues' first letters lets the scan skip most positions quickly.
    r"\b(?=[abcdefhimnprst])(?:dear|hi|hello|hey|cc|bcc|attn|fao|manager|boss|colleague|"
    r"co-?worker|teammate|supervisor|mentor|intern|recruiter|tenant|patient|employee|candidate|named|regards|"
    r"cheers|sincerely|thanks|thank you)"
    rf"\b[ \t]*[:,]?[ \t]*(?P<name>{_WORD}(?:[ \t]+{_WORD}){{0,2}})",
)
# Scanning the lower-cased text with ``_CUED`` is faster than a case-insensitive scan; this
# one serves texts whose lower-case form has another length (a few Unicode letters).
_CUED_ANY_CASE = re.compile(_CUED.pattern, re.IGNORECASE)
# Weaker cues: the name after them must be capitalised ("meeting with Priya", "ask Jonas").
_WEAKLY_CUED = re.compile(
    r"\b(?:[Ww]ith|[Ff]rom|[Aa]sk|[Aa]sked|[Tt]ell|[Tt]old|[Cc]all|[Cc]alled|[Ee]mail|"
    r"[Ee]mailed|[Mm]eet|[Mm]et|[Ii]nvite|[Rr]eply to|[Ww]rite to)"
    rf"[ \t]+(?P<name>{_CAP_WORD}(?:[ \t]+{_CAP_WORD}){{0,2}})"
)
# Two or three capitalised words: a first name followed by a last name ("Priya Raman").
# The pattern starts with a character class (no lookbehind first) so the regex engine can skip
# ahead to capital letters, much faster on long prompts; "(?<![\w<].)" is the word boundary.
_CAP_RUN = re.compile(
    rf"(?P<name>[{_UPPER}](?<![\w<].){_CAP_TAIL}"
    rf"(?:[ \t]+{_CAP_WORD}){{1,2}})(?![\w>])"
)


def _cued_name_length(words: list[str], names: dict[str, NameEntry]) -> int:
    """How many of the words after a cue form a name (0: none)."""
    first = _lookup(words[0], names)
    if first is None or not first.first or first.function_word:
        return 0
    if words[0].lower() in _NOT_PEOPLE or words[0].lower() in product_terms():
        return 0
    if len(words[0]) < 3 or words[0].isupper():
        return 0  # "hi ai", "cc AWS": acronyms and two-letter tokens are no names here
    if first.common and not any(
        (e := _lookup(w, names)) is not None and e.last and not e.common for w in words[1:2]
    ):
        # "with Will", "for Mark": a common word as a name needs an unambiguous last name.
        return 0
    length = 1
    for word in words[1:]:
        entry = _lookup(word, names)
        if entry is None or entry.common or not (entry.last or entry.first):
            break
        length += 1
    return length


def _capitalised_name_length(words: list[str], names: dict[str, NameEntry]) -> int:
    """How many capitalised words, from the first, form a name without any cue (0: none)."""
    first = _lookup(words[0], names)
    if first is None or not first.first or first.function_word:
        return 0
    if words[0].lower() in _NOT_PEOPLE:
        return 0
    length = 1
    for word in words[1:]:
        entry = _lookup(word, names)
        if entry is None or not entry.last or entry.function_word:
            break
        length += 1
    if length < 2:
        # A lone capitalised name without a cue is too often a product or a foreign word
        # ("Deno", "Kedi"); cues and titles catch lone names.
        return 0
    last = _lookup(words[length - 1], names)
    if last is None or " ".join(words[:length]).lower() in place_names():
        return 0  # "Ho Chi Minh", "San Jose": places
    # "Priya Raman", "Jonas Weber"; a common word on either side ("Spring Boot",
    # "Olive Green") needs the other side to be rare as a word ("Grace Okafor").
    if (not first.common and not last.common) or first.rare_word or last.rare_word:
        return length
    if not first.function_word and last.zipf < _SURNAME_ZIPF:
        # "Will Summers", "Rose Bennett": a common first name before a clear surname.
        return length
    return 0


def _weakly_cued_name_length(words: list[str], names: dict[str, NameEntry]) -> int:
    """After "with", "ask", ...: a capitalised first name that is no common word."""
    length = _capitalised_name_length(words, names)
    if length:
        return length
    first = _lookup(words[0], names)
    usable = (
        first is not None and first.first and first.zipf < _WEAK_CUE_ZIPF and len(words[0]) >= 3
    )
    lowered = words[0].lower()
    return 1 if usable and lowered not in _NOT_PEOPLE and lowered not in product_terms() else 0


def redact_people(text: str) -> str:
    """Replace person names with ``<PERSON>`` (titles, cues, capitalised name pairs)."""
    text = _TITLED.sub(_replace_titled, text)
    lowered = text.lower()
    if len(lowered) == len(text):
        text = _replace_names(text, _CUED, _cued_name_length, haystack=lowered)
    else:
        text = _replace_names(text, _CUED_ANY_CASE, _cued_name_length)
    text = _replace_names(text, _WEAKLY_CUED, _weakly_cued_name_length)
    text = _replace_names(text, _CAP_RUN, _capitalised_name_length)
    return redact_unlisted_names(text)
