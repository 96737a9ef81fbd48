"""Passport numbers (with their cue, or a machine-readable zone), employee and badge numbers,
and US social security numbers."""

from __future__ import annotations

import re

from insight_core.prep.redact.pattern import PiiPattern

# Words of a prompt about work matters, where "my id: X" is an employee id.
_HR_CONTEXT = re.compile(
    r"\b(?:hr|payroll|leave|badge|employee|staff|timesheet|manager|onboarding|salary|payslip|"
    r"benefits|hire|hired|pto|vacation|overtime|shift|contract|personnel|workday)\b",
    re.IGNORECASE,
)


def _not_a_year(candidate: str) -> bool:
    return not re.fullmatch(r"(?:19|20)\d\d", candidate)


DOCUMENT_AND_STAFF_IDS: tuple[PiiPattern, ...] = (
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
)
