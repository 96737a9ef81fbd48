"""The checks a build must pass before it is published; each returns the rows that break it."""

from __future__ import annotations

import logging
import time

import duckdb

from insight_core import disclosure_audit
from insight_core.warehouse.declarations import generated_checks
from insight_core.warehouse.sql import sql_files

log = logging.getLogger(__name__)


def check_queries() -> list[tuple[str, str]]:
    """(name, SQL) of every check, by name: the files of ``warehouse/checks/`` and those
    generated from the relations ``warehouse/analytics.toml`` declares."""
    return sorted([*sql_files("checks"), *generated_checks()])


def run_checks(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Run every check; returns {check name: failing row count} for the checks that fail.

    Besides the SQL checks, ``disclosure_audit`` attacks the published tables by subtraction
    (:mod:`insight_core.disclosure_audit`); each group it can single out is a failing row.
    """
    failures = {}
    for name, sql in check_queries():
        started = time.perf_counter()
        rows = con.execute(sql).fetchall()
        log.debug("check %s took %.3f s", name, time.perf_counter() - started)
        if rows:
            failures[name.removesuffix(".sql")] = len(rows)
            log.error("check %s failed with %d rows, e.g. %s", name, len(rows), rows[:3])
    started = time.perf_counter()
    findings = disclosure_audit.audit(con)
    log.debug("disclosure audit took %.3f s", time.perf_counter() - started)
    if findings:
        failures["disclosure_audit"] = len(findings)
        disclosure_audit.log_findings(findings)
    return failures
