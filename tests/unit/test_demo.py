"""Tests of the demo data generator (insight_core/demo/)."""

from __future__ import annotations

import csv
import json
import random
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from insight_core.demo.generator import (
    CATEGORIES,
    DEPARTMENT_NAMES,
    TOOLS,
    DemoDataset,
    add_typos,
    generate_demo_logs,
    generate_prompt_records,
    load_phrase_bank,
)

START = date(2026, 3, 2)  # a Monday, so weeks line up with calendar weeks
DAYS = 28
N_USERS = 400
ID_PATTERN = re.compile(r"^demo-\d{8}-\d{6}$")
DEPARTMENT_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9&/ .'-]{0,63}$")
MAX_TEXT_CHARS = 8000


class Month:
    """A generated month read back: every row with its file date, plus labels and truth."""

    def __init__(self, dataset: DemoDataset) -> None:
        self.dataset = dataset
        self.truth: dict[str, Any] = json.loads(dataset.ground_truth_file.read_text("utf-8"))
        self.rows: list[dict[str, Any]] = []
        for path, day in zip(dataset.log_files, dataset.dates, strict=True):
            for line in path.read_text("utf-8").splitlines():
                self.rows.append({**json.loads(line), "_day": day})
        with dataset.labels_file.open(encoding="utf-8", newline="") as handle:
            self.labels = {row["prompt_id"]: row["category"] for row in csv.DictReader(handle)}
        self.invalid = {r["prompt_id"]: r["reason"] for r in self.truth["invalid_rows"]}
        seen: set[str] = set()
        self.valid: list[dict[str, Any]] = []
        for row in self.rows:
            if row["prompt_id"] in self.invalid or row["prompt_id"] in seen:
                continue
            seen.add(row["prompt_id"])
            self.valid.append({**row, "category": self.labels[row["prompt_id"]]})

    def event(self, event_id: str) -> dict[str, Any]:
        return next(e for e in self.truth["events"] if e["id"] == event_id)

    def count(self, **conditions: Any) -> Counter[date]:
        """Valid prompts per day that match every column == value condition."""
        return Counter(
            row["_day"]
            for row in self.valid
            if all(row[key] == value for key, value in conditions.items())
        )


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Month:
    out_dir = tmp_path_factory.mktemp("demo")
    return Month(generate_demo_logs(out_dir, START, days=DAYS, seed=11, n_users=N_USERS))


def _weekdays(days: list[date]) -> list[date]:
    return [d for d in days if d.weekday() < 5]


@pytest.mark.unit
def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    first = generate_demo_logs(tmp_path / "a", START, days=10, seed=3, n_users=120)
    second = generate_demo_logs(tmp_path / "b", START, days=10, seed=3, n_users=120)
    other = generate_demo_logs(tmp_path / "c", START, days=10, seed=4, n_users=120)
    files = [p.relative_to(first.root) for p in first.root.rglob("*") if p.is_file()]
    assert len(files) == 12
    for relative in files:
        assert (first.root / relative).read_bytes() == (second.root / relative).read_bytes()
    assert first.n_prompts == second.n_prompts
    assert first.log_files[0].read_bytes() != other.log_files[0].read_bytes()


@pytest.mark.unit
def test_dataset_layout(month: Month) -> None:
    dataset = month.dataset
    assert dataset.dates == [START + timedelta(days=i) for i in range(DAYS)]
    assert [p.name for p in dataset.log_files] == [f"{d.isoformat()}.jsonl" for d in dataset.dates]
    assert all(p.parent == dataset.root / "logs" for p in dataset.log_files)
    assert dataset.ground_truth_file == dataset.root / "ground_truth.json"
    assert dataset.labels_file.read_text("utf-8").splitlines()[0] == "prompt_id,category"
    assert dataset.n_prompts == len(month.rows) == month.truth["n_prompts"]
    truth = month.truth
    assert truth["start"] == START.isoformat()
    assert truth["end"] == (START + timedelta(days=DAYS - 1)).isoformat()
    assert truth["n_users"] == N_USERS
    assert set(truth["departments"]) == set(DEPARTMENT_NAMES)
    assert sum(truth["departments"].values()) == N_USERS
    for event in truth["events"]:
        assert {
            "id",
            "kind",
            "category",
            "department",
            "start",
            "end",
            "multiplier",
            "description",
        } <= set(event)
        assert event["category"] in CATEGORIES


