"""The demo company's users and the days its trend events are planted on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from insight_core.demo.scenario import (
    BURNOUT_MULTIPLIER,
    DEPARTMENT_NAMES,
    DEPARTMENTS,
    SQL_MULTIPLIER,
    TOOLS,
)


@dataclass(frozen=True)
class Company:
    """The users of the demo company: ids, departments, activity and main tools."""

    user_ids: list[str]
    dept_index: np.ndarray  # department (index into DEPARTMENTS) of each user
    propensity: np.ndarray  # chance to be active on an average weekday / 0.96
    primary_tool: list[str]
    members: dict[str, list[int]]

    @property
    def sizes(self) -> dict[str, int]:
        """Users per department."""
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


def build_company(n_users: int, rng: np.random.Generator) -> Company:
    """``n_users`` users spread over the departments by their shares (at least one each)."""
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
    return Company(user_ids, dept_index, propensity, primary_tool, members)


@dataclass(frozen=True)
class EventPlan:
    """Day offsets (from ``start``) of the planted events; None where an event is left out."""

    vpn_offset: int | None
    burnout_start: int | None
    burnout_peak: int | None
    sql_start: int | None

    @classmethod
    def none(cls) -> EventPlan:
        """A month without events."""
        return cls(None, None, None, None)

    def burnout_multiplier(self, offset: int) -> float:
        """Factor on the burnout department's wellbeing share on day ``offset``."""
        if self.burnout_start is None or self.burnout_peak is None:
            return 1.0
        if offset <= self.burnout_start:
            return 1.0
        if offset >= self.burnout_peak:
            return BURNOUT_MULTIPLIER
        progress = (offset - self.burnout_start) / (self.burnout_peak - self.burnout_start)
        return 1.0 + (BURNOUT_MULTIPLIER - 1.0) * progress

    def sql_multiplier(self, offset: int) -> float:
        """Factor on the SQL department's learning_development share on day ``offset``."""
        if self.sql_start is not None and offset >= self.sql_start:
            return SQL_MULTIPLIER
        return 1.0


def plan_events(start: date, days: int) -> EventPlan:
    """The event days of a run of ``days`` days from ``start`` (see ``generate_demo_logs``)."""

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
        return EventPlan.none()
    burnout_start, burnout_peak = scaled(14), scaled(27)
    if burnout_peak <= burnout_start:
        return EventPlan(weekday_from(scaled(9)), None, None, weekday_from(scaled(12)))
    return EventPlan(weekday_from(scaled(9)), burnout_start, burnout_peak, weekday_from(scaled(12)))
