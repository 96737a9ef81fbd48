"""Derive the redactor's list of rarer English words (``resources/english_words.txt.gz``).

Run once when the sources change, with the optional ``names`` extra installed
(``pip install -e ".[names]"``)::

    python benchmarks/derive_english_words.py

The topic word list (``topic_words.txt.gz``) holds only words at a Zipf frequency of 3.0 or
more. The redactor takes two or more capitalised words that are no English words for a person
("Aigerim Nurlanovna"), so rarer real words in a title ("Ontological Deconstruction", "Bearish
Engulfing") must be known as words too. This list adds the dictionary words of ``english-words``
(web2 and GCIDE, lower-case entries only, so no proper names) that ``wordfreq`` has seen at a
Zipf frequency of 1.5 or more, less those already on the topic word list and the gazetteer's
names that are rarer as words than as names.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[1] / "insight_core" / "resources"
TARGET = RESOURCES / "english_words.txt.gz"
MIN_ZIPF = 1.5
# A gazetteer name is kept as a word only if it is at least this frequent in English text
# ("mini", "vibe" stay; "kaur", "singh" do not, whatever a dictionary says).
NAME_AS_WORD_ZIPF = 3.0


def main() -> int:
    from english_words import get_english_words_set
    from wordfreq import zipf_frequency

    with gzip.open(RESOURCES / "topic_words.txt.gz", "rt", encoding="utf-8") as topic_file:
        topic = set(topic_file.read().split())
    with gzip.open(RESOURCES / "person_names.tsv.gz", "rt", encoding="utf-8") as names_file:
        next(names_file)
        names = {line.split("\t", 1)[0] for line in names_file}
    dictionary = {
        w for w in get_english_words_set(["web2", "gcide"], lower=False, alpha=True) if w.islower()
    }
    words = []
    for word in sorted(dictionary - topic):
        if len(word) < 3:
            continue
        zipf = zipf_frequency(word, "en")
        if zipf < MIN_ZIPF or (word in names and zipf < NAME_AS_WORD_ZIPF):
            continue
        words.append(word)
    TARGET.write_bytes(gzip.compress(("\n".join(words) + "\n").encode("utf-8"), mtime=0))
    print(f"wrote {len(words)} words to {TARGET} ({TARGET.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