@pytest.mark.unit
def test_valid_records_follow_the_contract(month: Month) -> None:
    users_by_id: dict[str, str] = {}
    for row in month.valid:
        assert set(row) - {"_day", "category"} == {
            "prompt_id",
            "timestamp",
            "user_id",
            "department",
            "text",
            "tool",
        }
        assert ID_PATTERN.match(row["prompt_id"])
        stamp = datetime.fromisoformat(row["timestamp"])
        assert row["timestamp"].endswith("+00:00")
        assert stamp.utcoffset() == timedelta(0)
        assert stamp.astimezone(UTC).date() == row["_day"]
        assert re.fullmatch(r"u-\d{5}", row["user_id"])
        assert row["department"] in DEPARTMENT_NAMES
        assert DEPARTMENT_PATTERN.match(row["department"])
        assert row["tool"] in TOOLS
        assert row["text"].strip()
        assert len(row["text"]) <= MAX_TEXT_CHARS
        # A user belongs to exactly one department all month.
        assert users_by_id.setdefault(row["user_id"], row["department"]) == row["department"]


@pytest.mark.unit
def test_labels_cover_exactly_the_valid_unique_prompts(month: Month) -> None:
    assert set(month.labels) == {row["prompt_id"] for row in month.valid}
    assert set(month.labels.values()) == set(CATEGORIES)
    assert not set(month.labels) & set(month.invalid)
    assert month.truth["n_valid_unique"] == len(month.labels)


@pytest.mark.unit
def test_weekdays_are_busy_weekends_quiet_and_office_hours_dominate(month: Month) -> None:
    per_day = month.count()
    weekday = [per_day[d] for d in month.dataset.dates if d.weekday() < 5]
    weekend = [per_day[d] for d in month.dataset.dates if d.weekday() >= 5]
    assert sum(weekday) / len(weekday) > 5 * sum(weekend) / len(weekend)
    # About half the users are active on a weekday, with 1-3 prompts each.
    assert 0.6 * N_USERS < sum(weekday) / len(weekday) < 1.2 * N_USERS
    hours = Counter(
        datetime.fromisoformat(r["timestamp"]).hour for r in month.valid if r["_day"].weekday() < 5
    )
    office = sum(hours[h] for h in range(7, 18))
    assert office > 0.8 * sum(hours.values())
    assert hours[12] + hours[13] < hours[10] + hours[11]  # lunch dip


@pytest.mark.unit
def test_departments_have_their_own_category_mix(month: Month) -> None:
    mix: dict[str, Counter[str]] = defaultdict(Counter)
    for row in month.valid:
        mix[row["department"]][row["category"]] += 1
    assert mix["Engineering"].most_common(1)[0][0] == "coding"
    assert mix["Legal"].most_common(1)[0][0] == "legal_compliance"
    assert mix["Human Resources"].most_common(1)[0][0] == "hr_employment"
    assert mix["Finance"].most_common(1)[0][0] == "finance"
    assert mix["Marketing"]["creative_writing"] > 3 * mix["Engineering"]["creative_writing"] / 2
    truth_mix = month.truth["category_mix"]
    for department in DEPARTMENT_NAMES:
        assert all(truth_mix[department][c] > 0 for c in CATEGORIES)
        assert 0.015 <= truth_mix[department]["wellbeing"] <= 0.035


