"""Names no list holds: two or more capitalised (or ALL-CAPS) words none of which is an English
word, lower-case runs that hold a listed name rare as a word, a lone name after a verb that
takes a person, initials before a surname, "Surname, Given", and a short run of another
script in a Latin-script prompt."""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import accumulate
from typing import NamedTuple

from insight_core.prep.redact.lexicon import (
    _CAP_WORD,
    _NOT_PEOPLE,
    _PARTICLES,
    _SHORT_ENGLISH,
    _SURNAME_SHAPE,
    _UPPER,
    _WEAK_CUE_ZIPF,
    _is_word,
    _Lexicon,
    _lexicon,
    _lookup,
    common_words,
    name_gazetteer,
    place_names,
)
from insight_core.prep.redact.spans import _replace_spans

# A word: letters (the ʻokina of Hawaiian names is a letter too), with inner hyphens or
# apostrophes ("Nwachukwu-Obi", "O'Neill").
_NAME_TOKEN = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
_NAME_TOKEN_SPLIT = re.compile(f"({_NAME_TOKEN.pattern})")
# Share of an English prompt's lower-cased words found on the common-word list; below it the
# prompt is taken to be in another language, whose ordinary words are no English words either,
# and a run of unlisted words must hold a known name part to count.
_ENGLISH_SHARE = 0.55
# Cue verbs after which a lone word is a person when it is a known first name that is no common
# word ("ask jonas", "from Amara") or, after the verbs only people follow ("ping", "loop in"),
# any capitalised word that is neither a common word nor a product or place.
_STRONG_VERBS = frozenset(
    """
    ping pinged pinging cc dm dmed remind reminded notify notified thank thanked nudge nudged
    message messaged mention mentioned
    """.split()  # noqa: SIM905
)
# Two-word cues of the same strength: "loop in X", "a message from X" (a sender is a person).
_STRONG_VERB_PAIRS = frozenset(
    [("loop", "in"), ("looped", "in"), ("looping", "in")]
    + [
        (noun, "from")
        for noun in (
            "message",
            "messages",
            "email",
            "emails",
            "mail",
            "note",
            "notes",
            "feedback",
            "reply",
            "text",
            "request",
            "complaint",
            "update",
            "dm",
            "call",
            "invite",
            "letter",
            "ping",
            "response",
            "answer",
        )
    ]
)
_WEAK_VERBS = frozenset(
    """
    ask asked add added from tell told invite invited email emailed call called with to for
    text texted meet met hire hired promote promoted
    """.split()  # noqa: SIM905
)
# Every word that may stand just before a lone name (the second word of the pairs included).
_CUE_WORDS = _STRONG_VERBS | _WEAK_VERBS | {second for _, second in _STRONG_VERB_PAIRS}
# "add X to the channel": after "add" any unlisted capitalised word is a person.
_ADD_TO_GROUP = re.compile(
    r"[ \t]+(?:to|into|on|in)[ \t]+(?:the|our|this|my)?[ \t]*(?:channel|thread|call|meeting|"
    r"chat|group|team|email|invite|list|loop|conversation|distribution|dl|space|room)",
    re.IGNORECASE,
)
# Letters of scripts other than Latin that write names: CJK ideographs, Hangul, Arabic, Hebrew,
# Cyrillic, Greek, Devanagari (with its vowel signs) and Thai (idem). Kana are left out: in an
# English prompt they are mostly Japanese words being translated, and names are in kanji.
_OTHER_SCRIPT = (
    "\u4e00-\u9fff\u3400-\u4dbf\uac00-\ud7af\u0600-\u06ff\u0590-\u05ff\u0400-\u04ff"
    "\u0370-\u03ff\u0900-\u097f\u0e00-\u0e7f"
)
# One to three words of another script within an otherwise Latin-script prompt ("email 王小明
# the agenda", "ask Дмитрий Соколов"). Longer runs are quoted text, not a name.
_OTHER_SCRIPT_RUN = re.compile(
    rf"[{_OTHER_SCRIPT}](?<![{_OTHER_SCRIPT}\w].)[{_OTHER_SCRIPT}]{{0,15}}"
    rf"(?:[ ·・][{_OTHER_SCRIPT}]{{2,16}}){{0,2}}(?![{_OTHER_SCRIPT}\w])"
)
_OTHER_SCRIPT_GATE = re.compile(rf"[{_OTHER_SCRIPT}]")
_LATIN_LETTERS = re.compile(r"[A-Za-z]+")
# A prompt with more letters of another script than this mixes languages rather than naming a
# person or two.
_OTHER_SCRIPT_MAX_LETTERS = 24
# Initials before a surname: "K. R. Venkatesh", "J Smith" is too ambiguous and left.
_INITIALS = re.compile(
    rf"[{_UPPER}](?<![\w.].)\.[ \t]?(?:[{_UPPER}]\.[ \t]?){{0,2}}(?P<name>{_CAP_WORD})"
)
# "Haddad, Rania": surname, comma, given name.
_SURNAME_FIRST = re.compile(rf"(?P<last>{_CAP_WORD}),[ \t](?P<first>{_CAP_WORD})(?![\w-])")


