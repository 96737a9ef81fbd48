"""The demo company as constants, read once from ``insight_core/demo/resources/company.yaml``.

Departments with their category mixes and tools, activity by hour and weekday, the chances of
each variation of a prompt's text and the parameters of the three planted trend events. The
names the generator branches on (record keys, PII kinds, bad-row reasons, event ids) stay in
code beside the branches.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

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

VPN_EVENT = "vpn_outage"
BURNOUT_EVENT = "burnout_rising"
SQL_EVENT = "sql_learning_surge"


def read_resource(name: str) -> dict[str, Any]:
    """A YAML file of ``insight_core/demo/resources`` as a mapping."""
    text = resources.files("insight_core.demo").joinpath("resources", name).read_text("utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


@dataclass(frozen=True)
class Department:
    """A department of the demo company."""

    name: str
    share: float
    # Category weights in CATEGORIES order (percent of the department's prompts).
    mix: tuple[float, ...]
    # Weights of TOOLS as a user's main assistant.
    tools: tuple[float, float, float]


def _floats(values: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def _pair(values: Any) -> tuple[float, float]:
    low, high = _floats(values)
    return low, high


def _department(entry: dict[str, Any], categories: tuple[str, ...]) -> Department:
    mix: dict[str, Any] = entry["mix"]
    if tuple(mix) != categories:
        raise ValueError(f"company.yaml: the mix of {entry['name']} must list {categories}")
    tools = _floats(entry["tools"])
    return Department(
        name=str(entry["name"]),
        share=float(entry["share"]),
        mix=_floats(mix.values()),
        tools=(tools[0], tools[1], tools[2]),
    )


_COMPANY = read_resource("company.yaml")
_ACTIVITY: dict[str, Any] = _COMPANY["activity"]
_STYLE: dict[str, Any] = _COMPANY["style"]
_EVENTS: dict[str, dict[str, Any]] = _COMPANY["events"]

CATEGORIES: tuple[str, ...] = tuple(str(c) for c in _COMPANY["categories"])
TOOLS: tuple[str, ...] = tuple(str(t) for t in _COMPANY["tools"])
DEPARTMENTS: tuple[Department, ...] = tuple(
    _department(entry, CATEGORIES) for entry in _COMPANY["departments"]
)
DEPARTMENT_NAMES: tuple[str, ...] = tuple(d.name for d in DEPARTMENTS)

WEEKDAY_HOURS = _floats(_ACTIVITY["weekday_hours"])
WEEKEND_HOURS = _floats(_ACTIVITY["weekend_hours"])
WEEKDAY_FACTOR = _floats(_ACTIVITY["weekday_factor"])
WEEKDAY_ACTIVE_RATE = float(_ACTIVITY["weekday_active_rate"])
WEEKDAY_EXTRA_PROMPTS = float(_ACTIVITY["weekday_extra_prompts"])
WEEKEND_ACTIVE_RANGE = _pair(_ACTIVITY["weekend_active_range"])
WEEKEND_EXTRA_PROMPTS = float(_ACTIVITY["weekend_extra_prompts"])
PRIMARY_TOOL_SHARE = float(_ACTIVITY["primary_tool_share"])

P_PII = float(_STYLE["pii"])
P_MULTI_INTENT = float(_STYLE["multi_intent"])
P_TYPO = float(_STYLE["typo"])
P_ROLE_FRAME = float(_STYLE["role_frame"])
P_LOWERCASE = float(_STYLE["lowercase"])
P_GREETING = float(_STYLE["greeting"])
P_SIGNOFF = float(_STYLE["signoff"])
BAD_ROW_RATE = float(_STYLE["bad_row_rate"])
DEPT_TEMPLATE_WEIGHT = float(_STYLE["dept_template_weight"])

VPN_MULTIPLIER = float(_EVENTS[VPN_EVENT]["multiplier"])
VPN_WINDOW_HOURS = _pair(_EVENTS[VPN_EVENT]["window_hours"])
VPN_WINDOW_UTC = str(_EVENTS[VPN_EVENT]["window_utc"])
BURNOUT_MULTIPLIER = float(_EVENTS[BURNOUT_EVENT]["multiplier"])
BURNOUT_DEPARTMENT = str(_EVENTS[BURNOUT_EVENT]["department"])
SQL_MULTIPLIER = float(_EVENTS[SQL_EVENT]["multiplier"])
SQL_DEPARTMENT = str(_EVENTS[SQL_EVENT]["department"])
EVENT_DESCRIPTIONS: dict[str, str] = {
    event: str(_EVENTS[event]["description"]) for event in (VPN_EVENT, BURNOUT_EVENT, SQL_EVENT)
}

EXAMPLE_CARDS: tuple[str, ...] = tuple(str(c) for c in _COMPANY["example_cards"])
EXAMPLE_IBANS: tuple[str, ...] = tuple(str(i) for i in _COMPANY["example_ibans"])