@pytest.mark.unit
def test_vpn_outage_triples_it_support_on_one_weekday(month: Month) -> None:
    event = month.event("vpn_outage")
    assert (event["kind"], event["department"], event["multiplier"]) == ("spike", None, 3.0)
    assert event["start"] == event["end"]
    vpn_day = date.fromisoformat(event["start"])
    offset = (vpn_day - START).days
    assert vpn_day.weekday() < 5 and 7 <= offset <= 13  # a weekday in the second week

    it_per_day = month.count(category="it_support")
    all_per_day = month.count()
    normal = [d for d in _weekdays(month.dataset.dates) if d != vpn_day]
    base_volume = sum(it_per_day[d] for d in normal) / len(normal)
    base_share = sum(it_per_day[d] for d in normal) / sum(all_per_day[d] for d in normal)
    assert 2.2 < it_per_day[vpn_day] / base_volume < 4.2
    assert it_per_day[vpn_day] / all_per_day[vpn_day] > 1.7 * base_share
    vpn_words = ("vpn", "globalprotect", "anyconnect", "forticlient", "remote access", "gateway")
    vpn_rows = [
        r
        for r in month.valid
        if r["_day"] == vpn_day and any(w in r["text"].lower() for w in vpn_words)
    ]
    assert len(vpn_rows) > base_volume
    # The whole company is hit, not one department (in a company this small a small
    # department may see no VPN prompt by chance).
    assert len({r["department"] for r in vpn_rows}) >= 6


@pytest.mark.unit
def test_burnout_rises_in_customer_support(month: Month) -> None:
    event = month.event("burnout_rising")
    assert (event["kind"], event["department"], event["category"]) == (
        "rising",
        "Customer Support",
        "wellbeing",
    )
    assert event["multiplier"] == 5.0

    def wellbeing_rate(days: list[date], department: str) -> float:
        wellbeing = month.count(category="wellbeing", department=department)
        total = month.count(department=department)
        return sum(wellbeing[d] for d in days) / sum(total[d] for d in days)

    # Two weeks of baseline: a single week holds too few wellbeing prompts to be a stable base.
    first_weeks, last_week = month.dataset.dates[:14], month.dataset.dates[-7:]
    support_first = wellbeing_rate(first_weeks, "Customer Support")
    support_last = wellbeing_rate(last_week, "Customer Support")
    assert support_first < 0.05
    assert support_last > 2 * support_first
    assert support_last > 0.08
    # The rest of the company stays at its base rate.
    others = [d for d in DEPARTMENT_NAMES if d != "Customer Support"]
    others_last = sum(wellbeing_rate(last_week, d) for d in others) / len(others)
    assert others_last < 0.05
    burnout_words = ("burn", "exhaust", "overtime", "panic", "stress")
    late_texts = [
        r["text"].lower()
        for r in month.valid
        if r["department"] == "Customer Support"
        and r["category"] == "wellbeing"
        and r["_day"] in last_week
    ]
    assert sum(any(w in t for w in burnout_words) for t in late_texts) > len(late_texts) / 2


@pytest.mark.unit
def test_finance_starts_learning_sql(month: Month) -> None:
    event = month.event("sql_learning_surge")
    assert (event["department"], event["category"]) == ("Finance", "learning_development")
    surge = date.fromisoformat(event["start"])
    before = [d for d in month.dataset.dates if d < surge]
    after = [d for d in month.dataset.dates if d >= surge]

    def sql_learning(days: list[date]) -> float:
        rows = [r for r in month.valid if r["department"] == "Finance" and r["_day"] in days]
        hits = [
            r
            for r in rows
            if r["category"] == "learning_development" and "sql" in r["text"].lower()
        ]
        return len(hits) / len(rows)

    assert sql_learning(after) > 4 * sql_learning(before)


