"""Replacing the names found with the person placeholder. ``_person_token`` is the one place a
measurement may hook to see which words were taken for names."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from insight_core.prep.redact.lexicon import NameEntry, name_gazetteer

PERSON_PLACEHOLDER = "<PERSON>"


def _person_token(name: str) -> str:
    """The placeholder for a detected name (one place to hook for measurements)."""
    return PERSON_PLACEHOLDER


def _replace_titled(match: re.Match[str]) -> str:
    """The name after an honorific replaced, unless the honorific is inside a word."""
    start = match.start()
    if start > 0 and (match.string[start - 1].isalnum() or match.string[start - 1] == "_"):
        return match.group(0)  # inside a word ("Mr" in "DrMr", "Dr" in "HDr")
    return match.group(0)[: match.start("name") - start] + _person_token(match.group("name"))


def _replace_names(
    text: str,
    pattern: re.Pattern[str],
    measure: Callable[[list[str], dict[str, NameEntry]], int],
    haystack: str | None = None,
) -> str:
    """Replace the names ``pattern`` finds; ``haystack`` is ``text`` in another case, same
    length, to scan instead."""
    names = name_gazetteer()
    pieces: list[str] = []
    position = 0
    for match in pattern.finditer(text if haystack is None else haystack):
        start = match.start("name")
        if start < position:
            continue
        words = text[start : match.end("name")].split()
        length = measure(words, names)
        if length == 0:
            continue
        # The end of the name's last word within the match.
        end = start
        for word in words[:length]:
            end = text.index(word, end) + len(word)
        if words[length - 1].endswith(("'s", "’s")):
            end -= 2
        pieces += [text[position:start], _person_token(text[start:end])]
        position = end
    if not pieces:
        return text
    return "".join([*pieces, text[position:]])


def _replace_spans(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """``text`` with each span (overlapping ones merged) replaced by the person placeholder."""
    pieces: list[str] = []
    position = 0
    for start, end in sorted(spans):
        if end <= position:
            continue
        start = max(start, position)
        pieces += [text[position:start], _person_token(text[start:end])]
        position = end
    if not pieces:
        return text
    return "".join([*pieces, text[position:]])
