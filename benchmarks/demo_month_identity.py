"""Fingerprint a demo month's ``core`` and ``analytics`` tables, to show a refactor kept behaviour.

Runs ``insight demo`` on a fresh home with a fixed start, seed and hash key, then writes every
table and view of the published warehouse's ``core`` and ``analytics`` schemas as sorted CSV with
one SHA-256 per relation. Columns that differ between any two runs by design (run ids, wall-clock
timestamps, durations) are left out, and model version ids (named by the time of their fit) are
replaced by their order of appearance; model confidences are rounded to 4 decimals, since thread
scheduling moves their last bits. Compare two fingerprints with ``diff``.

    python benchmarks/demo_month_identity.py --out /tmp/before
    python benchmarks/demo_month_identity.py --out /tmp/after
    diff /tmp/before/fingerprint.txt /tmp/after/fingerprint.txt
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

VOLATILE_TYPES = ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIME")
VOLATILE_NAMES = ("run_id", "duration_seconds", "elapsed_seconds")
MODEL_VERSION = re.compile(r"\d{8}T\d{6}-[0-9a-f]{6}")


def _run_demo(home: Path, start: str, days: int, seed: int) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("INSIGHT_", "PREFECT_"))
    }
    env.update(INSIGHT_HOME=str(home), INSIGHT_USER_HASH_SECRET="identity-check-secret")
    insight = Path(sys.executable).with_name("insight")
    command = [str(insight), "demo", "--start", start, "--days", str(days), "--seed", str(seed)]
    subprocess.run(command, env=env, check=True)


def _select_list(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> list[str]:
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, name],
    ).fetchall()
    kept = []
    for column, data_type in columns:
        if data_type in VOLATILE_TYPES or column in VOLATILE_NAMES or column.endswith("_at"):
            continue
        quoted = f'"{column}"'
        if data_type in ("DOUBLE", "FLOAT", "REAL") or data_type.startswith("DECIMAL"):
            kept.append(f"round({quoted}, 4) as {quoted}")
        else:
            kept.append(quoted)
    return kept


def _stable_versions(text: str) -> str:
    """Model version ids in order of first appearance: ``model-1``, ``model-2``..."""
    seen: dict[str, str] = {}
    return MODEL_VERSION.sub(
        lambda match: seen.setdefault(match.group(), f"model-{len(seen) + 1}"), text
    )


def fingerprint(warehouse: Path, out: Path) -> list[str]:
    """Write each core/analytics relation as sorted CSV under ``out``; return 'name sha' lines."""
    lines = []
    con = duckdb.connect(str(warehouse), read_only=True)
    relations = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in ('core', 'analytics') order by 1, 2"
    ).fetchall()
    for schema, name in relations:
        columns = _select_list(con, schema, name)
        if not columns:
            continue
        rows = con.execute(
            f'select {", ".join(columns)} from "{schema}"."{name}" order by all'
        ).fetchall()
        text = _stable_versions("\n".join(repr(row) for row in rows))
        (out / f"{schema}.{name}.txt").write_text(text + "\n")
        digest = hashlib.sha256(text.encode()).hexdigest()
        lines.append(f"{schema}.{name} rows={len(rows)} sha256={digest}")
    con.close()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--start", default="2026-10-05")
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--home", type=Path, help="Reuse this home's warehouse; skip the run.")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    home = args.home
    if home is None:
        home = Path(tempfile.mkdtemp(prefix="identity-home-"))
        _run_demo(home, args.start, args.days, args.seed)
    lines = fingerprint(home / "warehouse.duckdb", args.out)
    (args.out / "fingerprint.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"home: {home}")


if __name__ == "__main__":
    main()