class _Token(NamedTuple):
    start: int
    end: int
    word: str
    lower: str
    position: int = 0  # index among the text's words


def _contains_place(lowered: list[str], places: frozenset[str]) -> bool:
    """Whether two or more consecutive words of a run name a place."""
    for i in range(len(lowered)):
        for j in range(i + 2, len(lowered) + 1):
            if " ".join(lowered[i:j]) in places:
                return True
    return False


def _run_is_name(
    run: list[_Token], lex: _Lexicon, english: Callable[[int, int], bool], case: str, text: str
) -> bool:
    """Whether a run of two or more words (particles included) without an ordinary English word
    is a person's name."""
    core = [t for t in run if t.lower not in _PARTICLES]
    if len(core) < 2 or len(run) > 6:
        return False
    if _contains_place([t.lower for t in run], lex.places):
        return False
    unlisted = [t for t in core if not _is_word(t.lower)]
    if not unlisted:
        return False  # "Olive Green", "grace period": names only with a cue (see above)
    entries = {t: _lookup(t.word, lex.names) for t in unlisted}
    known = [t for t, entry in entries.items() if entry is not None]
    if case == "lower":
        # Lower-case word pairs are everywhere: ordinary words may not end the run, one part
        # must be a listed name that is rare as an English word, and the other a name too or,
        # in an English prompt, one unknown word ("oluwaseun adeyemi").
        if _is_word(core[0].lower) or _is_word(core[-1].lower):
            return False
        if not english(run[0].position, run[-1].position):
            return False  # "pero necesito que": words of another language
        rare = [t for t in known if (e := entries[t]) is not None and e.zipf < _WEAK_CUE_ZIPF]
        if not rare or len(core) > 3:
            return False
        unknown = len(unlisted) - len(known)
        if unknown == 0:
            first, last = _lookup(core[0].word, lex.names), _lookup(core[-1].word, lex.names)
            return bool((first and first.first) or (last and last.last))
        return unknown == 1 and len(core) == 2 and english(run[0].position, run[-1].position)
    if case == "upper":
        # ALL-CAPS headings are common in prompts: every word must be a listed name.
        return len(known) == len(core)
    if not english(run[0].position, run[-1].position):
        return False  # capitalised nouns of another language ("Nur den Umriss")
    if known:
        return True
    # Two or more capitalised words that are no English words and no listed name parts: a
    # person of an origin the list misses ("Aigerim Nurlanovna"), in an English prompt. Not in
    # quotes or bold, where such runs are mostly brands and titles ("**Efes Pilsen**").
    start = run[0].start
    if start and text[max(0, start - 2) : start].endswith(("**", '"', "“", "'", "‘", "[")):
        return False
    return len(unlisted) >= 2 and len(unlisted) == len(core)


# Weak cues that are prepositions: a lower-case word after them is rarely a name.
_PREPOSITIONS = frozenset({"from", "with", "to", "for"})


