"""Invented PII canaries: each is (kind, text, the sensitive string that must not survive).

Every name, number and address here is made up for the tests. ``benchmarks/redaction_quality.py``
reports recall per kind on this set; ``tests/unit/test_redact.py`` requires every canary of the
kinds listed in ``MUST_CATCH`` to be caught and a recall floor for the rest.
"""

from __future__ import annotations

CANARIES: list[tuple[str, str, str]] = [
    # Person names in varied forms.
    ("PERSON", "Dear Priya Raman, please find the summary below.", "Priya Raman"),
    ("PERSON", "my manager jonas weber said the deadline moved", "jonas weber"),
    ("PERSON", "cc: Ana-Lucía Ortega", "Ana-Lucía Ortega"),
    ("PERSON", "Please ask Mr. Okafor whether the invoice was paid", "Okafor"),
    ("PERSON", "I met Tobias Lindqvist at the offsite and he wants the deck", "Tobias Lindqvist"),
    ("PERSON", "write a reference letter for Keiko Tanabe", "Keiko Tanabe"),
    ("PERSON", "hi marta, can you summarise this thread", "marta"),
    ("PERSON", "Draft a reply to Dr Rhiannon Pryce-Jones about the trial", "Rhiannon Pryce-Jones"),
    ("PERSON", "my colleague Grace Adebayo keeps missing standups", "Grace Adebayo"),
    ("PERSON", "Summarise the feedback Mateo Alvarez gave in the review", "Mateo Alvarez"),
    ("PERSON", "Mrs. Hollingsworth asked for the quarterly numbers", "Hollingsworth"),
    ("PERSON", "thanks, Siddharth", "Siddharth"),
    ("PERSON", "meeting with Ingrid tomorrow about the budget", "Ingrid"),
    ("PERSON", "Can you help me write a performance review for Lukas Brenner", "Lukas Brenner"),
    ("PERSON", "Hey Fatima Zahra Benali, your badge is ready", "Fatima Zahra Benali"),
    ("PERSON", "Regards, Wojciech Nowak", "Wojciech Nowak"),
    ("PERSON", "my boss mark hughes wants it by friday", "mark hughes"),
    ("PERSON", "Translate this note from Chiara Bellini into German", "Chiara Bellini"),
    ("PERSON", "Will Summers asked about the roadmap", "Will Summers"),
    ("PERSON", "Rose Bennett sent the contract", "Rose Bennett"),
    # Street addresses.
    ("ADDRESS", "ship the laptop to 742 Evergreen Terrace, Springfield", "742 Evergreen Terrace"),
    ("ADDRESS", "Our office is at 1600 Amphitheatre Parkway, Mountain View, CA 94043", "1600"),
    ("ADDRESS", "send it to 221B Baker Street please", "221B Baker Street"),
    ("ADDRESS", "I live at 12 Oak Lane, Apt 4", "12 Oak Lane"),
    ("ADDRESS", "Lieferadresse: Hauptstraße 12, 10115 Berlin", "Hauptstraße 12"),
    ("ADDRESS", "the venue is 55 West 44th Street", "55 West 44th Street"),
    ("ADDRESS", "return address 9 Rosemary Close, Leeds", "9 Rosemary Close"),
    ("ADDRESS", "move to 88 king st next month", "88 king st"),
    # Phone numbers the old patterns missed, and more.
    ("PHONE", "call me on +49 30 90182077 after 5", "90182077"),
    ("PHONE", "my cell is +1 415 555 0134", "555 0134"),
    ("PHONE", "reach her at +33 1 42 68 53 00", "42 68 53 00"),
    ("PHONE", "mobile 0151 23456789", "23456789"),
    # Secrets: opaque bearer tokens.
    ("SECRET", "Authorization: Bearer 8f14e45fceea167a5a36dedd4bea2543", "8f14e45fceea167a"),
    ("SECRET", "curl -H 'Authorization: Bearer a1b2c3d4e5f6g7h8i9j0k1l2'", "a1b2c3d4e5f6"),
    ("SECRET", "use header Authorization: Basic dXNlcjpwYXNzd29yZDEyMw==", "dXNlcjpwYXNz"),
    # Social security numbers, with and without dashes.
    ("SSN", "my SSN is 321549876", "321549876"),
    ("SSN", "social security number: 321-54-9876", "321-54-9876"),
    ("SSN", "SSN 321 54 9876 on the form", "321 54 9876"),
    ("SSN", "her social security no. 456123789 was leaked", "456123789"),
    ("SSN", "employee record: 078-05-1120", "078-05-1120"),
]

# Kinds whose every canary must be caught (pattern-shaped, no judgement involved).
MUST_CATCH = ("PHONE", "SECRET", "SSN")
