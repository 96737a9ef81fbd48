"""Derive the name gazetteer the redactor ships (``insight_core/resources/person_names.tsv.gz``).

Run once when the sources change, with the optional ``names`` extra installed
(``pip install -e ".[names]"``)::

    python benchmarks/derive_person_names.py

Sources: the first and last names of ``names-dataset`` (MIT; Facebook-leak-derived counts per
country, ranked) and English word frequencies from ``wordfreq`` (used for one number per name:
how common the name is as an ordinary English word). The full names-dataset takes ~8 s and
~1 GB of memory to load, too much for every worker process and API start, so the redactor
reads this small derived file instead (milliseconds).
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

# A name counts when it ranks among the most frequent of at least one country.
MAX_RANK = 1000
TARGET = Path(__file__).resolve().parents[1] / "insight_core" / "resources" / "person_names.tsv.gz"


def _ranked(names: dict[str, dict], max_rank: int) -> set[str]:
    keep = set()
    for name, info in names.items():
        ranks = info.get("rank") or {}
        if not ranks or min(ranks.values()) > max_rank:
            continue
        if not name.replace("-", "").replace("'", "").isalpha() or len(name) < 2:
            continue
        keep.add(name.lower())
    return keep


def main() -> int:
    from names_dataset import NameDataset
    from wordfreq import zipf_frequency

    dataset = NameDataset()
    first = _ranked(dataset.first_names, MAX_RANK)
    last = _ranked(dataset.last_names, MAX_RANK)
    rows = []
    for name in sorted(first | last):
        kinds = ("F" if name in first else "") + ("L" if name in last else "")
        rows.append(f"{name}\t{kinds}\t{zipf_frequency(name, 'en'):.1f}")
    with gzip.open(TARGET, "wt", encoding="utf-8", compresslevel=9) as out:
        out.write("name\tkinds\tzipf_en\n")
        out.write("\n".join(rows) + "\n")
    print(f"wrote {len(rows)} names ({len(first)} first, {len(last)} last) to {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