@pytest.mark.unit
def test_invalid_rows_are_in_the_logs_as_described(month: Month) -> None:
    rows_by_id = defaultdict(list)
    for row in month.rows:
        rows_by_id[row["prompt_id"]].append(row)
    assert set(month.invalid.values()) == {
        "empty_text",
        "whitespace_text",
        "missing_user_id",
        "unparseable_timestamp",
        "timestamp_outside_window",
        "invalid_department",
        "text_too_long",
    }
    assert 0.002 < len(month.invalid) / len(month.rows) < 0.012
    for prompt_id, reason in month.invalid.items():
        (row,) = rows_by_id[prompt_id]
        if reason == "empty_text":
            assert row["text"] == ""
        elif reason == "whitespace_text":
            assert row["text"] and not row["text"].strip()
        elif reason == "missing_user_id":
            assert row["user_id"] is None
        elif reason == "unparseable_timestamp":
            with pytest.raises(ValueError):
                datetime.fromisoformat(row["timestamp"])
        elif reason == "timestamp_outside_window":
            assert datetime.fromisoformat(row["timestamp"]).astimezone(UTC).date() != row["_day"]
        elif reason == "invalid_department":
            assert not DEPARTMENT_PATTERN.match(row["department"])
        elif reason == "text_too_long":
            assert len(row["text"]) > MAX_TEXT_CHARS


@pytest.mark.unit
def test_duplicates_repeat_earlier_ids_and_are_otherwise_valid(month: Month) -> None:
    duplicates = month.truth["duplicate_rows"]
    kinds = Counter(d["kind"] for d in duplicates)
    assert kinds["within_batch"] >= DAYS / 2 and kinds["already_loaded"] >= DAYS / 2
    days_by_id: dict[str, list[date]] = defaultdict(list)
    copies: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in month.rows:
        days_by_id[row["prompt_id"]].append(row["_day"])
        copies[row["prompt_id"]].append(row)
    for duplicate in duplicates:
        prompt_id = duplicate["prompt_id"]
        assert prompt_id in month.labels  # the original is a valid, labelled prompt
        rows = copies[prompt_id]
        assert len(rows) >= 2
        for row in rows:  # every copy passes validation on its own
            assert row["text"].strip() and row["user_id"] and row["department"] in DEPARTMENT_NAMES
            assert datetime.fromisoformat(row["timestamp"]).astimezone(UTC).date() == row["_day"]
        days = days_by_id[prompt_id]
        if duplicate["kind"] == "within_batch":
            assert Counter(days).most_common(1)[0][1] >= 2
            same_day = [r for r in rows if days.count(r["_day"]) >= 2]
            assert same_day[0] == same_day[1]
        else:
            assert len(set(days)) >= 2
            assert all(r["text"] == rows[0]["text"] for r in rows)


@pytest.mark.unit
def test_pii_is_planted_and_recorded(month: Month) -> None:
    pii_strings = month.truth["pii_strings"]
    pii_rows = month.truth["pii_rows"]
    assert len(pii_strings) == len(set(pii_strings)) > 20
    texts = {row["prompt_id"]: row["text"] or "" for row in month.rows}
    for entry in pii_rows:
        assert entry["value"] in texts[entry["prompt_id"]]
        assert entry["value"] in pii_strings
    assert {entry["kind"] for entry in pii_rows} == {
        "email",
        "phone",
        "card",
        "iban",
        "ip",
        "url",
        "secret",
    }
    with_pii = {entry["prompt_id"] for entry in pii_rows} & set(month.labels)
    assert 0.015 < len(with_pii) / len(month.labels) < 0.05
    for value in pii_strings:
        if "@" in value:
            assert value.endswith(("@example.com", "@example.org"))
        if value.startswith("http"):
            assert ".example." in value and ("token=" in value or "key=" in value)


@pytest.mark.unit
def test_pii_strings_are_caught_by_the_redactor(month: Month) -> None:
    redact = pytest.importorskip("insight_core.prep.redact")
    texts = {row["prompt_id"]: row["text"] for row in month.rows}
    for entry in month.truth["pii_rows"]:
        assert entry["value"] not in redact.redact_text(texts[entry["prompt_id"]])


@pytest.mark.unit
def test_many_distinct_texts_per_category(month: Month) -> None:
    distinct: dict[str, set[str]] = defaultdict(set)
    for row in month.valid:
        distinct[row["category"]].add(row["text"])
    for category in CATEGORIES:
        assert len(distinct[category]) >= 50, category
    assert sum(len(texts) for texts in distinct.values()) > 0.6 * len(month.valid)


