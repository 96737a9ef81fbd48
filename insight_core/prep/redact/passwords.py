"""Passwords, passphrases, PINs and one-time or lock codes, found by the cue words around them
(in several languages) or by a password-shaped value."""

from __future__ import annotations

import re

from insight_core.prep.redact.pattern import PiiPattern


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

PASSWORD_ASSIGNED: tuple[PiiPattern, ...] = (
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
)

PASSWORDS: tuple[PiiPattern, ...] = (
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
            and _password_word_near(match.string, match.start(), match.end())
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
)
