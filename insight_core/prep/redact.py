"""PII redaction and user-id pseudonymisation.

Redaction runs before anything is embedded or stored. Patterns are regular expressions with
validators where a bare pattern would be too eager (Luhn for payment cards, mod-97 for IBANs,
octet ranges for IP addresses, a nearby "SSN"/"social security" for bare nine-digit numbers).

Person names are found with a name gazetteer (first and last names ranked among the 1,000 most
frequent of at least one country, derived from ``names-dataset`` by
``benchmarks/derive_person_names.py`` and shipped as ``resources/person_names.tsv.gz``) plus
context: a title ("Mr. Okafor"), a cue ("Dear", "cc:", "my manager ..."), or a capitalised
first-name + last-name pair. Names that are also common English words ("Mark", "Grace") count
only with a cue or next to an unambiguous name part. Presidio-style NER was not chosen: it needs
a spaCy model, and spaCy models are not published on PyPI; the engine must run offline.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import logging
import multiprocessing
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

import polars as pl

from insight_core.errors import ConfigError
from insight_core.settings import resource_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PiiPattern:
    """One kind of PII: a pattern, an optional validator and its typed placeholder."""

    kind: str
    regex: re.Pattern[str]
    is_valid: Callable[[str], bool] | None = None
    # Named group holding the sensitive part; the rest of the match (e.g. "password=") stays.
    secret_group: str | None = None

    @property
    def placeholder(self) -> str:
        return f"<{self.kind}>"


def _luhn_ok(candidate: str) -> bool:
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def _iban_ok(candidate: str) -> bool:
    compact = re.sub(r"\s", "", candidate).upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(numeric) % 97 == 1


def _phone_ok(candidate: str) -> bool:
    digits = sum(ch.isdigit() for ch in candidate)
    stripped = candidate.strip()
    # Calendar dates (2026-10-03, 03.10.2026) share the shape of short phone numbers.
    if re.fullmatch(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}", stripped):
        return False
    has_phone_marker = stripped.startswith(("+", "(")) or "(" in stripped
    return 9 <= digits <= 15 or (has_phone_marker and 7 <= digits <= 15)


def _long_token(candidate: str) -> bool:
    """An authorization value long enough to be a credential rather than a word."""
    value = candidate.split(None, 1)[-1]
    return len(value) >= 16


_TOKEN_KEYS = (
    r"token|access_token|auth|key|api_key|apikey|sig|signature|secret|password|passwd|pwd|"
    r"session|sessionid|code|credential|jwt|X-Amz-Signature|X-Amz-Credential"
)

PII_PATTERNS: tuple[PiiPattern, ...] = (
    # URLs carrying credentials in the query or in user:password@host.
    PiiPattern(
        "URL",
        re.compile(
            r"\b(?:https?|ftp)://(?:[^\s/@:]+:[^\s/@]+@\S+|[^\s?#]+\?\S*?\b(?:"
            + _TOKEN_KEYS
            + r")=[^\s&#]+\S*)",
            re.IGNORECASE,
        ),
    ),
    PiiPattern(
        "EMAIL",
        re.compile(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b"),
    ),
    PiiPattern(
        "SECRET",
        re.compile(
            r"\b(?:"
            r"AKIA[0-9A-Z]{16}"
            r"|(?:sk|pk|rk)[-_](?:live|test|proj)?[-_]?[A-Za-z0-9]{16,}"
            r"|gh[pousr]_[A-Za-z0-9]{30,}"
            r"|github_pat_[A-Za-z0-9_]{30,}"
            r"|xox[abposr]-[A-Za-z0-9-]{10,}"
            r"|AIza[0-9A-Za-z_\-]{35}"
            r"|eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"
            r")"
        ),
    ),
    # Secrets assigned to a key ("password: hunter22", "api_key=..."): keep the key, hide the value.
    PiiPattern(
        "SECRET",
        re.compile(
            r"\b(?:password|passwd|pwd|pass ?code|api[_-]?key|secret|token|client[_-]secret)"
            r"[\"']?\s*(?:[:=]|\bis\b)\s*[\"']?(?P<value>[^\s\"',;]{6,})",
            re.IGNORECASE,
        ),
        secret_group="value",
    ),
    # Authorization headers: "Bearer <opaque token>", "Basic <base64>" (JWTs are caught above).
    PiiPattern(
        "SECRET",
        re.compile(
            r"\b(?:Bearer|Basic|Token)\s+(?P<value>[A-Za-z0-9\-._~+/]*\d[A-Za-z0-9\-._~+/]*=*)"
            r"(?=[\s\"',;)]|$)",
            re.IGNORECASE,
        ),
        _long_token,
        secret_group="value",
    ),
    # US social security numbers: dashed (the SSA's shape rules), or bare digits near "SSN".
    PiiPattern(
        "SSN",
        re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])"),
    ),
    PiiPattern(
        "SSN",
        re.compile(
            r"\b(?:ssn|ss#|social[ -]security(?:[ -]?(?:number|no\.?|num|#))?)\W{0,3}"
            r"(?:\w+\W{1,3}){0,3}?(?P<value>\d{3}[ .]?\d{2}[ .]?\d{4})(?!\d)",
            re.IGNORECASE,
        ),
        secret_group="value",
    ),
    # Street addresses: "221B Baker Street", "1600 Amphitheatre Pkwy, Mountain View, CA 94043",
    # "Hauptstraße 12, 10115 Berlin". The street words must be capitalised.
    PiiPattern(
        "ADDRESS",
        re.compile(
            r"\b\d{1,5}[A-Za-z]?,?\s+(?:(?:[A-Z][\w'.-]*|\d{1,3}(?:st|nd|rd|th))\s+){1,4}"
            r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|"
            r"Place|Pl|Terrace|Parkway|Pkwy|Square|Sq|Highway|Hwy|Close|Crescent|Row|Mews)\b\.?"
            r"(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|Flat|#)\.?\s*[\w-]+)?"
            r"(?:,\s*(?:[A-Z][\w'.-]*\s?){1,3},\s*[A-Z]{2}(?:\s+\d{5}(?:-\d{4})?)?)?"
            r"|\b[A-ZÄÖÜ][a-zäöüß]+(?:straße|strasse|str\.|weg|gasse|allee|platz|damm|ufer)"
            r"\s+\d{1,4}[a-z]?\b(?:,?\s+\d{5}\s+[A-ZÄÖÜ][a-zäöüß]+)?"
        ),
    ),
    PiiPattern(
        "IBAN",
        re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b"),
        _iban_ok,
    ),
    PiiPattern(
        "CARD",
        re.compile(r"(?<![\w.])\d(?:[ -]?\d){12,18}(?![\w.])"),
        _luhn_ok,
    ),
    PiiPattern(
        "IP",
        re.compile(
            r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}"
            r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w.])"
            r"|(?<![\w:])(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}(?![\w:])"
        ),
    ),
    PiiPattern(
        "PHONE",
        re.compile(
            r"(?<![\w+])(?:\+\d{1,3}[\s.\-]?(?:\(\d{1,5}\)[\s.\-]?)?\d{1,5}"
            r"|(?:\(\d{1,5}\)[\s.\-]?)?\d{2,5})(?:[\s.\-]\d{2,8}){1,5}"
            r"(?![\w])"
        ),
        _phone_ok,
    ),
)


def _replacer(pattern: PiiPattern) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        if pattern.is_valid is not None and not pattern.is_valid(match.group(0)):
            return match.group(0)
        if pattern.secret_group is None:
            return pattern.placeholder
        start, end = match.span(pattern.secret_group)
        offset = match.start()
        whole = match.group(0)
        return whole[: start - offset] + pattern.placeholder + whole[end - offset :]

    return replace


PERSON_PLACEHOLDER = "<PERSON>"
# A name part this frequent as an English word (wordfreq Zipf scale: 4.5 = 30 per million
# words, e.g. "grace", "mark", "will") is a person's name only with a cue or an unambiguous
# neighbour.
_COMMON_WORD_ZIPF = 4.5
# A lone capitalised first name without any cue must be rare as a word ("Priya", not "Bert").
_LONE_NAME_ZIPF = 3.0
# After a weak cue ("with", "ask") a lone name must be rarer than this as a word.
_WEAK_CUE_ZIPF = 4.0
# A last name rarer than this as a word makes a capitalised pair a name even after a common
# first name ("Rose Bennett"; not "German Shepherd", "Deep Purple").
_SURNAME_ZIPF = 4.1
# Function words ("the", "my", "as") never start a name, even where a name list has them.
_FUNCTION_WORD_ZIPF = 5.8

_UPPER = "A-ZÀ-ÖØ-Þ"
_WORD = r"[^\W\d_]+(?:[-'’][^\W\d_]+)*"
# A capitalised word: "Raman", "Ana-Lucía", "O'Neill", "McCartney" (inner capitals after a
# Mc/Mac prefix), not an acronym ("AWS").
_CAP_TAIL = rf"[^\W\d_{_UPPER}]+(?:[{_UPPER}][^\W\d_{_UPPER}]+)?(?:[-'’][{_UPPER}]?[^\W\d_]+)*"
_CAP_WORD = rf"[{_UPPER}]{_CAP_TAIL}"
# Honorifics: whatever capitalised words follow are a name ("Mr. Okafor", "Dr Anh Nguyen").
# No leading \b: a pattern that starts with its literals is scanned ~30x faster by the regex
# engine; ``redact_people`` checks the word boundary instead.
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
# Scanning the lower-cased text with ``_CUED`` is twice as fast as a case-insensitive scan; this
# one serves texts whose lower-case form has another length (a few Unicode letters).
_CUED_ANY_CASE = re.compile(_CUED.pattern, re.IGNORECASE)
# Weaker cues: the name after them must be capitalised ("meeting with Priya", "ask Jonas").
_WEAKLY_CUED = re.compile(
    r"\b(?:[Ww]ith|[Ff]rom|[Aa]sk|[Aa]sked|[Tt]ell|[Tt]old|[Cc]all|[Cc]alled|[Ee]mail|"
    r"[Ee]mailed|[Mm]eet|[Mm]et|[Ii]nvite|[Rr]eply to|[Ww]rite to)"
    rf"[ \t]+(?P<name>{_CAP_WORD}(?:[ \t]+{_CAP_WORD}){{0,2}})"
)
# Names of AI assistants and products that are also first names: the subject of many prompts,
# never a person to protect.
_NOT_PEOPLE = frozenset(
    {
        "claude",
        "gemini",
        "siri",
        "alexa",
        "cortana",
        "copilot",
        "grok",
        "llama",
        "mistral",
        "bard",
        "jarvis",
        "devin",
        "ollama",
        "jasper",
        "ada",
    }
)
# Two or three capitalised words: a first name followed by a last name ("Priya Raman").
# The pattern starts with a character class (no lookbehind first) so the regex engine can skip
# ahead to capital letters: 3-4x faster on long prompts; "(?<![\w<].)" is the word boundary.
_CAP_RUN = re.compile(
    rf"(?P<name>[{_UPPER}](?<![\w<].){_CAP_TAIL}"
    rf"(?:[ \t]+{_CAP_WORD}){{1,2}})(?![\w>])"
)


class NameEntry(NamedTuple):
    """What the gazetteer knows of one lower-cased name part (a tuple: 107k load fast)."""

    first: bool
    last: bool
    common: bool  # also a common English word
    rare_word: bool  # rare as an English word: safe to take alone
    function_word: bool = False
    zipf: float = 0.0  # frequency as an English word (Zipf scale)


@lru_cache(maxsize=1)
def name_gazetteer() -> dict[str, NameEntry]:
    """The shipped first/last-name list (see ``benchmarks/derive_person_names.py``), loaded once."""
    entries: dict[str, NameEntry] = {}
    lines = gzip.decompress(resource_path("person_names.tsv.gz").read_bytes()).decode("utf-8")
    for line in lines.splitlines()[1:]:
        name, kinds, zipf = line.split("\t")
        frequency = float(zipf)
        entries[name] = NameEntry(
            "F" in kinds,
            "L" in kinds,
            frequency >= _COMMON_WORD_ZIPF,
            frequency < _LONE_NAME_ZIPF,
            frequency >= _FUNCTION_WORD_ZIPF,
            frequency,
        )
    return entries


# Surnames the list may lack but whose shape says "surname": McCartney, MacLeod, O'Neill.
_SURNAME_SHAPE = re.compile(rf"(?:Mc|Mac|O['’]|D['’])[{_UPPER}][^\W\d_{_UPPER}]")
_SHAPED_SURNAME = NameEntry(False, True, False, True, False, 0.0)


def _lookup(word: str, names: dict[str, NameEntry]) -> NameEntry | None:
    """A name part, or its hyphen-joined parts ("Ana-Lucía": "ana"), in the gazetteer."""
    lowered = word.lower().rstrip("'’s") if word.lower().endswith(("'s", "’s")) else word.lower()
    entry = names.get(lowered)
    if entry is None and _SURNAME_SHAPE.match(word):
        return _SHAPED_SURNAME
    if entry is not None or "-" not in lowered:
        return entry
    # A double name counts only when every part is a name ("Ana-Lucía", not "Elo-style").
    parts = [names.get(part) for part in lowered.split("-")]
    if any(part is None for part in parts):
        return None
    known = [part for part in parts if part is not None]
    return NameEntry(
        any(p.first for p in known),
        any(p.last for p in known),
        any(p.common for p in known),
        all(p.rare_word for p in known),
        any(p.function_word for p in known),
        max(p.zipf for p in known),
    )


def _is_capitalised(word: str) -> bool:
    return word[:1].isupper() and not word.isupper()


def _cued_name_length(words: list[str], names: dict[str, NameEntry]) -> int:
    """How many of the words after a cue form a name (0: none)."""
    first = _lookup(words[0], names)
    if first is None or not first.first or first.function_word:
        return 0
    if words[0].lower() in _NOT_PEOPLE or len(words[0]) < 3 or words[0].isupper():
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
    if last is None:
        return 0
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
    return 1 if usable and words[0].lower() not in _NOT_PEOPLE else 0


def _person_token(name: str) -> str:
    """The placeholder for a detected name (one place to hook for measurements)."""
    return PERSON_PLACEHOLDER


def _replace_names(
    text: str,
    pattern: re.Pattern[str],
    measure: Callable[[list[str], dict], int],
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


def redact_people(text: str) -> str:
    """Replace person names with ``<PERSON>`` (titles, cues, capitalised name pairs)."""

    def replace_titled(match: re.Match[str]) -> str:
        start = match.start()
        if start > 0 and (match.string[start - 1].isalnum() or match.string[start - 1] == "_"):
            return match.group(0)  # inside a word ("Mr" in "DrMr", "Dr" in "HDr")
        return match.group(0)[: match.start("name") - start] + _person_token(match.group("name"))

    text = _TITLED.sub(replace_titled, text)
    lowered = text.lower()
    if len(lowered) == len(text):
        text = _replace_names(text, _CUED, _cued_name_length, haystack=lowered)
    else:
        text = _replace_names(text, _CUED_ANY_CASE, _cued_name_length)
    text = _replace_names(text, _WEAKLY_CUED, _weakly_cued_name_length)
    return _replace_names(text, _CAP_RUN, _capitalised_name_length)


def redact_text(text: str, patterns: Iterable[PiiPattern] = PII_PATTERNS) -> str:
    """Replace every PII match in ``text`` with its typed placeholder (e.g. ``<EMAIL>``)."""
    for pattern in patterns:
        text = pattern.regex.sub(_replacer(pattern), text)
    return redact_people(text)


def hash_user_id(user_id: str, secret: str) -> str:
    """Keyed hash (HMAC-SHA256, 128 bits hex) of a source-system user id."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()[:32]


