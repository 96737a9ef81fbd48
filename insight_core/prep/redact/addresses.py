"""Street addresses: number before or after the street, street types of many countries, flats
and units joined to a found address."""

from __future__ import annotations

import re

from insight_core.prep.redact.dates import _MONTH
from insight_core.prep.redact.lexicon import common_words
from insight_core.prep.redact.pattern import PiiPattern


def _district_word(word: str) -> bool:
    """After "3-8-12": a district ("kitazawa"), not an English word or a month ("3-8-12 May")."""
    return word.lower() not in common_words() and not re.fullmatch(_MONTH, word, re.IGNORECASE)


# addresses).
_STREET_TYPE_ANY_CASE = (
    r"street|st|road|rd|avenue|ave|boulevard|blvd|lane|ln|drive|dr|crescent|cres|terrace|"
    r"parkway|pkwy|highway|hwy|grove|gardens|gdns|mews|close|ct|place|pl|concourse"
)
# German, Dutch and Nordic street names end in their type, the number after: "Hauptstraße 12".
_STREET_SUFFIX = (
    r"straße|strasse|str\.|gasse|allee|weg|platz|damm|ufer|straat|laan|gracht|plein|vej|gatan|"
    r"vägen|veien|gade"
)
# Words that never name a street in "<number> <words> <type>": function words, units and the
# words before "drive"/"lane" that make them things, not streets ("3 hard drive failures").
# (A word list reads better as text than as 170 quoted strings, hence the noqa.)
_NOT_STREET_WORDS = frozenset(
    """
    the a an of to in on at for and or my your our their his her its this that these those more
    less than per by with from down up into over under very so too all each every other new old
    is are was were be not no really pretty quite fairly extremely super most best better
    different same next last first second third another few many times about around only
    just some any one two three four five six seven eight nine ten
    sec secs second seconds min mins minute minutes hr hrs hour hours day days week weeks
    month months year years yr yrs mile miles km kms kilometre kilometres kilometer
    kilometers meter meters metre metres ft foot feet yard yards yd inch inches cm mm gb tb mb
    kb step steps block blocks lane lanes way ways percent people person persons car cars hard
    flash usb thumb google shared network test disk external ssd hdd cd dvd tape optical team
    fast slow bus bike express toll hour-long minute-long long short quick
    street st road rd avenue ave drive dr close place pl ct
    """.split()  # noqa: SIM905
)


def _street_words_ok(match: re.Match[str]) -> bool:
    words = match.group("words").lower().split()
    return bool(words) and not any(word.strip(".,") in _NOT_STREET_WORDS for word in words)


