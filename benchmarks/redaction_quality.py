"""Recall of the redactor on the invented canaries, what it flags in ordinary prompts, and its
throughput on real-length prompts.

    .venv/bin/python benchmarks/redaction_quality.py --prompts ../shared/data/unlabeled_prompts.csv

Recall: share of canaries (``tests/unit/redaction_canaries.py``) whose sensitive string is gone
and whose typed placeholder is present, per kind; then the near misses (ordinary prompts that
look like a kind) that were changed. On the prompts file it prints how many prompts got each
placeholder, every span replaced by ``<PERSON>`` (for a person to judge which are false
positives; the file's texts are not stored anywhere) and the redactor's texts/s.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from insight_core.prep import redact  # noqa: E402
from tests.unit.redaction_canaries import CANARIES, NEAR_MISSES  # noqa: E402


def canary_recall() -> None:
    caught: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for kind, text, secret in CANARIES:
        out = redact.redact_text(text)
        total[kind] += 1
        if secret not in out and f"<{kind}>" in out:
            caught[kind] += 1
        else:
            print(f"missed {kind}: {text!r} -> {out!r}")
    for kind in sorted(total):
        share = caught[kind] / total[kind]
        print(f"recall {kind:12s} {caught[kind]:3d}/{total[kind]:<3d} = {share:.0%}")
    print(f"recall all          {sum(caught.values())}/{sum(total.values())}")
    changed = [(t, redact.redact_text(t)) for t in NEAR_MISSES if redact.redact_text(t) != t]
    print(f"near misses changed: {len(changed)}/{len(NEAR_MISSES)}")
    for text, out in changed:
        print(f"  {text!r} -> {out!r}")


def prompts_report(path: Path) -> None:
    texts = pl.read_csv(path).get_column("text").drop_nulls().to_list()
    redact.name_gazetteer()
    started = time.perf_counter()
    for text in texts:
        redact.redact_text(text)
    seconds = time.perf_counter() - started
    chars = sum(map(len, texts))
    print(
        f"{len(texts)} prompts, mean {chars / len(texts):.0f} chars: "
        f"{len(texts) / seconds:.0f} texts/s ({chars / seconds / 1e6:.2f} MB/s)"
    )
    # Mark what was replaced, to list the spans.
    redact.spans._person_token = lambda name: f"<PERSON:{name}>"  # type: ignore[assignment]
    spans: Counter[str] = Counter()
    flagged: Counter[str] = Counter()
    for text in texts:
        out = redact.redact_text(text)
        found = re.findall(r"<PERSON:([^>]*)>", out)
        spans.update(found)
        flagged.update(
            set(re.findall(r"<([A-Z_]+)[:>]", out)) - set(re.findall(r"<([A-Z_]+)>", text))
        )
    print("prompts with a placeholder:", dict(sorted(flagged.items())))
    print("names replaced (judge these):", sorted(spans.items(), key=lambda kv: -kv[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--prompts", type=Path, default=ROOT.parent / "shared/data/unlabeled_prompts.csv"
    )
    args = parser.parse_args()
    canary_recall()
    if args.prompts.exists():
        prompts_report(args.prompts)


if __name__ == "__main__":
    main()