def resolve_hash_secret(secret: str | None, demo_mode: bool, demo_secret: str) -> str:
    """The HMAC key to use; outside the demo a missing key is a configuration error."""
    if secret:
        return secret
    if demo_mode:
        return demo_secret
    raise ConfigError(
        "INSIGHT_USER_HASH_SECRET is not set: user ids are stored only as keyed hashes, so a "
        "secret key is required outside the demo (set it in the environment or .env)"
    )


# Below this many texts a batch is redacted in the calling process: handing it to the pool
# would cost more than it saves.
PARALLEL_MIN_TEXTS = 200

_pool_lock = threading.Lock()
_pools: dict[int, ProcessPoolExecutor] = {}


def _redaction_pool(processes: int) -> ProcessPoolExecutor:
    """A pool of ``processes`` redaction processes, started on first use, kept for the process.

    Spawned, not forked: the caller has threads (and maybe a torch model) that a fork would copy
    in an unsafe state.
    """
    with _pool_lock:
        if processes not in _pools:
            _pools[processes] = ProcessPoolExecutor(
                max_workers=processes, mp_context=multiprocessing.get_context("spawn")
            )
            log.info("redaction: started %d worker processes", processes)
        return _pools[processes]


def _redact_batch(texts: list[str]) -> list[str]:
    return [redact_text(text) for text in texts]


