"""The form in which a prompt is kept after its night: only words that cannot be a person or a
secret.

A night keeps its redacted prompts (``texts/``) for later topic refits, tuning and the check
that a re-sent prompt id carries the same text. Redaction catches the names and secrets it
recognises; the ones it misses (a surname outside every list, a password made up on the spot,
an unusual id) would then sit under the home for as long as the texts are kept. So the kept
form goes further and keeps a word only when it may be a topic word at all: a common English
word that is not a person name, or a workplace glossary term (:func:`topic_word_list`), or an
English stop word, or a single letter. Every other word (names of any origin, ids, numbers,
invented passwords, words of other languages) becomes ``·``, and so does a listed word
written capitalised in mid-sentence ("ask Grace"), the way names are written. Redaction
placeholders (``<EMAIL>``) and punctuation stay, so the text keeps its shape.

What this costs: refits embed and cluster the kept form, so a prompt's words outside the list
(rare technical terms, other languages) no longer shape its topic after its night; the
night's own decision and topics read the full redacted text. Topic words were already limited
to the list, so no topic word is lost.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from insight_core.nlp.topics import glossary_words, topic_word_list

UNLISTED = "·"
# A redaction placeholder, or a run of letters/digits of any script with inner apostrophes
# ("don't", "O’Brien").
_TOKEN = re.compile(r"<[A-Z][A-Z_]*>|[^\W_]+(?:['’][^\W_]+)*")
_CONTRACTION_ENDINGS = frozenset({"s", "t", "d", "m", "ll", "re", "ve"})
# Characters after which a capitalised word starts a sentence (or a line, a list item, a quote).
_SENTENCE_BREAK = frozenset(".!?:;\n\r\t\"'“”‘’([{*-#>|")


def english_stop_words() -> frozenset[str]:
    """scikit-learn's English stop words, read without importing scikit-learn.

    The kept form is computed in the redaction worker processes, which need nothing else of
    scikit-learn: importing the package (SciPy with it) costs each worker about 160 MB, while
    the list is one literal in a module of its own.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise ImportError("scikit-learn is not installed")
    module_file = Path(spec.origin).parent / "feature_extraction" / "_stop_words.py"
    module_spec = importlib.util.spec_from_file_location("_sklearn_stop_words", module_file)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot read {module_file}")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return frozenset(module.ENGLISH_STOP_WORDS)


@lru_cache(maxsize=1)
def _kept_words() -> frozenset[str]:
    return frozenset(topic_word_list() | english_stop_words())


def _starts_sentence(text: str, start: int) -> bool:
    """Is the word at ``start`` the first of its sentence, line or quote?"""
    index = start - 1
    while index >= 0 and text[index] == " ":
        index -= 1
    return index < 0 or text[index] in _SENTENCE_BREAK


def _keeps(word: str, text: str, start: int, kept: frozenset[str]) -> bool:
    if word.startswith("<") or (len(word) == 1 and word.isascii() and word.isalpha()):
        return True  # a redaction placeholder, or one letter ("e-mail", "a", "I")
    parts = re.split(r"['’]", word.lower())
    if parts[0] not in kept or any(
        p not in _CONTRACTION_ENDINGS and p not in kept for p in parts[1:]
    ):
        return False
    # A listed word written like a name in mid-sentence ("ask Grace", "Mark said so") is one.
    capitalised = word[0].isupper() and word[1:2].islower()
    return not capitalised or parts[0] in glossary_words() or _starts_sentence(text, start)


def kept_text(text: str) -> str:
    """``text`` (already redacted) with every word that may name a person or hold a secret
    replaced by ``·``: the form in which prompts are kept after their night."""
    kept = _kept_words()

    def replace(match: re.Match[str]) -> str:
        word = match.group()
        if word in kept:  # the common case: a listed word in lower case
            return word
        return word if _keeps(word, text, match.start(), kept) else UNLISTED

    return _TOKEN.sub(replace, text)


def kept_texts(texts: Sequence[str | None]) -> list[str | None]:
    """:func:`kept_text` of each text (``None`` stays ``None``)."""
    return [None if text is None else kept_text(text) for text in texts]