def _lone_name_after_verb(token: _Token, verb: str, strong: bool, text: str, lex: _Lexicon) -> bool:
    """Whether the word after a cue verb is a person ("ping Anneliese", "ask jonas"): a listed
    first name that is no common word (after "ping", "loop in": rare as a word), or after the
    verbs only people follow any capitalised word that is no word, product or place."""
    word, lowered = token.word, token.lower
    if lowered in _NOT_PEOPLE or lowered in lex.products or len(word) < 3 or word.isupper():
        return False
    if not strong and (lowered in lex.places or (not word[0].isupper() and verb in _PREPOSITIONS)):
        # "from Madison", "with vig": places, and lower-case words after a preposition
        return False
    entry = _lookup(word, lex.names)
    if _inner_capitals(word):
        return False  # "AI's", "iOS"
    if entry is not None and entry.first and not entry.function_word:
        return not _is_word(lowered) or (strong and entry.zipf < _WEAK_CUE_ZIPF)
    if _is_word(lowered) or lowered in lex.places or not word[0].isupper():
        return False
    return strong or bool(_ADD_TO_GROUP.match(text, token.end))


def _inner_capitals(word: str) -> bool:
    """Whether a part of the word has a capital after its first letter ("TikTok"; not
    "Jan-Willem")."""
    if word[1:].islower():
        return False  # the common case, decided without splitting
    return any(sum(ch.isupper() for ch in part) > 1 for part in _WORD_JOINERS.split(word))


_WORD_JOINERS = re.compile(r"[-'’]")


def _unlisted_name_spans(text: str) -> list[tuple[int, int]]:
    """Spans of names found without the first-name/last-name pairing of ``_CAP_RUN``: runs of
    capitalised (or ALL-CAPS) words none of which is an ordinary English word, lower-case runs
    holding a listed name, and a lone name after a cue verb."""
    lex = _lexicon()
    names = lex.names
    lowered_text = text.lower()
    if len(lowered_text) != len(text):
        lowered_text = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
    # This is the redactor's hottest loop, so the words are split out and located in C
    # (split, accumulate) and only the few that are no plain word are looked at in Python.
    parts = _NAME_TOKEN_SPLIT.split(lowered_text)
    words = parts[1::2]
    plain = lex.plain
    candidates = [i for i, word in enumerate(words) if word not in plain]
    if not candidates:
        return []
    offsets = list(accumulate(map(len, parts), initial=0))

    def english(first: int, last: int) -> bool:
        """Whether the words around a run (six either side) are mostly English: in a prompt
        or a passage in another language, ordinary words are no English words either."""
        sample = words[max(0, first - 6) : first] + words[last + 1 : last + 7]
        hits = sum(w in lex.common or w in _SHORT_ENGLISH for w in sample)
        return hits >= _ENGLISH_SHARE * len(sample)

    def spaced(i: int) -> bool:
        """Whether word ``i`` follows word ``i - 1`` after one space or tab."""
        return i > 0 and parts[2 * i] in (" ", "\t")

    spans: list[tuple[int, int]] = []
    run: list[_Token] = []
    run_case = ""
    run_last = -2

    def close() -> None:
        while run and run[-1].lower in _PARTICLES:
            run.pop()
        while run and run[0].lower in _PARTICLES:
            run.pop(0)
        if len(run) >= 2 and _run_is_name(run, lex, english, run_case, text):
            spans.append((run[0].start, run[-1].end))
        run.clear()

    for i in candidates:
        start, end = offsets[2 * i + 1], offsets[2 * i + 2]
        if (start and text[start - 1] in "<_/\\.@#$=0123456789") or text[end : end + 1].isdigit():
            continue  # a placeholder, an identifier, a path, a handle or a code ("Kot2023")
        lowered = words[i]
        if (
            text[start].islower()
            and lowered not in names
            and not (i and words[i - 1] in names)
            and not (i + 1 < len(words) and words[i + 1] in names)
        ):
            # A lower-case unknown word (an identifier, a typo) counts only next to a name.
            if run:
                close()
            continue
        word = text[start:end]
        token = _Token(start, end, word, lowered, i)
        if lowered not in lex.names and lowered not in _PARTICLES and _is_word(lowered):
            if run:  # an inflected or hyphen-joined ordinary word ("engulfing", "goal-directed")
                close()
            continue
        adjacent = i > 0 and parts[2 * i] in (" ", "\t")
        if adjacent and words[i - 1] in _CUE_WORDS:
            previous = words[i - 1]
            before = words[i - 2] if spaced(i - 1) else ""
            strong = previous in _STRONG_VERBS or (before, previous) in _STRONG_VERB_PAIRS
            if (strong or previous in _WEAK_VERBS) and _lone_name_after_verb(
                token, previous, strong, text, lex
            ):
                spans.append((start, end))
        continues = adjacent and run_last == i - 1
        run_last = i
        particle = lowered in _PARTICLES and bool(run) and continues
        if particle:
            run.append(token)
            continue
        if len(word) == 1:
            # A single letter ends a run, but for a surname's initial after a name ("Scott M").
            if word not in "IA" and word.isupper() and run_case == "title" and continues and run:
                run.append(token)
            close()
            continue
        if lowered in _NOT_PEOPLE:
            if run:
                close()
            continue
        if word.isupper():
            case = "upper"
        elif _inner_capitals(word) and not _SURNAME_SHAPE.match(word):
            close()  # "TikTok", "LLMs", "PostHog": products and plurals of acronyms
            continue
        elif word[0].isupper() or (word[0] in "ʻ'’" and word[1:2].isupper()):
            case = "title"
        else:
            case = "lower"
        if len(word) < 3 and (case == "upper" or (case == "lower" and lowered not in _PARTICLES)):
            close()
            continue
        if not continues or case != run_case:
            close()
        if not run:
            run_case = case
        run.append(token)
    close()
    return spans


