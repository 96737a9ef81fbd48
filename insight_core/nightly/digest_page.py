"""The weekly digest as one self-contained HTML page: inline CSS and SVG charts, no script,
no network."""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from insight_core.nightly.digest_data import (
    HISTORY_WEEKS,
    Digest,
    Section,
    alert_line,
    percent,
    points,
    usual_share,
)

_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:60rem;
color:#1f2933;padding:0 1rem}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;
border-bottom:1px solid #d9dee3;padding-bottom:.25rem}table{border-collapse:collapse;width:100%;
margin:.5rem 0}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eef0f2;
font-size:.9rem;vertical-align:middle}td.n{text-align:right;font-variant-numeric:tabular-nums}
.up{color:#b42318}.down{color:#1d6fb8}.muted{color:#667085;font-size:.85rem}
.withdrawn{color:#667085}svg text{font-size:11px;fill:#1f2933}
"""

_BAR_WIDTH = 360
_LABEL_WIDTH = 150
_ROW_HEIGHT = 22


def _bars_svg(movers: Sequence[Mapping[str, Any]]) -> str:
    """Horizontal bars of each mover's share this week, a dark tick at its usual share."""
    top = max(
        [float(m["share"]) for m in movers] + [usual_share(m) or 0.0 for m in movers] + [0.01]
    )
    scale = _BAR_WIDTH / top
    height = _ROW_HEIGHT * len(movers) + 8
    width = _LABEL_WIDTH + _BAR_WIDTH + 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="share this week against the usual share">'
    ]
    for i, mover in enumerate(movers):
        y = 4 + i * _ROW_HEIGHT
        share = float(mover["share"])
        colour = "#e8836f" if float(mover["moved"]) > 0 else "#7fb2e5"
        parts.append(
            f'<text x="{_LABEL_WIDTH - 6}" y="{y + 14}" text-anchor="end">'
            f"{html.escape(str(mover['category']))}</text>"
            f'<rect x="{_LABEL_WIDTH}" y="{y + 3}" width="{share * scale:.1f}" height="14" '
            f'fill="{colour}"><title>{percent(share)} this week</title></rect>'
            f'<text x="{_LABEL_WIDTH + share * scale + 4:.1f}" y="{y + 14}">{percent(share)}</text>'
        )
        usual = usual_share(mover)
        if usual is not None:
            x = _LABEL_WIDTH + usual * scale
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y}" y2="{y + 20}" stroke="#1f2933" '
                f'stroke-width="2"><title>{percent(usual)} usually</title></line>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _sparkline_svg(points: Sequence[tuple[date, float]], week_start: date) -> str:
    """The share over the last weeks; a week without a published cell leaves a gap."""
    width, height, pad = 120, 28, 3
    weeks = [week_start - timedelta(weeks=HISTORY_WEEKS - 1 - i) for i in range(HISTORY_WEEKS)]
    by_week = dict(points)
    top = max([*by_week.values(), 0.01])
    step = (width - 2 * pad) / (HISTORY_WEEKS - 1)
    segments: list[list[str]] = [[]]
    for i, week in enumerate(weeks):
        if week not in by_week:
            segments.append([])
            continue
        x = pad + i * step
        y = height - pad - by_week[week] / top * (height - 2 * pad)
        segments[-1].append(f"{x:.1f},{y:.1f}")
    lines = []
    for segment in segments:
        if len(segment) > 1:
            lines.append(
                f'<polyline points="{" ".join(segment)}" fill="none" stroke="#3b6ea5" '
                'stroke-width="1.5"/>'
            )
        elif segment:
            cx, cy = segment[0].split(",")
            lines.append(f'<circle cx="{cx}" cy="{cy}" r="1.8" fill="#3b6ea5"/>')
    if week_start in by_week:
        y_last = height - pad - by_week[week_start] / top * (height - 2 * pad)
        lines.append(f'<circle cx="{width - pad}" cy="{y_last:.1f}" r="2.5" fill="#b42318"/>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="share over the last {HISTORY_WEEKS} weeks">{"".join(lines)}</svg>'
    )


def _movers_html(section: Section, week_start: date) -> str:
    rows = []
    for mover in section.movers:
        direction = "up" if float(mover["moved"]) > 0 else "down"
        rows.append(
            "<tr>"
            f"<td>{html.escape(str(mover['category']))}</td>"
            f'<td class="n">{percent(mover["share"])}</td>'
            f'<td class="n">{percent(usual_share(mover))} '
            f'<span class="muted">({"usual" if mover["against"] == "usual" else "last week"})'
            "</span></td>"
            f'<td class="n {direction}">{points(mover["moved"])}</td>'
            f'<td class="n">{mover["prompts"]} / {mover["users"]}</td>'
            f'<td class="n">{"" if mover["spike_score"] is None else mover["spike_score"]}</td>'
            f"<td>{_sparkline_svg(section.history.get(mover['category'], []), week_start)}</td>"
            "</tr>"
        )
    return (
        _bars_svg(section.movers)
        + "<table><tr><th>category</th><th>share</th><th>compared with</th><th>moved</th>"
        + f"<th>prompts / people</th><th>score</th><th>last {HISTORY_WEEKS} weeks</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _alerts_html(alerts: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for alert in alerts:
        withdrawn = alert["status"] == "withdrawn"
        rows.append(
            f'<tr class="{"withdrawn" if withdrawn else ""}">'
            f"<td>{html.escape(str(alert['status']))}</td>"
            f"<td>{html.escape(alert_line(alert).split(': ', 1)[1])}</td>"
            f"<td>{alert['detected_on']:%Y-%m-%d}</td>"
            f'<td class="n">{"" if withdrawn else percent(alert.get("share"))}</td>'
            f'<td class="n">{"" if withdrawn else (alert.get("peak_score") or "")}</td>'
            "</tr>"
        )
    return (
        "<table><tr><th>status</th><th>alert</th><th>detected</th><th>share</th>"
        "<th>peak score</th></tr>" + "".join(rows) + "</table>"
    )


def render_page(digest: Digest, thresholds_note: str = "") -> str:
    """The digest as one self-contained HTML page: inline CSS and SVG, no script, no links out."""
    body = [
        f"<h1>Weekly digest · week {digest.iso_week}</h1>",
        f'<p class="muted">{digest.week_start:%A %d %B %Y} to '
        f"{digest.week_start + timedelta(days=6):%A %d %B %Y}. Bars: the share of a category "
        "in the week's prompts, the dark tick its usual share (the trailing complete weeks; "
        "the week before where there is none). Only published cells are shown: a group too "
        f"small to show has no row and leaves a gap in a line. {html.escape(thresholds_note)}"
        "</p>",
    ]
    if digest.empty:
        body.append("<p>No published category moved and no alert was raised this week.</p>")
    for section in digest.sections:
        body.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.movers:
            body.append(_movers_html(section, digest.week_start))
        if section.alerts:
            body.append("<h3>Alerts</h3>" + _alerts_html(section.alerts))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Weekly digest {digest.iso_week}</title><style>{_STYLE}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )


def write_page(digest: Digest, folder: Path) -> Path:
    """Write the page to ``<folder>/<week_start>.html`` (replaced whole, never half-written)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest.week_start:%Y-%m-%d}.html"
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(render_page(digest), encoding="utf-8")
    partial.replace(path)
    return path
