"""The demo phrase bank: request templates per category, slot fillers, events, PII carriers.

Read from ``phrases.yaml``, ``slots.yaml`` and ``events.yaml`` in
``insight_core/demo/resources`` and checked once per process.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from insight_core.demo.scenario import (
    BURNOUT_EVENT,
    CATEGORIES,
    DEPARTMENT_NAMES,
    PII_KINDS,
    SQL_EVENT,
    VPN_EVENT,
    read_resource,
)

# A {slot} of a template.
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


@dataclass(frozen=True)
class PhraseBank:
    """The demo phrase bank: request templates per category, slot fillers and extras."""

    templates: Mapping[str, tuple[tuple[str, frozenset[str] | None], ...]]
    slots: Mapping[str, tuple[str, ...]]
    raw_slots: frozenset[str]
    roles: Mapping[str, tuple[str, ...]]
    greetings: tuple[str, ...]
    signoffs: tuple[str, ...]
    role_frames: tuple[str, ...]
    connectors: tuple[str, ...]
    events: Mapping[str, tuple[str, ...]]
    pii: Mapping[str, tuple[str, ...]]
    bad_rows: Mapping[str, tuple[str, ...]]


@lru_cache(maxsize=1)
def load_phrase_bank() -> PhraseBank:
    """Load and check the phrase bank shipped in ``insight_core/demo/resources``.

    Raises ``ValueError`` if a template names an unknown slot or department, or a category
    of the taxonomy has no templates, so a broken bank fails loudly rather than at random.
    """
    phrases = read_resource("phrases.yaml")
    slot_file = read_resource("slots.yaml")
    extras = read_resource("events.yaml")

    slots: dict[str, tuple[str, ...]] = {
        name: tuple(str(v) for v in values) for name, values in slot_file["slots"].items()
    }
    for name, parts in slot_file.get("unions", {}).items():
        slots[name] = tuple(value for part in parts for value in slots[part])
    raw_slots = frozenset(slot_file.get("raw", []))

    templates: dict[str, tuple[tuple[str, frozenset[str] | None], ...]] = {}
    for category, entries in phrases["categories"].items():
        parsed: list[tuple[str, frozenset[str] | None]] = []
        for entry in entries:
            if isinstance(entry, str):
                parsed.append((entry, None))
            else:
                parsed.append((str(entry["text"]), frozenset(entry["depts"])))
        templates[category] = tuple(parsed)

    style = phrases["style"]
    bank = PhraseBank(
        templates=templates,
        slots=slots,
        raw_slots=raw_slots,
        roles={k: tuple(v) for k, v in phrases["roles"].items()},
        greetings=tuple(style["greetings"]),
        signoffs=tuple(style["signoffs"]),
        role_frames=tuple(style["role_frames"]),
        connectors=tuple(style["connectors"]),
        events={k: tuple(v) for k, v in extras["events"].items()},
        pii={k: tuple(v) for k, v in extras["pii"].items()},
        bad_rows={k: tuple(v) for k, v in extras["bad_rows"].items()},
    )
    _check_bank(bank)
    return bank


def slot_base(name: str) -> str:
    """The slot list a slot name draws from: {city2} draws a second value from "city"."""
    return name.rstrip("0123456789")


def _check_bank(bank: PhraseBank) -> None:
    missing = [c for c in CATEGORIES if not bank.templates.get(c)]
    if missing or set(bank.templates) - set(CATEGORIES):
        raise ValueError(f"phrase bank categories do not match the taxonomy: missing {missing}")
    known_slots = set(bank.slots) | {f"pii_{kind}" for kind in PII_KINDS}
    texts: list[str] = []
    for category, entries in bank.templates.items():
        for text, depts in entries:
            texts.append(text)
            unknown = (depts or frozenset()) - set(DEPARTMENT_NAMES)
            if unknown:
                raise ValueError(f"{category} template names unknown departments {unknown}")
    texts += [t for group in (*bank.events.values(), *bank.pii.values()) for t in group]
    texts += [t for group in bank.bad_rows.values() for t in group]
    texts += [
        value
        for name, values in bank.slots.items()
        if name not in bank.raw_slots
        for value in values
    ]
    for text in texts:
        for name in PLACEHOLDER.findall(text):
            if name not in known_slots and slot_base(name) not in known_slots:
                raise ValueError(f"phrase bank text names unknown slot {{{name}}}: {text!r}")
    for event in (VPN_EVENT, BURNOUT_EVENT, SQL_EVENT):
        if not bank.events.get(event):
            raise ValueError(f"phrase bank has no phrases for event {event}")
    for category in CATEGORIES:
        if not bank.pii.get(category):
            raise ValueError(f"phrase bank has no PII templates for {category}")
