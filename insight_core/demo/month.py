"""All random state of one demo run and the rows of its days, in file order.

Counts and times are drawn from a NumPy generator and wording from a ``random.Random``, both
seeded with the run's seed, so a seed always gives identical rows. Besides the valid prompts,
a day holds planted data-quality problems (bad rows, duplicates) that the ground truth lists.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np

from insight_core.demo.company import EventPlan, build_company
from insight_core.demo.phrase_bank import load_phrase_bank
from insight_core.demo.scenario import (
    BAD_ROW_RATE,
    BAD_ROW_REASONS,
    BURNOUT_DEPARTMENT,
    BURNOUT_EVENT,
    CATEGORIES,
    DEPARTMENT_NAMES,
    DEPARTMENTS,
    MAX_TEXT_CHARS,
    PRIMARY_TOOL_SHARE,
    RECORD_KEYS,
    SQL_DEPARTMENT,
    SQL_EVENT,
    TOOLS,
    VPN_EVENT,
    VPN_MULTIPLIER,
    VPN_WINDOW_HOURS,
    WEEKDAY_ACTIVE_RATE,
    WEEKDAY_EXTRA_PROMPTS,
    WEEKDAY_FACTOR,
    WEEKDAY_HOURS,
    WEEKEND_ACTIVE_RANGE,
    WEEKEND_EXTRA_PROMPTS,
    WEEKEND_HOURS,
)
from insight_core.demo.writer import PromptWriter


@dataclass
class Prompt:
    """A generated record with its true category and the fake PII it carries."""

    record: dict[str, Any]
    category: str
    pii: list[tuple[str, str]] = field(default_factory=list)


def iso_seconds(moment: datetime) -> str:
    """``moment`` as ISO 8601 to the second, as the demo logs write timestamps."""
    return moment.isoformat(timespec="seconds")


class MonthGenerator:
    """All random state of one demo run; days must be generated in order."""

    def __init__(self, seed: int, n_users: int, plan: EventPlan) -> None:
        self.rng = np.random.default_rng(seed)
        self.rnd = random.Random(seed)
        self.bank = load_phrase_bank()
        self.company = build_company(n_users, self.rng)
        self.writer = PromptWriter(self.bank, self.rnd)
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

    def _prompts(self, users: np.ndarray, day: date, offset: int | None) -> list[Prompt]:
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

    def _prompt(self, user: int, category: str, stamp: str, event: str | None) -> Prompt:
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
        return Prompt(record, category, pii)

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
        return [iso_seconds(midnight + timedelta(seconds=int(s))) for s in seconds]

    def _vpn_extras(self, users: np.ndarray, day: date) -> list[Prompt]:
        """Extra VPN prompts so each department's it_support volume is about tripled."""
        it_col = CATEGORIES.index("it_support")
        depts = self.company.dept_index[users]
        extras: list[Prompt] = []
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

    def _bad_rows(self, n_valid: int, day: date) -> list[Prompt]:
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
            record["timestamp"] = iso_seconds(other_day + timedelta(seconds=rnd.randrange(86_400)))
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
        """``n`` valid records of ``run_date`` without events, bad rows or duplicates."""
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
