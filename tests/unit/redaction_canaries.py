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
    # National identity numbers (check digits valid where the format has them).
    ("NATIONAL_ID", "my NI number is QQ 12 34 56 C", "12 34 56"),
    ("NATIONAL_ID", "national insurance ab123456c for the payroll form", "ab123456c"),
    ("NATIONAL_ID", "aadhaar 2345 6789 0124 for the KYC", "6789 0124"),
    ("NATIONAL_ID", "my aadhaar number is 234567890124", "234567890124"),
    ("NATIONAL_ID", "PAN: ACUPA7085R", "ACUPA7085R"),
    ("NATIONAL_ID", "my SIN is 130 692 544, is that needed?", "692 544"),
    ("NATIONAL_ID", "numéro de sécurité sociale 2 95 10 99 126 111 93", "126 111 93"),
    ("NATIONAL_ID", "Steuer-ID 36 574 261 809 für die Lohnabrechnung", "261 809"),
    ("NATIONAL_ID", "my DNI is 54362315K", "54362315K"),
    ("NATIONAL_ID", "NIE X2482300W", "X2482300W"),
    ("NATIONAL_ID", "codice fiscale RCCMNL83S18D969H", "RCCMNL83S18D969H"),
    ("NATIONAL_ID", "BSN 111222333 invullen", "111222333"),
    ("NATIONAL_ID", "my tax file number is 123 456 782", "456 782"),
    ("NATIONAL_ID", "CPF 390.533.447-05", "390.533.447-05"),
    ("NATIONAL_ID", "NRIC S1234567D for the visitor pass", "S1234567D"),
    # Passport numbers.
    ("PASSPORT", "my passport number is 533380006, renew it", "533380006"),
    ("PASSPORT", "passport no. X1234567 expires in May", "X1234567"),
    # Dates of birth.
    ("DOB", "DOB: 3 March 1979", "3 March 1979"),
    ("DOB", "i was born on march 3rd 1990", "march 3rd 1990"),
    ("DOB", "date of birth 04/11/1987", "04/11/1987"),
    ("DOB", "dob 1992-07-15, please update HR", "1992-07-15"),
    ("DOB", "his DOB is 12.09.85", "12.09.85"),
    # Employee ids.
    ("EMPLOYEE_ID", "my employee id is E104233", "E104233"),
    ("EMPLOYEE_ID", "staff no. 44817 asked for leave", "44817"),
    ("EMPLOYEE_ID", "badge #A7731 does not open the door", "A7731"),
    # Lower-case and continental addresses.
    ("ADDRESS", "deliver to 14 willow crescent tomorrow", "14 willow crescent"),
    ("ADDRESS", "4821 n sheridan rd apt 2, chicago", "sheridan rd"),
    ("ADDRESS", "flat 3, 27 elm grove road", "elm grove"),
    ("ADDRESS", "j'habite au 7 rue des lilas", "rue des lilas"),
    ("ADDRESS", "calle mayor 5, madrid", "calle mayor 5"),
    # E-mail addresses outside ASCII.
    ("EMAIL", "write to jürgen.müller@bücher.de", "jürgen.müller"),
    ("EMAIL", "mail 田中@例え.jp", "田中"),
    # Secrets typed in words.
    ("SECRET", "pw: tulip", "tulip"),
    ("SECRET", "my password is sunshine", "sunshine"),
    ("SECRET", "the wifi key is bluefrog", "bluefrog"),
    ("SECRET", "PIN 4821 for the card", "4821"),
    ("SECRET", "passcode 8812", "8812"),
    (
        "SECRET",
        "-----BEGIN RSA PRIVATE KEY----- MIIEowIBAAKCAQEA7 ab+c/def== -----END RSA PRIVATE "
        "KEY-----",
        "MIIEowIBAAKCAQEA7",
    ),
    ("SECRET", "postgres://admin:S3cr3t@db.internal:5432/app", "S3cr3t"),
    ("SECRET", "Server=db;Database=hr;User Id=sa;Password=Secret123;", "Secret123"),
]

# Kinds whose every canary must be caught (pattern-shaped, no judgement involved).
MUST_CATCH = (
    "PHONE",
    "SECRET",
    "SSN",
    "NATIONAL_ID",
    "PASSPORT",
    "DOB",
    "EMPLOYEE_ID",
    "EMAIL",
)

# Ordinary prompts that look like a kind without being one: each must stay as it is.
NEAR_MISSES: list[str] = [
    "the meeting is on 3 March 2026 at 10:30",
    "release 1.2.3 shipped on 2026-10-03",
    "order 1200 units by 04/11/2026",
    "what are the passport photo requirements",
    "how do I pass the test on the first try",
    "the password policy needs review",
    "my password is incorrect again",
    "the password is too short",
    "what is a good pin code length",
    "pin the dependency to 2.31",
    "we had 3 hard drive failures",
    "a 10 mile drive to the office",
    "I have 2 very close friends",
    "there are 9 supreme court justices",
    "build a 2 lane road",
    "send it via email 2 times",
    "the employee id field is empty",
    "badge 2024 design ideas",
    "born in the USA is a song",
    "birthday party on Friday",
    "python 3.11 on port 8080",
    "version 10.0.19045",
    "invoice 123456789 paid",
    "reference ABC123456",
    "the wifi is down again",
    "we need 24 avenue signs",
    "Set the pin to HIGH",
    "the door code is changing",
]