def redact_texts(texts: Sequence[str], processes: int = 1) -> list[str]:
    """``redact_text`` of every text, in order; with ``processes`` > 1 spread over that many
    worker processes (the patterns are pure Python, so threads would share one core).

    A daemonic process (a Dask worker) may not start processes of its own: there, and for
    small batches, the texts are redacted in the calling process.
    """
    texts = list(texts)
    if (
        processes <= 1
        or len(texts) < PARALLEL_MIN_TEXTS
        or multiprocessing.current_process().daemon
    ):
        return _redact_batch(texts)
    size = -(-len(texts) // processes)
    parts = [texts[start : start + size] for start in range(0, len(texts), size)]
    pool = _redaction_pool(processes)
    return [text for part in pool.map(_redact_batch, parts) for text in part]


def redact_frame(frame: pl.DataFrame, secret: str, processes: int = 1) -> pl.DataFrame:
    """Redact ``text`` and replace ``user_id`` by ``user_hash`` in a validated batch
    (``processes``: see :func:`redact_texts`)."""
    redacted = redact_texts(frame.get_column("text").to_list(), processes)
    hashes = [hash_user_id(uid, secret) for uid in frame.get_column("user_id").to_list()]
    return frame.with_columns(
        pl.Series("text", redacted, dtype=pl.String),
        pl.Series("user_hash", hashes, dtype=pl.String),
    ).drop("user_id")


def cap_text(text: str, max_chars: int) -> str:
    """``text`` cut to ``max_chars`` with a marker giving the original length."""
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}…[truncated, {len(text)} chars]"


def _redact_value(value: Any, max_chars: int) -> Any:
    if isinstance(value, str):
        return cap_text(redact_text(value), max_chars)
    if isinstance(value, dict):
        return {
            _redact_value(str(key), max_chars): _redact_value(item, max_chars)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact_value(item, max_chars) for item in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        # A number can be PII too (a phone or SSN read as an integer).
        as_text = str(value)
        redacted = redact_text(as_text)
        return value if redacted == as_text else redacted
    return value


def redact_record(record: dict[str, Any], secret: str, max_chars: int) -> dict[str, Any]:
    """A rejected row made safe to keep: every string (keys, values, nested) redacted and capped
    at ``max_chars``, and ``user_id`` replaced by its keyed hash."""
    record = dict(record)
    user_id = record.pop("user_id", None)
    cleaned = _redact_value(record, max_chars)
    if user_id is not None:
        cleaned["user_hash"] = hash_user_id(str(user_id), secret)
    return cleaned
