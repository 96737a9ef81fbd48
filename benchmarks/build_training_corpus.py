"""Build the labelled training corpus the engine ships (``insight_core/resources/training/``).

Run once when the sources change, from a checkout with ``../shared/data`` beside it::

    python benchmarks/build_training_corpus.py

Two sources, both real text (docs/classification.md, "Training data"):

* ``pool/pool.csv``: requests and questions from public datasets, forums and bot training
  files, labelled by each source's own metadata (distant labels). Only families whose licence
  allows redistribution in the package are kept (``SHIPPABLE_POOL_FAMILIES``); non-commercial,
  research-only and unlicensed sources stay out (they still serve as held-out families in
  ``benchmarks/leave_source_out.py``).
* ``assistant/assistant_unlabeled.csv``: first turns people typed to public AI assistants,
  labelled here in two independent reading passes (the second blind to the first) against the
  boundary guide in docs/classification.md. Both passes are kept in ``assistant_labels.csv``;
  the corpus holds the rows where they agree, less the rows taken through AlpacaEval (its eval
  set carries a non-commercial flag).

``measure-only`` files (``dev_labeled.csv``, ``xdev_labeled.csv``) are never read here.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "insight_core" / "resources" / "training"
SHARED = ROOT.parent / "shared" / "data"

# family -> licence as its source states it (pool/SOURCES_a.md, SOURCES_b.md).
SHIPPABLE_POOL_FAMILIES = {
    "mbpp": "CC BY 4.0 (MBPP, google-research)",
    "nl2bash": "MIT",
    "exercism": "MIT",
    "codesearchnet": "MIT",
    "irc-ubuntu": "CC BY 4.0",
    "irc-rust": "CC BY 4.0",
    "irc-stripe": "CC BY 4.0",
    "multidogo": "CDLA-Permissive-1.0",
    "rasa_helpdesk_assistant": "Apache-2.0",
    "rasa_financial_demo": "Apache-2.0",
    "mindmeld_hr_assistant": "Apache-2.0",
    "mindmeld_banking_assistant": "Apache-2.0",
    "hwu64": "CC BY 4.0",
    "sad": "MIT",
    "reddit-learnpython": "ODC PDDL 1.0 (Reddit user content)",
    "reddit-sql": "ODC PDDL 1.0 (Reddit user content)",
    "reddit-excel": "ODC PDDL 1.0 (Reddit user content)",
    "reddit-techsupport": "ODC PDDL 1.0 (Reddit user content)",
    "reddit-linuxquestions": "ODC PDDL 1.0 (Reddit user content)",
    "reddit-socialanxiety": "ODC PDDL 1.0 (Reddit user content)",
    "reddit-personalfinance": "ODC PDDL 1.0 (Reddit user content)",
    "snips": "CC0 1.0",
    "sgd": "CC BY-SA 4.0",
    "qmsum": "MIT",
    "topv2": "CC BY-SA 4.0",
    "dairai_prompthub": "MIT",
    "policyqa": "MIT",
    "mmlu_law": "MIT",
    "legalbench": "CC BY 4.0 / MIT (consumer_contracts_qa, CC BY-NC, left out)",
    "cuad": "CC BY 4.0",
    "eqbench": "MIT",
}
NON_COMMERCIAL_POOL_SOURCES = ("legalbench/train/consumer_contracts_qa",)

ASSISTANT_LICENCES = {
    "asst-oasst": "Apache-2.0 (OpenAssistant)",
    "asst-hh": "MIT (Anthropic hh-rlhf)",
    "asst-dolly": "CC BY-SA 3.0 (databricks-dolly-15k)",
    "asst-prism": "CC BY 4.0 (PRISM)",
}


def assistant_family(source: str) -> str:
    """The family of an assistant prompt's ``source`` (one per underlying dataset)."""
    parts = source.split("/")
    if parts[0] == "alpaca_eval":
        return "asst-oasst" if parts[1] == "oasst" else "asst-hh"
    return {
        "oasst-eval": "asst-oasst",
        "hh-rlhf": "asst-hh",
        "dolly-triforce": "asst-dolly",
        "prism": "asst-prism",
    }[parts[0]]


