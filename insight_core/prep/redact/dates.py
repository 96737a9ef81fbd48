"""Dates of birth: a date of any common shape (digits, month names in five languages, words)
after a birth cue; other dates stay."""

from __future__ import annotations

import re

from insight_core.prep.redact.pattern import PiiPattern

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

DATES_OF_BIRTH: tuple[PiiPattern, ...] = (
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
)