def _surname_first_spans(text: str) -> list[tuple[int, int]]:
    """ "Haddad, Rania": both parts unlisted words, one of them a listed name, no place."""
    common, names, places = common_words(), name_gazetteer(), place_names()
    spans = []
    for match in _SURNAME_FIRST.finditer(text):
        last, first = match.group("last"), match.group("first")
        if last.lower() in common or first.lower() in common or min(len(last), len(first)) < 3:
            continue  # "To Do, In Progress"
        if last.lower() in places and first.lower() in places:
            continue  # a list of places: "Lagos, Abuja"
        first_entry, last_entry = _lookup(first, names), _lookup(last, names)
        if (first_entry and first_entry.first) or (last_entry and last_entry.last):
            spans.append((match.start(), match.end()))
    return spans


def _initials_spans(text: str) -> list[tuple[int, int]]:
    """ "K. R. Venkatesh": initials before a word that is no ordinary English word."""
    lex = _lexicon()
    spans = []
    for match in _INITIALS.finditer(text):
        word = match.group("name")
        entry = _lookup(word, lex.names)
        if word.lower() in lex.plain or word.lower() in _SHORT_ENGLISH:
            continue  # "of S. If", "U.S. Army"
        if not _is_word(word.lower()) or (entry is not None and entry.last and not entry.common):
            spans.append((match.start(), match.end()))
    return spans


def _other_script_spans(text: str) -> list[tuple[int, int]]:
    """A short run of another script's letters in a mostly Latin-script prompt: a name written
    in its own script ("email 王小明 the agenda")."""
    if not _OTHER_SCRIPT_GATE.search(text):
        return []
    latin = sum(map(len, _LATIN_LETTERS.findall(text)))
    other = len(_OTHER_SCRIPT_GATE.findall(text))
    if latin < other or other > _OTHER_SCRIPT_MAX_LETTERS:
        # A prompt in that script, or one that mixes in passages of it: its words are no names.
        return []
    spans = []
    for match in _OTHER_SCRIPT_RUN.finditer(text):
        value = match.group()
        if len(value) < 2 or len(value) > 24:
            continue
        start, end = match.span()
        # A name stands among the English words; quoted or bracketed text ('"你好"', "${名称}")
        # and text joined to other punctuation is an example or a key, not a name.
        if (start and not text[start - 1].isspace()) or (
            end < len(text) and not (text[end].isspace() or text[end] in ".,;:!?)")
        ):
            continue
        spans.append(match.span())
    return spans


def redact_unlisted_names(text: str) -> str:
    """Replace names that the gazetteer pairing misses (see ``_unlisted_name_spans``, the
    cue verbs, initials, "Surname, Given" and names in other scripts) with ``<PERSON>``."""
    spans = _unlisted_name_spans(text)
    if "." in text:
        spans += _initials_spans(text)
    if "," in text:
        spans += _surname_first_spans(text)
    spans += _other_script_spans(text)
    return _replace_spans(text, spans)
