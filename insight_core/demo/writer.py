"""The text of a demo prompt: a template from the phrase bank, varied like real chat.

:class:`PromptWriter` picks a template for a category (a department's own templates more
often), fills its slots, and varies it with greetings, sign-offs, role-play framings,
lower-case chat style, typos and multi-intent prompts; ``{pii_*}`` slots become fake PII from
reserved example domains, fictional phone ranges and published test numbers.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

import numpy as np

from insight_core.demo.phrase_bank import PLACEHOLDER, PhraseBank, slot_base
from insight_core.demo.scenario import (
    CATEGORIES,
    DEPARTMENT_NAMES,
    DEPARTMENTS,
    DEPT_TEMPLATE_WEIGHT,
    EXAMPLE_CARDS,
    EXAMPLE_IBANS,
    P_GREETING,
    P_LOWERCASE,
    P_MULTI_INTENT,
    P_PII,
    P_ROLE_FRAME,
    P_SIGNOFF,
    P_TYPO,
)

# Whole words only: never a piece of a {pii_*} placeholder, snake_case name or token.
_TYPO_WORD = re.compile(r"(?<![\w{])[A-Za-z]{4,}(?![\w}])")
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_HEX = "0123456789abcdef"


def add_typos(text: str, rng: random.Random, max_words: int = 2) -> str:
    """Misspell one or two words of ``text`` by swapping, dropping or doubling a letter.

    Only words of four or more letters on the first line are touched, so pasted code,
    placeholders and short words such as "SQL" or "PTO" stay intact.
    """
    first_line, sep, rest = text.partition("\n")
    words = list(_TYPO_WORD.finditer(first_line))
    if not words:
        return text
    chosen = rng.sample(words, k=min(len(words), rng.randint(1, max_words)))
    pieces: list[str] = []
    cursor = 0
    for match in sorted(chosen, key=lambda m: m.start()):
        pieces.append(first_line[cursor : match.start()])
        pieces.append(_misspell(match.group(0), rng))
        cursor = match.end()
    pieces.append(first_line[cursor:])
    return "".join(pieces) + sep + rest


def _misspell(word: str, rng: random.Random) -> str:
    for _ in range(4):
        i = rng.randrange(1, len(word) - 1)
        kind = rng.choice(("swap", "drop", "double"))
        if kind == "swap":
            typo = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        elif kind == "drop":
            typo = word[:i] + word[i + 1 :]
        else:
            typo = word[:i] + word[i] + word[i:]
        if typo != word:
            return typo
    return word[:-1]


def _lower_first(text: str) -> str:
    # Keep "I", acronyms and code as they are: only a capitalised ordinary word is lowered.
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


class PromptWriter:
    """Turns a category (and department) into a varied prompt text."""

    def __init__(self, bank: PhraseBank, rnd: random.Random) -> None:
        self.bank = bank
        self.rnd = rnd
        self._pools: dict[tuple[str, str], tuple[list[str], list[float]]] = {}
        self._pii_makers: dict[str, Callable[[], str]] = {
            "email": self._fake_email,
            "phone": self._fake_phone,
            "card": lambda: self.rnd.choice(EXAMPLE_CARDS),
            "iban": lambda: self.rnd.choice(EXAMPLE_IBANS),
            "ip": self._fake_ip,
            "url": self._fake_url,
            "secret": self._fake_secret,
        }

    def write(
        self, category: str, department: str, event: str | None = None
    ) -> tuple[str, list[tuple[str, str]]]:
        """A prompt text and the fake PII it carries as (kind, value) pairs."""
        rnd = self.rnd
        if event is not None:
            text = self.render(rnd.choice(self.bank.events[event]))
        elif rnd.random() < P_PII:
            text = self.render(rnd.choice(self.bank.pii[category]))
        elif rnd.random() < P_MULTI_INTENT:
            text = self._multi_intent(category, department)
        else:
            text = self.render(self._pick(category, department))
            if "\n" not in text and rnd.random() < P_ROLE_FRAME:
                text = self._role_frame(category, text)
        return self._fill_pii(self._style(text))

    def render(self, template: str, depth: int = 0) -> str:
        """Fill the {slots} of ``template``; {pii_*} slots are left for :meth:`_fill_pii`."""
        chosen: dict[str, str] = {}

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("pii_"):
                return match.group(0)
            if name not in chosen:
                base = slot_base(name) if name not in self.bank.slots else name
                value = self.rnd.choice(self.bank.slots[base])
                if base not in self.bank.raw_slots and depth < 2 and "{" in value:
                    value = self.render(value, depth + 1)
                chosen[name] = value
            return chosen[name]

        return PLACEHOLDER.sub(fill, template)

    def _pick(self, category: str, department: str) -> str:
        key = (category, department)
        if key not in self._pools:
            texts: list[str] = []
            weights: list[float] = []
            for text, depts in self.bank.templates[category]:
                if depts is None:
                    texts.append(text)
                    weights.append(1.0)
                elif department in depts:
                    texts.append(text)
                    weights.append(DEPT_TEMPLATE_WEIGHT)
            self._pools[key] = (texts, list(np.cumsum(weights)))
        texts, cumulative = self._pools[key]
        return self.rnd.choices(texts, cum_weights=cumulative)[0]

    def _multi_intent(self, category: str, department: str) -> str:
        first = self.render(self._pick(category, department)).rstrip()
        mix = DEPARTMENTS[DEPARTMENT_NAMES.index(department)].mix
        others = [(c, w) for c, w in zip(CATEGORIES, mix, strict=True) if c != category]
        second_category = self.rnd.choices([c for c, _ in others], [w for _, w in others])[0]
        second = ""
        for _ in range(8):
            second = self.render(self._pick(second_category, department))
            # A tacked-on request is a sentence of its own, not a paste or a bare "hello".
            if "\n" not in second and len(second.split()) >= 4:
                break
        if "\n" not in first and first[-1] not in ".?!:":
            first += "?" if first.split()[0].lower() in {"how", "what", "why", "can"} else "."
        connectors = self.bank.connectors
        if "\n" in first:
            # After a pasted block a second request only reads right on its own paragraph.
            connectors = tuple(c for c in connectors if c.startswith("{first}\n")) or connectors
        connector = self.rnd.choice(connectors)
        return connector.format(first=first, second=second, second_lc=_lower_first(second))

    def _role_frame(self, category: str, text: str) -> str:
        frame = self.rnd.choice(self.bank.role_frames)
        role = self.rnd.choice(self.bank.roles[category])
        return frame.format(role=role, request=text, request_lc=_lower_first(text))

    def _style(self, text: str) -> str:
        rnd = self.rnd
        if rnd.random() < P_TYPO:
            text = add_typos(text, rnd)
        if "\n" not in text and rnd.random() < P_LOWERCASE:
            text = text.lower().rstrip(".")
        if rnd.random() < P_GREETING:
            greeting = rnd.choice(self.bank.greetings)
            body = _lower_first(text) if greeting.endswith(",") else text
            text = f"{greeting} {body}"
        if rnd.random() < P_SIGNOFF:
            if "\n" in text:
                sep = "\n"
            elif text[-1] in ".?!:)":
                sep = " "
            else:
                sep = rnd.choice((" ", ", ", ". "))
            text = f"{text}{sep}{rnd.choice(self.bank.signoffs)}"
        return text

    def _fill_pii(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        found: list[tuple[str, str]] = []

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if not name.startswith("pii_"):
                return match.group(0)
            kind = name.removeprefix("pii_")
            value = self._pii_makers[kind]()
            found.append((kind, value))
            return value

        # Only {pii_*} names are replaced: braces in pasted code or JSON are left alone.
        if "{pii_" not in text:
            return text, found
        return PLACEHOLDER.sub(fill, text), found

    # Fake PII: reserved example domains, fictional phone ranges, published test numbers.
    def _fake_email(self) -> str:
        rnd = self.rnd
        first = rnd.choice(self.bank.slots["first_name"]).lower()
        last = rnd.choice(self.bank.slots["last_name"]).lower()
        domain = rnd.choice(("example.com", "example.org"))
        local = rnd.choice(
            (
                f"{first}.{last}",
                f"{first[0]}{last}",
                f"{first}.{last}{rnd.randint(2, 99)}",
                f"{first}_{last}",
            )
        )
        return f"{local}@{domain}"

    def _fake_phone(self) -> str:
        rnd = self.rnd
        return rnd.choice(
            (
                f"+44 20 7946 0{rnd.randint(0, 999):03d}",
                f"+44 161 496 0{rnd.randint(0, 999):03d}",
                f"(555) 01{rnd.randint(0, 9)}-{rnd.randint(0, 9999):04d}",
                f"555-01{rnd.randint(0, 9)}-{rnd.randint(0, 9999):04d}",
            )
        )

    def _fake_ip(self) -> str:
        rnd = self.rnd
        prefix = rnd.choice(("10.{}.{}", "192.168.{}", "172.16.{}"))
        octets = [str(rnd.randint(0, 254)) for _ in range(prefix.count("{}"))]
        return prefix.format(*octets) + f".{rnd.randint(2, 254)}"

    def _fake_url(self) -> str:
        rnd = self.rnd
        token = "".join(rnd.choices(_HEX, k=24))
        sig = "".join(rnd.choices(_HEX, k=16))
        return rnd.choice(
            (
                f"https://files.example.com/share?token={token}&sig={sig}",
                f"https://drive.example.org/d/{sig}?access_token={token}",
                f"https://portal.example.com/download?file=statement.pdf&key={token}",
            )
        )

    def _fake_secret(self) -> str:
        rnd = self.rnd
        kind = rnd.randrange(3)
        if kind == 0:
            return "sk-live-" + "".join(rnd.choices(_ALNUM, k=24))
        if kind == 1:
            return "AKIA" + "".join(rnd.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", k=16))
        return "ghp_" + "".join(rnd.choices(_ALNUM, k=36))
