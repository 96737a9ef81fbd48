"""Derive the allow-list of topic words (``insight_core/resources/topic_words.txt.gz``).

Run once when the sources change, with the optional ``names`` extra installed
(``pip install -e ".[names]"``)::

    python benchmarks/derive_topic_words.py

A topic word reaches analysts (labels, ``analytics.topics``, MLflow, the model's c-TF-IDF
vocabulary), so it may only be a word that cannot single out a person or hold a secret:

* common English words: ``wordfreq``'s English list at a Zipf frequency of at least
  ``MIN_ZIPF`` (about the 29,000 most frequent words); a rare surname, an invented password or a
  project code name is not among them;
* letters only, three or more (no digits, ids, numbers, codes, initials or fragments);
* minus person names: every name of the shipped name gazetteer (``person_names.tsv.gz``, the
  most frequent first and last names of each country in ``names-dataset``) unless the same
  word is also an ordinary lower-case dictionary word (``english-words``' Webster's and GCIDE
  lists, plain or inflected): "john", "priya", "london" go; "tax", "bill", "mark" stay.

The shipped glossary (``topic_glossary.txt``, workplace and technology terms that are rarer
than the frequency floor) is added by the engine at run time, not here.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

MIN_ZIPF = 3.0
RESOURCES = Path(__file__).resolve().parents[1] / "insight_core" / "resources"
TARGET = RESOURCES / "topic_words.txt.gz"


def _inflections(word: str) -> list[str]:
    """The word and the stems it may be an inflection of (plural, past, -ing)."""
    stems = [word]
    for suffix, replacements in (
        ("ies", ("y",)),
        ("es", ("",)),
        ("s", ("",)),
        ("ed", ("", "e")),
        ("ing", ("", "e")),
    ):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            stems += [word[: -len(suffix)] + r for r in replacements]
    return stems


def main() -> int:
    from english_words import get_english_words_set
    from wordfreq import top_n_list, zipf_frequency

    with gzip.open(RESOURCES / "person_names.tsv.gz", "rt", encoding="utf-8") as names_file:
        next(names_file)
        names = {line.split("\t", 1)[0] for line in names_file}
    dictionary = {
        w for w in get_english_words_set(["web2", "gcide"], lower=False, alpha=True) if w.islower()
    }
    words = []
    for word in top_n_list("en", 60000):
        if zipf_frequency(word, "en") < MIN_ZIPF:
            break
        if not (word.isascii() and word.isalpha() and len(word) >= 3):
            continue
        if word in names and not any(s in dictionary for s in _inflections(word)):
            continue
        words.append(word)
    with gzip.open(TARGET, "wt", encoding="utf-8", compresslevel=9) as out:
        out.write("\n".join(sorted(words)) + "\n")
    print(f"wrote {len(words)} topic words to {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
