"""Credentials: private keys, vendor API keys, tokens, credentials in URLs and connection
strings, keys assigned a random-looking value, authorization headers."""

from __future__ import annotations

import re

from insight_core.prep.redact.pattern import PiiPattern


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


def _long_token(candidate: str) -> bool:
    """An authorization value long enough to be a credential rather than a word."""
    value = candidate.split(None, 1)[-1]
    return len(value) >= 16


_TOKEN_KEYS = (
    r"token|access_token|auth|key|api_key|apikey|sig|signature|secret|password|passwd|pwd|"
    r"session|sessionid|code|credential|jwt|X-Amz-Signature|X-Amz-Credential"
)

CREDENTIALS_IN_URLS: tuple[PiiPattern, ...] = (
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
)

VENDOR_KEYS: tuple[PiiPattern, ...] = (
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
)

KEYED_SECRETS: tuple[PiiPattern, ...] = (
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
)

AUTHORIZATION: tuple[PiiPattern, ...] = (
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
)