NOTICE_HEAD = """# Attribution: the shipped training corpus

`corpus.csv` holds real text from public sources, each row with its `source` and `licence`
(written by `benchmarks/build_training_corpus.py`). Pool sources are described, with their
repositories and commits, in the training pool's `SOURCES_a.md` and `SOURCES_b.md`; the
assistant prompts in the assistant set's `SOURCES.md`. Only sources whose licence allows
redistribution are included; non-commercial, research-only and unlicensed sources, and
prompts that came through AlpacaEval (non-commercial flag), are left out. Labels of the pool
rows come from each source's own metadata; labels of the assistant prompts are this project's
own reading (`assistant_labels.csv`, both passes), under the project's licence.

| family | rows | licence as its source states it |
|---|---:|---|
"""


def write_notice(corpus: Path) -> None:
    """NOTICE.md beside ``corpus``: rows and licence per family."""
    counts: dict[tuple[str, str], int] = {}
    with corpus.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            key = (row["family"], row["licence"])
            counts[key] = counts.get(key, 0) + 1
    lines = [f"| {family} | {n} | {licence} |" for (family, licence), n in sorted(counts.items())]
    (corpus.parent / "NOTICE.md").write_text(NOTICE_HEAD + "\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument(
        "--labels",
        nargs=2,
        type=Path,
        metavar=("PASS_A", "PASS_B"),
        help="the two passes' id,category files",
    )
    parser.add_argument(
        "--notice-only", action="store_true", help="only rewrite NOTICE.md from corpus.csv"
    )
    args = parser.parse_args()
    if args.notice_only:
        write_notice(TARGET / "corpus.csv")
        return 0
    if args.labels is None:
        parser.error("--labels is required")

    def read_pass(path: Path) -> dict[str, str]:
        with path.open(newline="", encoding="utf-8") as handle:
            return {row["id"]: row["category"] for row in csv.DictReader(handle)}

    first, second = read_pass(args.labels[0]), read_pass(args.labels[1])
    TARGET.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, str]] = []
    with (args.shared / "pool" / "pool.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            licence = SHIPPABLE_POOL_FAMILIES.get(row["family"])
            if licence is None or row["source"].startswith(NON_COMMERCIAL_POOL_SOURCES):
                continue
            rows.append({**row, "origin": "pool", "licence": licence})
    labels_path = TARGET / "assistant_labels.csv"
    assistant = args.shared / "assistant" / "assistant_unlabeled.csv"
    with (
        assistant.open(newline="", encoding="utf-8") as handle,
        labels_path.open("w", newline="", encoding="utf-8") as labels,
    ):
        writer = csv.writer(labels)
        writer.writerow(["id", "source", "pass_a", "pass_b"])
        for row in csv.DictReader(handle):
            writer.writerow([row["id"], row["source"], first[row["id"]], second[row["id"]]])
            family = assistant_family(row["source"])
            if first[row["id"]] != second[row["id"]] or row["source"].startswith("alpaca_eval"):
                continue
            rows.append(
                {
                    "text": row["text"],
                    "category": first[row["id"]],
                    "source": row["source"],
                    "family": family,
                    "origin": "assistant",
                    "licence": ASSISTANT_LICENCES[family],
                }
            )
    with (TARGET / "corpus.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(
            out,
            ["text", "category", "family", "origin", "source", "licence"],
            extrasaction="ignore",
        )
        writer.writeheader()
        writer.writerows(rows)
    write_notice(TARGET / "corpus.csv")
    print(f"wrote {len(rows)} rows to {TARGET / 'corpus.csv'} and both passes to {labels_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
