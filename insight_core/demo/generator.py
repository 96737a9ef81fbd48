"""Synthetic GenAI prompt logs for ``insight demo``: a month at a fictional company.

:func:`generate_demo_logs` writes one JSON Lines file per day and the truth about them:
``labels.csv`` (the true category of every valid prompt) and ``ground_truth.json`` (the three
trend events planted in the month, the bad rows, the duplicates and every fake PII string).
The demo and the tests use that truth to check that the pipeline finds the events, quarantines
the bad rows, skips the duplicates and lets no PII into the warehouse.

The wording comes from the phrase bank in ``insight_core/demo/resources/`` (templates per
category plus slot fillers), varied with greetings, sign-offs, role-play framings, lower-case
chat style, typos and multi-intent prompts. Counts and times are drawn from a NumPy generator
and wording from a ``random.Random``, both seeded with ``seed``, so a seed always gives
identical files.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

CATEGORIES: tuple[str, ...] = (
    "coding",
    "it_support",
    "hr_employment",
    "wellbeing",
    "legal_compliance",
    "finance",
    "learning_development",
    "writing_communication",
    "creative_writing",
    "other",
)
TOOLS: tuple[str, ...] = ("copilot-chat", "chatgpt-enterprise", "internal-assistant")
RECORD_KEYS: tuple[str, ...] = ("prompt_id", "timestamp", "user_id", "department", "text", "tool")
PII_KINDS: tuple[str, ...] = ("email", "phone", "card", "iban", "ip", "url", "secret")
BAD_ROW_REASONS: tuple[str, ...] = (
    "empty_text",
    "whitespace_text",
    "missing_user_id",
    "unparseable_timestamp",
    "timestamp_outside_window",
    "invalid_department",
    "text_too_long",
)
MAX_TEXT_CHARS = 8000


@dataclass(frozen=True)
class _Department:
    name: str
    share: float
    # Category weights in CATEGORIES order (percent of the department's prompts).
    mix: tuple[float, ...]
    # Weights of TOOLS as a user's main assistant.
    tools: tuple[float, float, float]


DEPARTMENTS: tuple[_Department, ...] = (
    _Department("Engineering", 0.22, (38, 14, 4, 2.5, 2, 1.5, 10, 14, 3, 11), (0.6, 0.2, 0.2)),
    _Department("Sales", 0.15, (3, 8, 5, 2.5, 5, 10, 7, 35, 12, 12.5), (0.1, 0.6, 0.3)),
    _Department("Marketing", 0.10, (3, 6, 4, 2.5, 4, 5, 7, 28, 30, 10.5), (0.1, 0.65, 0.25)),
    _Department("Finance", 0.09, (11, 7, 4, 2.5, 6, 38, 5, 14, 1.5, 11), (0.2, 0.4, 0.4)),
    _Department("Human Resources", 0.07, (2, 6, 36, 3, 9, 4, 8, 20, 2, 10), (0.1, 0.4, 0.5)),
    _Department("Legal", 0.07, (1.5, 5, 5, 2.5, 42, 5, 5, 22, 1, 11), (0.1, 0.3, 0.6)),
    _Department("Customer Support", 0.18, (3, 20, 5, 3, 4, 5, 6, 36, 3, 15), (0.05, 0.35, 0.6)),
    _Department("Operations", 0.12, (8, 12, 5, 2.5, 7, 14, 7, 22, 2.5, 20), (0.15, 0.45, 0.4)),
)
DEPARTMENT_NAMES: tuple[str, ...] = tuple(d.name for d in DEPARTMENTS)

# Relative prompt volume by UTC hour: office hours, a lunch dip, a quiet night.
WEEKDAY_HOURS = (
    0.3,
    0.2,
    0.15,
    0.15,
    0.2,
    0.5,
    1.5,
    4,
    8,
    10,
    10,
    9,
    5,
    4.5,
    8.5,
    9.5,
    9,
    7,
    4,
    2.5,
    2,
    1.5,
    1,
    0.6,
)
WEEKEND_HOURS = (
    0.8,
    0.5,
    0.3,
    0.2,
    0.2,
    0.3,
    0.6,
    1.2,
    2.5,
    4,
    5,
    5.5,
    5,
    5,
    5,
    5,
    4.5,
    4.5,
    4.5,
    4,
    3.5,
    3,
    2,
    1.2,
)
# Monday..Friday activity relative to an average weekday (Friday afternoons are quiet).
WEEKDAY_FACTOR = (1.0, 1.05, 1.05, 1.0, 0.85)
WEEKDAY_ACTIVE_RATE = 0.96  # times a user's propensity (mean 0.5): about half are active
WEEKDAY_EXTRA_PROMPTS = 0.8  # an active user sends 1 + Poisson(0.8) prompts
WEEKEND_ACTIVE_RANGE = (0.05, 0.08)
WEEKEND_EXTRA_PROMPTS = 0.4
PRIMARY_TOOL_SHARE = 0.85

P_PII = 0.03
P_MULTI_INTENT = 0.05
P_TYPO = 0.10
P_ROLE_FRAME = 0.04
P_LOWERCASE = 0.18
P_GREETING = 0.12
P_SIGNOFF = 0.10
BAD_ROW_RATE = 0.005
DEPT_TEMPLATE_WEIGHT = 4.0  # department-specific templates vs generic ones

VPN_EVENT = "vpn_outage"
BURNOUT_EVENT = "burnout_rising"
SQL_EVENT = "sql_learning_surge"
VPN_MULTIPLIER = 3.0
BURNOUT_MULTIPLIER = 5.0
SQL_MULTIPLIER = 3.0
BURNOUT_DEPARTMENT = "Customer Support"
SQL_DEPARTMENT = "Finance"
VPN_WINDOW_HOURS = (7.5, 12.5)  # UTC; the outage hits the morning

_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
# Whole words only: never a piece of a {pii_*} placeholder, snake_case name or token.
_TYPO_WORD = re.compile(r"(?<![\w{])[A-Za-z]{4,}(?![\w}])")
_EXAMPLE_CARDS = (  # Luhn-valid test numbers published by card networks
    "4111 1111 1111 1111",
    "5500-0000-0000-0004",
    "4012 8888 8888 1881",
    "5555 5555 5555 4444",
    "4242424242424242",
    "3782 822463 10005",
)
_EXAMPLE_IBANS = (  # checksum-valid IBANs from public documentation examples
    "GB82 WEST 1234 5698 7654 32",
    "DE89370400440532013000",
    "GB33BUKB20201555555555",
    "FR14 2004 1010 0505 0001 3M02 606",
    "NL91ABNA0417164300",
    "ES91 2100 0418 4502 0005 1332",
    "BE68 5390 0754 7034",
)
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_HEX = "0123456789abcdef"


# ---- public API --------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoDataset:
    """Where :func:`generate_demo_logs` wrote a demo month, and how many rows it holds."""

    root: Path
    log_files: list[Path]
    dates: list[date]
    ground_truth_file: Path
    labels_file: Path
    n_prompts: int


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


def generate_demo_logs(
    out_dir: Path, start: date, days: int = 30, seed: int = 7, n_users: int = 600
) -> DemoDataset:
    """Write ``days`` daily JSON Lines logs from ``start`` plus labels and ground truth.

    Files: ``<out_dir>/logs/YYYY-MM-DD.jsonl`` (stale files of that name pattern in the folder
    are removed first), ``<out_dir>/labels.csv`` and ``<out_dir>/ground_truth.json``.

    Event days, counted from ``start`` (day 0), for runs of 30 days or more: the VPN outage on
    the first weekday from day 9 (so in the second week), burnout rising linearly from day 14
    to 5x on day 27 and staying there, and the SQL surge from the first weekday from day 12.
    Shorter runs squeeze these positions in proportion; runs under 3 days have no events.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    if n_users < len(DEPARTMENTS):
        raise ValueError(f"n_users must be at least {len(DEPARTMENTS)} (one per department)")
    out_dir = Path(out_dir)
    logs_dir = out_dir / "logs"
    logs_dir.mkdir(parents=True, exist_ok=True)
    for stale in logs_dir.glob("????-??-??.jsonl"):
        stale.unlink()

    plan = _plan_events(start, days)
    generator = _Generator(seed, n_users, plan)
    dates = [start + timedelta(days=offset) for offset in range(days)]
    log_files: list[Path] = []
    labels: list[tuple[str, str]] = []
    n_rows = 0
    for offset, day in enumerate(dates):
        rows, day_labels = generator.day(offset, day)
        path = logs_dir / f"{day.isoformat()}.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for record in rows:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        log_files.append(path)
        labels.extend(day_labels)
        n_rows += len(rows)

    labels_file = out_dir / "labels.csv"
    with labels_file.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prompt_id", "category"])
        writer.writerows(labels)

    ground_truth = generator.ground_truth(start, dates, n_rows, len(labels))
    ground_truth_file = out_dir / "ground_truth.json"
    ground_truth_file.write_text(
        json.dumps(ground_truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return DemoDataset(
        root=out_dir,
        log_files=log_files,
        dates=dates,
        ground_truth_file=ground_truth_file,
        labels_file=labels_file,
        n_prompts=n_rows,
    )


def generate_prompt_records(n: int, run_date: date, seed: int = 0) -> list[dict]:
    """n clean, valid records all timestamped on run_date (for benchmarks).

    No bad rows, duplicates or trend events; prompt ids are unique. Texts have the same mix
    as the demo month, including its ~3% of fake PII, so redaction is exercised too.
    """
    if n < 0:
        raise ValueError("n must not be negative")
    generator = _Generator(seed, 600, _EventPlan.none())
    return generator.sample_records(n, run_date)


@lru_cache(maxsize=1)
def load_phrase_bank() -> PhraseBank:
    """Load and check the phrase bank shipped in ``insight_core/demo/resources``.

    Raises ``ValueError`` if a template names an unknown slot or department, or a category
    of the taxonomy has no templates, so a broken bank fails loudly rather than at random.
    """
    phrases = _read_resource("phrases.yaml")
    slot_file = _read_resource("slots.yaml")
    extras = _read_resource("events.yaml")

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


# ---- phrase bank -------------------------------------------------------------------------


def _read_resource(name: str) -> dict[str, Any]:
    text = resources.files("insight_core.demo").joinpath("resources", name).read_text("utf-8")
    return yaml.safe_load(text)


def _slot_base(name: str) -> str:
    # {city2} draws a second, independent value from the "city" list.
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
        for name in _PLACEHOLDER.findall(text):
            if name not in known_slots and _slot_base(name) not in known_slots:
                raise ValueError(f"phrase bank text names unknown slot {{{name}}}: {text!r}")
    for event in (VPN_EVENT, BURNOUT_EVENT, SQL_EVENT):
        if not bank.events.get(event):
            raise ValueError(f"phrase bank has no phrases for event {event}")
    for category in CATEGORIES:
        if not bank.pii.get(category):
            raise ValueError(f"phrase bank has no PII templates for {category}")


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


# ---- text ----------------------------------------------------------------------------------


class _PromptWriter:
    """Turns a category (and department) into a varied prompt text."""

    def __init__(self, bank: PhraseBank, rnd: random.Random) -> None:
        self.bank = bank
        self.rnd = rnd
        self._pools: dict[tuple[str, str], tuple[list[str], list[float]]] = {}
        self._pii_makers: dict[str, Callable[[], str]] = {
            "email": self._fake_email,
            "phone": self._fake_phone,
            "card": lambda: self.rnd.choice(_EXAMPLE_CARDS),
            "iban": lambda: self.rnd.choice(_EXAMPLE_IBANS),
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
                base = _slot_base(name) if name not in self.bank.slots else name
                value = self.rnd.choice(self.bank.slots[base])
                if base not in self.bank.raw_slots and depth < 2 and "{" in value:
                    value = self.render(value, depth + 1)
                chosen[name] = value
            return chosen[name]

        return _PLACEHOLDER.sub(fill, template)

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
        return _PLACEHOLDER.sub(fill, text), found

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


# ---- company and events ------------------------------------------------------------------


@dataclass(frozen=True)
class _Company:
    user_ids: list[str]
    dept_index: np.ndarray  # department (index into DEPARTMENTS) of each user
    propensity: np.ndarray  # chance to be active on an average weekday / 0.96
    primary_tool: list[str]
    members: dict[str, list[int]]

    @property
    def sizes(self) -> dict[str, int]:
        return {name: len(self.members[name]) for name in DEPARTMENT_NAMES}


def _department_sizes(n_users: int) -> list[int]:
    # Largest remainder, at least one user each, so sizes always add up to n_users.
    shares = np.array([d.share for d in DEPARTMENTS])
    spare = n_users - len(DEPARTMENTS)
    exact = shares / shares.sum() * spare
    sizes = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - sizes), kind="stable")[: spare - int(sizes.sum())]:
        sizes[i] += 1
    return [int(s) + 1 for s in sizes]


def _build_company(n_users: int, rng: np.random.Generator) -> _Company:
    id_space = max(99_999, n_users * 3)
    numbers = np.sort(rng.choice(id_space, size=n_users, replace=False) + 1)
    user_ids = [f"u-{int(n):05d}" for n in numbers]
    dept_index = np.repeat(np.arange(len(DEPARTMENTS)), _department_sizes(n_users))
    dept_index = dept_index[rng.permutation(n_users)]
    propensity = rng.beta(2.2, 2.2, size=n_users)
    tool_p = np.array([d.tools for d in DEPARTMENTS])
    tool_p /= tool_p.sum(axis=1, keepdims=True)
    primary_tool = [TOOLS[int(rng.choice(len(TOOLS), p=tool_p[d]))] for d in dept_index]
    members = {
        name: [int(u) for u in np.flatnonzero(dept_index == i)]
        for i, name in enumerate(DEPARTMENT_NAMES)
    }
    return _Company(user_ids, dept_index, propensity, primary_tool, members)


@dataclass(frozen=True)
class _EventPlan:
    """Day offsets (from ``start``) of the planted events; None where an event is left out."""

    vpn_offset: int | None
    burnout_start: int | None
    burnout_peak: int | None
    sql_start: int | None

    @classmethod
    def none(cls) -> _EventPlan:
        return cls(None, None, None, None)

    def burnout_multiplier(self, offset: int) -> float:
        if self.burnout_start is None or self.burnout_peak is None:
            return 1.0
        if offset <= self.burnout_start:
            return 1.0
        if offset >= self.burnout_peak:
            return BURNOUT_MULTIPLIER
        progress = (offset - self.burnout_start) / (self.burnout_peak - self.burnout_start)
        return 1.0 + (BURNOUT_MULTIPLIER - 1.0) * progress

    def sql_multiplier(self, offset: int) -> float:
        if self.sql_start is not None and offset >= self.sql_start:
            return SQL_MULTIPLIER
        return 1.0


def _plan_events(start: date, days: int) -> _EventPlan:
    def scaled(day_of_30: int) -> int:
        # Positions are laid out for a 30-day month; shorter runs squeeze them in proportion,
        # longer ones keep them (the burnout then simply stays elevated for longer).
        return min(days - 1, round(day_of_30 * min(days, 30) / 30))

    def weekday_from(offset: int) -> int | None:
        for candidate in range(offset, days):
            if (start + timedelta(days=candidate)).weekday() < 5:
                return candidate
        return None

    if days < 3:
        return _EventPlan.none()
    burnout_start, burnout_peak = scaled(14), scaled(27)
    if burnout_peak <= burnout_start:
        return _EventPlan(weekday_from(scaled(9)), None, None, weekday_from(scaled(12)))
    return _EventPlan(
        weekday_from(scaled(9)), burnout_start, burnout_peak, weekday_from(scaled(12))
    )


# ---- generation --------------------------------------------------------------------------


@dataclass
class _Prompt:
    record: dict[str, Any]
    category: str
    pii: list[tuple[str, str]] = field(default_factory=list)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


class _Generator:
    """All random state of one demo run; days must be generated in order."""

    def __init__(self, seed: int, n_users: int, plan: _EventPlan) -> None:
        self.rng = np.random.default_rng(seed)
        self.rnd = random.Random(seed)
        self.bank = load_phrase_bank()
        self.company = _build_company(n_users, self.rng)
        self.writer = _PromptWriter(self.bank, self.rnd)
        self.plan = plan
        self.base_mix = np.array([d.mix for d in DEPARTMENTS], dtype=float)
        self.base_mix /= self.base_mix.sum(axis=1, keepdims=True)
        self.invalid_rows: list[dict[str, str]] = []
        self.duplicate_rows: list[dict[str, str]] = []
        self.pii_rows: list[dict[str, str]] = []
        self.pii_strings: list[str] = []
        self.event_counts: dict[str, int] = {VPN_EVENT: 0, BURNOUT_EVENT: 0, SQL_EVENT: 0}
        self.rows_per_day: dict[str, int] = {}
        self._loaded: list[dict[str, Any]] = []  # valid originals of earlier days
        self._reasons: list[str] = []

    # -- one day of the month --------------------------------------------------------------

    def day(self, offset: int, day: date) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
        """Records of one day's file (in file order) and the labels of its valid prompts."""
        rng = self.rng
        weekday = day.weekday()
        n_users = len(self.company.user_ids)
        if weekday < 5:
            active_p = self.company.propensity * WEEKDAY_ACTIVE_RATE * WEEKDAY_FACTOR[weekday]
            extra = WEEKDAY_EXTRA_PROMPTS
        else:
            rate = rng.uniform(*WEEKEND_ACTIVE_RANGE)
            active_p = self.company.propensity * rate / 0.5
            extra = WEEKEND_EXTRA_PROMPTS
        active = rng.random(n_users) < np.minimum(active_p, 0.95)
        counts = np.where(active, 1 + rng.poisson(extra, n_users), 0)
        users = np.repeat(np.arange(n_users), counts)
        prompts = self._prompts(users, day, offset)
        if offset == self.plan.vpn_offset:
            prompts += self._vpn_extras(users, day)
        prompts.sort(key=lambda p: p.record["timestamp"])

        rows: list[dict[str, Any]] = [p.record for p in prompts]
        categories = {id(p.record): p.category for p in prompts}
        bad = self._bad_rows(len(prompts), day)
        for prompt in bad:
            rows.insert(self.rnd.randint(0, len(rows)), prompt.record)
        bad_ids = {id(p.record) for p in bad}
        for i, record in enumerate(rows, start=1):
            record["prompt_id"] = f"demo-{day:%Y%m%d}-{i:06d}"
            if id(record) in bad_ids:
                self.invalid_rows.append(
                    {"prompt_id": record["prompt_id"], "reason": record.pop("_reason")}
                )
        for prompt in (*prompts, *bad):
            for kind, value in prompt.pii:
                self.pii_rows.append(
                    {"prompt_id": prompt.record["prompt_id"], "kind": kind, "value": value}
                )
                if value not in self.pii_strings:
                    self.pii_strings.append(value)

        valid = [p.record for p in prompts]
        labels = [(r["prompt_id"], categories[id(r)]) for r in rows if id(r) in categories]
        self._add_duplicates(rows, valid, day)
        self._loaded.extend(valid)
        self.rows_per_day[day.isoformat()] = len(rows)
        return [{key: r[key] for key in RECORD_KEYS} for r in rows], labels

    def _category_probs(self, offset: int | None) -> np.ndarray:
        probs = self.base_mix.copy()
        if offset is None:
            return probs
        for dept, category, multiplier in (
            (BURNOUT_DEPARTMENT, "wellbeing", self.plan.burnout_multiplier(offset)),
            (SQL_DEPARTMENT, "learning_development", self.plan.sql_multiplier(offset)),
        ):
            if multiplier == 1.0:
                continue
            row, col = DEPARTMENT_NAMES.index(dept), CATEGORIES.index(category)
            # Raise the category's share by `multiplier`, shrinking the others proportionally.
            old = probs[row, col]
            new = min(0.6, old * multiplier)
            probs[row] *= (1.0 - new) / (1.0 - old)
            probs[row, col] = new
        return probs

    def _prompts(self, users: np.ndarray, day: date, offset: int | None) -> list[_Prompt]:
        rng = self.rng
        if len(users) == 0:
            return []
        depts = self.company.dept_index[users]
        cumulative = np.cumsum(self._category_probs(offset), axis=1)
        draws = rng.random(len(users))
        cats = np.minimum((draws[:, None] > cumulative[depts]).sum(axis=1), len(CATEGORIES) - 1)
        stamps = self._timestamps(day, len(users))
        burnout_m = self.plan.burnout_multiplier(offset) if offset is not None else 1.0
        sql_m = self.plan.sql_multiplier(offset) if offset is not None else 1.0
        prompts = []
        for user, dept, cat, stamp in zip(users, depts, cats, stamps, strict=True):
            department = DEPARTMENT_NAMES[dept]
            category = CATEGORIES[cat]
            event = None
            # The share added by an event is written in the event's own language.
            if category == "wellbeing" and department == BURNOUT_DEPARTMENT:
                event = self._event_or_none(BURNOUT_EVENT, burnout_m)
            elif category == "learning_development" and department == SQL_DEPARTMENT:
                event = self._event_or_none(SQL_EVENT, sql_m)
            prompts.append(self._prompt(int(user), category, stamp, event))
        return prompts

    def _event_or_none(self, event: str, multiplier: float) -> str | None:
        # With the share raised `multiplier` times, (m - 1) / m of the prompts are the event's.
        if multiplier > 1.0 and self.rnd.random() < (multiplier - 1.0) / multiplier:
            return event
        return None

    def _prompt(self, user: int, category: str, stamp: str, event: str | None) -> _Prompt:
        department = DEPARTMENT_NAMES[self.company.dept_index[user]]
        text, pii = self.writer.write(category, department, event)
        if event is not None:
            self.event_counts[event] += 1
        tool = self.company.primary_tool[user]
        if self.rnd.random() > PRIMARY_TOOL_SHARE:
            tool = self.rnd.choice(TOOLS)
        record = {
            "prompt_id": "",
            "timestamp": stamp,
            "user_id": self.company.user_ids[user],
            "department": department,
            "text": text,
            "tool": tool,
        }
        return _Prompt(record, category, pii)

    def _timestamps(
        self, day: date, k: int, window: tuple[float, float] | None = None
    ) -> list[str]:
        rng = self.rng
        midnight = datetime.combine(day, time(0), tzinfo=UTC)
        if window is not None:
            seconds = rng.uniform(window[0] * 3600, window[1] * 3600, size=k).astype(int)
        else:
            weights = np.array(WEEKDAY_HOURS if day.weekday() < 5 else WEEKEND_HOURS)
            hours = rng.choice(24, size=k, p=weights / weights.sum())
            seconds = hours * 3600 + rng.integers(0, 3600, size=k)
        return [_iso(midnight + timedelta(seconds=int(s))) for s in seconds]

    def _vpn_extras(self, users: np.ndarray, day: date) -> list[_Prompt]:
        """Extra VPN prompts so each department's it_support volume is about tripled."""
        it_col = CATEGORIES.index("it_support")
        depts = self.company.dept_index[users]
        extras: list[_Prompt] = []
        for i, name in enumerate(DEPARTMENT_NAMES):
            expected = (VPN_MULTIPLIER - 1.0) * int((depts == i).sum()) * self.base_mix[i, it_col]
            n_extra = int(self.rng.poisson(expected))
            stamps = self._timestamps(day, n_extra, VPN_WINDOW_HOURS)
            for stamp in stamps:
                user = self.rnd.choice(self.company.members[name])
                extras.append(self._prompt(user, "it_support", stamp, VPN_EVENT))
        return extras

    # -- planted data-quality problems -----------------------------------------------------

    def _next_reason(self) -> str:
        # Cycle through every reason in shuffled rounds so even a short run has each kind.
        if not self._reasons:
            self._reasons = list(BAD_ROW_REASONS)
            self.rnd.shuffle(self._reasons)
        return self._reasons.pop()

    def _bad_rows(self, n_valid: int, day: date) -> list[_Prompt]:
        n_bad = int(self.rng.binomial(n_valid, BAD_ROW_RATE))
        if n_valid >= 100:
            n_bad = max(n_bad, 1)
        rows = []
        for _ in range(n_bad):
            user = self.rnd.randrange(len(self.company.user_ids))
            category = CATEGORIES[self.rnd.randrange(len(CATEGORIES))]
            prompt = self._prompt(user, category, self._timestamps(day, 1)[0], None)
            reason = self._next_reason()
            self._corrupt(prompt.record, reason, day)
            prompt.record["_reason"] = reason
            # PII that survives the corruption still has to be kept out of the quarantine.
            prompt.pii = [(k, v) for k, v in prompt.pii if v in prompt.record["text"]]
            rows.append(prompt)
        return rows

    def _corrupt(self, record: dict[str, Any], reason: str, day: date) -> None:
        rnd = self.rnd
        material = self.bank.bad_rows
        if reason == "empty_text":
            record["text"] = ""
        elif reason == "whitespace_text":
            record["text"] = rnd.choice(("   ", "\n", " \t ", "\n\n  ", "\t"))
        elif reason == "missing_user_id":
            record["user_id"] = None
        elif reason == "unparseable_timestamp":
            record["timestamp"] = rnd.choice(material["unparseable_timestamps"])
        elif reason == "timestamp_outside_window":
            shift = rnd.choice((-3, -2, -1, -1, 1))
            other_day = datetime.combine(day + timedelta(days=shift), time(0), tzinfo=UTC)
            record["timestamp"] = _iso(other_day + timedelta(seconds=rnd.randrange(86_400)))
        elif reason == "invalid_department":
            if rnd.random() < 0.5:
                record["department"] = rnd.choice(material["invalid_departments"])
            else:
                filler = "Customer Support and Operations Excellence Programme "
                record["department"] = (filler * 5)[:200]
        elif reason == "text_too_long":
            lines = [rnd.choice(material["long_text_intro"])]
            target = rnd.randint(MAX_TEXT_CHARS + 200, MAX_TEXT_CHARS + 4000)
            length = len(lines[0])
            while length <= target:
                line = self.writer.render(rnd.choice(material["long_text_lines"]))
                lines.append(line)
                length += len(line) + 1
            record["text"] = "\n".join(lines)
        else:  # pragma: no cover - BAD_ROW_REASONS is closed
            raise ValueError(reason)

    def _add_duplicates(
        self, rows: list[dict[str, Any]], valid: list[dict[str, Any]], day: date
    ) -> None:
        rnd = self.rnd
        n_within = 0 if len(valid) < 5 else (1 if len(valid) < 100 else rnd.randint(1, 3))
        for original in rnd.sample(valid, k=n_within):
            position = rows.index(original)
            rows.insert(rnd.randint(position + 1, len(rows)), dict(original))
            self.duplicate_rows.append({"prompt_id": original["prompt_id"], "kind": "within_batch"})
        if not self._loaded or len(valid) < 5:
            return
        n_loaded = 1 if len(valid) < 100 else rnd.randint(1, 2)
        for original in rnd.sample(self._loaded, k=min(n_loaded, len(self._loaded))):
            # A re-delivered row: same id and content, stamped inside today's window so that
            # only the already-loaded check can catch it.
            copy = dict(original)
            copy["timestamp"] = self._timestamps(day, 1)[0]
            rows.insert(rnd.randint(0, len(rows)), copy)
            self.duplicate_rows.append(
                {"prompt_id": original["prompt_id"], "kind": "already_loaded"}
            )

    # -- benchmarks ------------------------------------------------------------------------

    def sample_records(self, n: int, run_date: date) -> list[dict[str, Any]]:
        weights = self.company.propensity / self.company.propensity.sum()
        users = np.sort(self.rng.choice(len(self.company.user_ids), size=n, p=weights))
        prompts = self._prompts(users, run_date, None)
        prompts.sort(key=lambda p: p.record["timestamp"])
        width = max(6, len(str(n)))
        records = []
        for i, prompt in enumerate(prompts, start=1):
            prompt.record["prompt_id"] = f"demo-{run_date:%Y%m%d}-{i:0{width}d}"
            records.append(prompt.record)
        return records

    # -- ground truth ----------------------------------------------------------------------

    def ground_truth(
        self, start: date, dates: Sequence[date], n_rows: int, n_labelled: int
    ) -> dict[str, Any]:
        end = dates[-1]
        events: list[dict[str, Any]] = []
        plan = self.plan
        if plan.vpn_offset is not None:
            vpn_day = (start + timedelta(days=plan.vpn_offset)).isoformat()
            events.append(
                {
                    "id": VPN_EVENT,
                    "kind": "spike",
                    "category": "it_support",
                    "department": None,
                    "start": vpn_day,
                    "end": vpn_day,
                    "multiplier": VPN_MULTIPLIER,
                    "window_utc": "07:30-12:30",
                    "prompts": self.event_counts[VPN_EVENT],
                    "description": "Company-wide VPN outage (GlobalProtect/AnyConnect): extra "
                    "VPN questions triple the it_support volume in every department for the "
                    "day, concentrated in the morning.",
                }
            )
        if plan.burnout_start is not None and plan.burnout_peak is not None:
            events.append(
                {
                    "id": BURNOUT_EVENT,
                    "kind": "rising",
                    "category": "wellbeing",
                    "department": BURNOUT_DEPARTMENT,
                    "start": (start + timedelta(days=plan.burnout_start)).isoformat(),
                    "end": end.isoformat(),
                    "peak_date": (start + timedelta(days=plan.burnout_peak)).isoformat(),
                    "multiplier": BURNOUT_MULTIPLIER,
                    "prompts": self.event_counts[BURNOUT_EVENT],
                    "description": "Burnout rising in Customer Support: the wellbeing share "
                    "climbs linearly from its base rate on the start date to 5x on peak_date "
                    "and stays there; the extra prompts talk about overtime, exhaustion, "
                    "panic and stress.",
                }
            )
        if plan.sql_start is not None:
            events.append(
                {
                    "id": SQL_EVENT,
                    "kind": "step",
                    "category": "learning_development",
                    "department": SQL_DEPARTMENT,
                    "start": (start + timedelta(days=plan.sql_start)).isoformat(),
                    "end": end.isoformat(),
                    "multiplier": SQL_MULTIPLIER,
                    "prompts": self.event_counts[SQL_EVENT],
                    "description": "Skill gap in Finance: from the start date on, Finance's "
                    "learning_development share triples with questions about learning SQL and "
                    "data skills.",
                }
            )
        return {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "days": len(dates),
            "n_users": len(self.company.user_ids),
            "departments": self.company.sizes,
            "category_mix": {
                d.name: dict(zip(CATEGORIES, (round(float(p), 4) for p in row), strict=True))
                for d, row in zip(DEPARTMENTS, self.base_mix, strict=True)
            },
            "events": events,
            "n_prompts": n_rows,
            "n_valid_unique": n_labelled,
            "rows_per_day": self.rows_per_day,
            "invalid_rows": self.invalid_rows,
            "duplicate_rows": self.duplicate_rows,
            "pii_strings": self.pii_strings,
            "pii_rows": self.pii_rows,
        }