@pytest.mark.unit
def test_texts_vary_in_style(month: Month) -> None:
    texts = [row["text"] for row in month.valid]
    lengths = [len(t.split()) for t in texts]
    assert min(lengths) <= 3 and max(lengths) >= 40
    lowered = [t for t in texts if t == t.lower()]
    greeted = [t for t in texts if re.match(r"(?i)(hi|hey|hello|good morning|morning|hiya)\b", t)]
    thanked = [t for t in texts if re.search(r"(?i)(thanks|thank you|thx|ty!|cheers)", t)]
    role_play = [t for t in texts if re.search(r"(?i)\b(act as|you are|pretend you)", t)]
    pasted = [t for t in texts if "\n" in t]
    for group in (lowered, greeted, thanked, role_play, pasted):
        assert len(group) > 0.02 * len(texts)


@pytest.mark.unit
def test_phrase_bank_has_many_templates_per_category() -> None:
    bank = load_phrase_bank()
    taxonomy_file = Path(__file__).parents[2] / "insight_core" / "resources" / "taxonomy.yaml"
    taxonomy = yaml.safe_load(taxonomy_file.read_text("utf-8"))
    assert {c["name"] for c in taxonomy["categories"]} == set(CATEGORIES)
    for category in CATEGORIES:
        templates = {text for text, _ in bank.templates[category]}
        assert len(templates) >= 60, category
    assert len(bank.events["vpn_outage"]) >= 25
    assert len(bank.events["burnout_rising"]) >= 25
    assert len(bank.events["sql_learning_surge"]) >= 25


@pytest.mark.unit
def test_add_typos_changes_one_or_two_words() -> None:
    rng = random.Random(1)
    text = "Please summarise the quarterly report for the leadership meeting tomorrow"
    for _ in range(50):
        typoed = add_typos(text, rng)
        assert typoed != text
        changed = [a for a, b in zip(text.split(), typoed.split(), strict=True) if a != b]
        assert 1 <= len(changed) <= 2
    code = "fix this:\ndef total(items):\n    return sum(items)"
    assert add_typos(code, rng).split("\n", 1)[1] == code.split("\n", 1)[1]
    assert add_typos("email me at {pii_email}", random.Random(0)).endswith("{pii_email}")


@pytest.mark.unit
def test_generate_prompt_records_returns_clean_unique_records() -> None:
    run_date = date(2026, 5, 12)
    records = generate_prompt_records(1500, run_date, seed=5)
    assert len(records) == 1500
    assert len({r["prompt_id"] for r in records}) == 1500
    for record in records:
        assert list(record) == ["prompt_id", "timestamp", "user_id", "department", "text", "tool"]
        assert datetime.fromisoformat(record["timestamp"]).astimezone(UTC).date() == run_date
        assert record["user_id"] and record["department"] in DEPARTMENT_NAMES
        assert record["text"].strip() and len(record["text"]) <= MAX_TEXT_CHARS
        assert record["tool"] in TOOLS
    assert generate_prompt_records(1500, run_date, seed=5) == records
    assert generate_prompt_records(0, run_date) == []


@pytest.mark.unit
def test_default_month_volume(tmp_path: Path) -> None:
    dataset = generate_demo_logs(tmp_path, date(2026, 10, 1))
    assert 10_000 <= dataset.n_prompts <= 13_000
    truth = json.loads(dataset.ground_truth_file.read_text("utf-8"))
    assert truth["n_users"] == 600 and len(dataset.log_files) == 30
    offsets = {
        e["id"]: (date.fromisoformat(e["start"]) - date(2026, 10, 1)).days for e in truth["events"]
    }
    assert 7 <= offsets["vpn_outage"] <= 13
    assert offsets["burnout_rising"] == 14
    assert 10 <= offsets["sql_learning_surge"] <= 16
