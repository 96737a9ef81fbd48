"""National identity numbers, checked with ``python-stdnum`` (check digits of the Aadhaar, PAN,
SIN, NIR, Steuer-IdNr, DNI/NIE, codice fiscale, BSN, TFN and CPF) and a nearby cue where the
bare number alone would be too common."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from stdnum.au import tfn
from stdnum.br import cpf
from stdnum.ca import sin
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.in_ import aadhaar, pan
from stdnum.it import codicefiscale
from stdnum.nl import bsn

from insight_core.prep.redact.pattern import PiiPattern


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


# Six digits, maybe in pairs ("12 34 56"): every numeric national id has them. Python's regex
# engine skips quickly to a pattern's first character only when the pattern starts with a
# character class or literal, so the id patterns below start with one and check the word
# boundary just after it ("(?<![\w-].)"); this gate spares most prompts those scans at all.
_SIX_DIGITS = re.compile(r"\d\d[ .-]?\d\d[ .-]?\d\d")

NATIONAL_IDS: tuple[PiiPattern, ...] = tuple(
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
                re.compile(r"\b(?:sin|social insurance|nas|assurance sociale)\b", re.IGNORECASE),
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
)