ADDRESSES: tuple[PiiPattern, ...] = (
    # Street addresses: "221B Baker Street", "1600 Amphitheatre Pkwy, Mountain View, CA 94043".
    # Capitalised street words may end in any street type.
    PiiPattern(
        "ADDRESS",
        re.compile(
            r"\d(?<!\w\d)\d{0,4}[A-Za-z]?,?\s+(?:(?:[A-Z][\w'.-]*|\d{1,3}(?:st|nd|rd|th))\s+){1,4}"
            r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|"
            r"Place|Pl|Terrace|Parkway|Pkwy|Square|Sq|Highway|Hwy|Close|Crescent|Row|Mews)\b\.?"
            r"(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|Flat|#)\.?\s*[\w-]+)?"
            r"(?:,\s*(?:[A-Z][\w'.-]*\s?){1,3},\s*[A-Z]{2}(?:\s+\d{5}(?:-\d{4})?)?)?"
        ),
    ),
    # Any case: "14 willow crescent", "4821 n sheridan rd apt 2" (see _STREET_TYPE_ANY_CASE).
    PiiPattern(
        "ADDRESS",
        re.compile(
            r"\d(?<![\w.,]\d)\d{0,4}[a-z]?,?\s+(?P<words>(?:[^\W\d_][\w'’.-]*\s+){1,3}?)"
            rf"(?:{_STREET_TYPE_ANY_CASE})\b\.?(?:\s+(?:{_STREET_TYPE_ANY_CASE})\b\.?)?"
            r"(?:,?\s+(?:apt|apartment|suite|ste|unit|flat|#)\.?\s*#?\s*[\w-]{1,6}\b)?",
            re.IGNORECASE,
        ),
        accept=_street_words_ok,
    ),
    # The type first: "7 rue des lilas", "12 avenue victor hugo", "3 calle mayor".
    PiiPattern(
        "ADDRESS",
        re.compile(
            r"\d(?<![\w.,]\d)\d{0,3}(?:\s?(?:bis|ter))?,?\s+(?:rue|chemin|impasse|all[ée]e|quai|calle|"
            r"avenida|rua|travessa|carrer|(?:place|route)(?=\s+d)"
            # English has "avenue" and "boulevard" too ("24 avenue signs"): a particle or a
            # capitalised name must follow.
            r"|(?:avenue|boulevard)(?=\s+(?:d[eu'’]|des|la|le|les|(?-i:[A-ZÀ-Þ]))))\s+"
            r"(?:(?:de|des|du|de la|la|le|les|l'|d'|del|dos|da|do)\s*)*"
            r"(?P<words>[^\W\d_][\w'’-]*(?:\s+[^\W\d_][\w'’-]*)?)",
            re.IGNORECASE,
        ),
        accept=_street_words_ok,
    ),
    # The number after: "Hauptstraße 12, 10115 Berlin", "kerkstraat 5" (any case).
    PiiPattern(
        "ADDRESS",
        re.compile(
            rf"\b[^\W\d_]+(?:{_STREET_SUFFIX})\s+\d{{1,4}}[a-z]?\b"
            # Danish floors: "Nørrebrogade 12, 3. tv"
            r"(?:,?\s+\d{1,2}\.?\s*(?:tv|th|mf|sal)\b\.?)?"
            r"(?:,?\s+\d{4,5}\s+[^\W\d_][\w-]+)?",
            re.IGNORECASE,
        ),
        # Scanning every word for a street suffix is slow; the suffix and a number are rare.
        gate=re.compile(rf"(?:{_STREET_SUFFIX})\s+\d"),
    ),
    # "calle mayor 5", "Via Roma 10" (a capital V: "via email 2" is no street).
    PiiPattern(
        "ADDRESS",
        re.compile(
            r"\b(?=[cparvl])(?:calle|c/|avenida|avda\.|av\.|paseo|plaza|carrer|rua|viale|corso|piazza|largo|"
            r"(?-i:Via))\s+(?:(?:de|del|de la|dos|da|do|di|della|dei)\s+)*"
            r"(?P<words>[^\W\d_][\w'’-]*(?:\s+[^\W\d_][\w'’-]*)?),?"
            r"\s+\d{1,4}[a-z]?\b(?:,?\s+\d{4,5}\s+[^\W\d_][\w-]+)?",
            re.IGNORECASE,
        ),
        accept=_street_words_ok,
        cues=(
            "calle",
            "c/",
            "av.",
            "avenida",
            "avda",
            "paseo",
            "plaza",
            "carrer",
            "rua ",
            "viale",
            "corso",
            "piazza",
            "largo",
            "via ",
        ),
    ),
    # Polish "ul. Marszałkowska 84/92" (also al., os., pl.).
    PiiPattern(
        "ADDRESS",
        re.compile(
            r"\b(?:ul|al|os|pl)\.[ \t]*(?P<words>[^\W\d_][\w'’.-]*(?:[ \t]+[^\W\d_][\w'’.-]*){0,3})"
            r"[ \t]+\d{1,4}[a-z]?(?:/\d{1,4}[a-z]?)?(?:,?[ \t]+\d\d-\d{3}[ \t]+[^\W\d_][\w-]+)?",
            re.IGNORECASE,
        ),
        accept=_street_words_ok,
        cues=("ul.", "al.", "os.", "pl."),
    ),
    # Malaysian and Indonesian "Jalan Ampang" after a house number, or capitalised.
    PiiPattern(
        "ADDRESS",
        re.compile(
            r"(?:\b(?:no\.?[ \t]*)?\d{1,4}[a-z]?,?[ \t]+)?"
            r"\b(?:jalan|jln\.?|lorong|persiaran|lebuh)[ \t]+"
            r"(?P<words>[^\W\d_][\w'’-]*(?:[ \t]+[^\W\d_][\w'’-]*){0,2})",
            re.IGNORECASE,
        ),
        accept=lambda match: (
            match.group(0)[:1].isdigit()
            or match.group(0)[:2].lower() == "no"
            or match.group(0)[:1].isupper()
        ),
        cues=("jalan", "jln", "lorong", "persiaran", "lebuh"),
    ),
    # Turkish "Atatürk Caddesi No: 45", "Gül Sokak No 3".
    PiiPattern(
        "ADDRESS",
        re.compile(
            r"\b[^\W\d_][\w'’-]*[ \t]+(?:caddesi|cad\.|sokak|sokağı|sk\.|bulvarı|mahallesi|mah\.)"
            r"(?:[ \t,]*no[ \t]*[:.]?[ \t]*\d{1,4}[a-z]?(?:/\d{1,4})?)?",
            re.IGNORECASE,
        ),
        cues=("cad", "sokak", "sokağı", "sk.", "bulvarı", "mahalle", "mah."),
    ),
    # Indian "house no. 221, sector 15": the house number and the locality words after it.
    PiiPattern(
        "ADDRESS",
        re.compile(
            r"\b(?=[hfpdk])(?:house|h|flat|plot|door|khasra)[ \t]*(?:no\.?|number|#)"
            r"[ \t]*[\w/-]{1,8},?"
            r"[ \t]+(?:[\w.'-]+[ \t]+){0,3}?(?:sector|block|phase|nagar|colony|layout|cross|main|"
            r"road|street|marg|enclave|vihar|gali|mohalla)\b(?:[ \t-]*\d{1,3}[a-z]?)?",
            re.IGNORECASE,
        ),
        cues=("house", "h no", "h.no", "flat", "plot", "door", "khasra"),
    ),
    # Japanese block numbers: "3-8-12 kitazawa" (chome-ban-go, then the district).
    PiiPattern(
        "ADDRESS",
        re.compile(
            r"(?<![\w./-])\d{1,2}-\d{1,2}-\d{1,3}(?![\w./-])[ \t]+(?P<words>[^\W\d_][\w-]+)"
        ),
        accept=lambda match: _district_word(match.group("words")),
        gate=re.compile(r"\d-\d{1,2}-\d{1,3}\s+[a-z]"),
    ),
    # A flat or unit before a found address joins it: "flat 3, <ADDRESS>".
    PiiPattern(
        "ADDRESS",
        re.compile(
            r"\b(?:flat|apt|apartment|unit|suite)\.?\s*#?\d{1,4}[a-z]?,?\s+<ADDRESS>",
            re.IGNORECASE,
        ),
        cues=("flat", "apt", "apartment", "unit", "suite"),
    ),
)
