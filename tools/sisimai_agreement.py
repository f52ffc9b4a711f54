"""Measure how often our bounce classifier agrees with Sisimai's labels.

Reads the bounce corpus (../shared/corpus/bounces/cases.jsonl from the repo
root, or the path given as the first argument), maps each case's Sisimai
reason to our classes (`permanent`, `spam_block`, `technical`, `soft`), runs
`emaillog.classify.classify` on the same (code, status, text, stage) and prints
the agreement over the cases that carry a real status code (not one of
Sisimai's made-up 5.0.9xx codes), followed by every disagreement.

    python tools/sisimai_agreement.py [cases.jsonl] [--quiet]

Exits 0, also when the corpus is absent (it says so).
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from emaillog.classify import classify  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus" / "bounces" / "cases.jsonl"

# Sisimai reason -> our class, as the issue maps them. Reasons that are not
# failures of a delivery to a person are left out of the measure.
SISIMAI_CLASS = {
    "userunknown": "permanent", "hostunknown": "permanent", "hasmoved": "permanent",
    "notaccept": "permanent",  # null MX / "does not accept mail": the domain takes no mail
    "blocked": "spam_block", "badreputation": "spam_block", "spamdetected": "spam_block",
    "policyviolation": "spam_block", "virusdetected": "spam_block",
    "contenterror": "spam_block", "authfailure": "spam_block", "requireptr": "spam_block",
    "securityerror": "spam_block", "rejected": "spam_block", "filtered": "spam_block",
    "mailboxfull": "soft", "systemfull": "soft", "speeding": "soft", "toomanyconn": "soft",
    "expired": "soft", "networkerror": "soft", "systemerror": "soft",
    "mailererror": "soft", "onhold": "soft", "undefined": "soft",
    "failedstarttls": "soft",  # SPEC §2a: TLS trouble is soft
    "mesgtoobig": "technical", "exceedlimit": "technical", "norelaying": "technical",
    "syntaxerror": "technical",
    "notcompliantrfc": "technical",  # our message breaks RFC 5322
}
NOT_A_BOUNCE = {"feedback", "vacation", "delivered"}

# Sisimai's "suspend" is permanent only when the words are final.
_TEMPORARY = re.compile(r"temporar|try (?:again )?later|try later", re.I)

# Other anchors' own labels.
KUMOMTA_CLASS = {"QuotaIssues": "soft", "InactiveMailbox": "permanent",
                 "InvalidRecipient": "permanent", "BadDomain": "permanent"}
PSEUDO = re.compile(r"^[45]\.0\.9\d\d$")
STAGES = {"RCPT": "rcpt", "DATA": "data"}


@dataclass
class Case:
    source: str
    code: int | None
    dsn: str | None
    text: str | None
    stage: str | None
    label: str
    why: str


def expected_class(row: dict) -> tuple[str | None, str]:
    """Our class for a corpus row, or None when the row is not measured."""
    dsn = row.get("dsn") or ""
    code = str(row.get("smtp_code") or "")
    reason = row.get("sisimai_reason")
    anchor = row.get("anchor")
    if reason in NOT_A_BOUNCE or dsn.startswith("2") or code.startswith("2"):
        return None, "not a bounce"
    if code.startswith("3"):
        return None, "not an SMTP failure code"
    if dsn.startswith("4") or code.startswith("4"):
        return "soft", f"{reason or anchor}: 4xx"
    if anchor == "sisimai":
        if reason == "suspend":
            final = not _TEMPORARY.search(row.get("text") or "")
            return ("permanent" if final else "soft"), "suspend"
        if reason in SISIMAI_CLASS:
            return SISIMAI_CLASS[reason], reason
        return None, f"unmapped sisimai reason {reason}"
    label = row.get("anchor_label", "")
    if anchor == "kumomta":
        m = re.search(r"bounce class (\w+)", label)
        cls = KUMOMTA_CLASS.get(m.group(1)) if m else None
        return cls, label
    if anchor == "listmonk":
        if "type soft" in label:
            return "soft", label
        if dsn.startswith("5.7"):
            return "spam_block", label
        if dsn.startswith(("5.1", "5.4.4")):
            return "permanent", label
        return None, label
    if anchor == "mautic":
        return ("permanent" if "type hard" in label else "soft"), label
    return None, label


def load(path: Path) -> tuple[list[Case], Counter]:
    cases: list[Case] = []
    skipped: Counter = Counter()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        dsn = row.get("dsn")
        if not dsn or PSEUDO.match(dsn):
            skipped["no real status code"] += 1
            continue
        label, why = expected_class(row)
        if label is None:
            skipped[why] += 1
            continue
        code = row.get("smtp_code")
        cases.append(Case(
            source=row.get("source", ""),
            code=int(code) if code and str(code).isdigit() else None,
            dsn=dsn, text=row.get("text"),
            stage=STAGES.get(row.get("smtp_command") or ""),
            label=label, why=why,
        ))
    return cases, skipped


def ours(case: Case) -> str:
    v = classify(case.code, case.dsn, case.text, stage=case.stage)
    return v.bounce_class if v.hard else "soft"


def measure(path: Path = CORPUS) -> tuple[float, int, list[tuple[Case, str, str]], Counter]:
    """(agreement, cases counted, disagreements, skipped-by-reason)."""
    cases, skipped = load(path)
    disagreements = []
    for case in cases:
        got = ours(case)
        if got != case.label:
            v = classify(case.code, case.dsn, case.text, stage=case.stage)
            disagreements.append((case, got, v.rule))
    agreement = 1 - len(disagreements) / len(cases) if cases else 0.0
    return agreement, len(cases), disagreements, skipped


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    path = Path(args[0]) if args else CORPUS
    if not path.exists():
        print(f"corpus not found: {path} (nothing to measure)")
        return 0
    agreement, counted, disagreements, skipped = measure(path)
    print(f"class agreement with mapped Sisimai labels: {agreement:.1%} "
          f"({counted - len(disagreements)}/{counted} cases with a real status code)")
    print("left out: " + ", ".join(f"{n} {why}" for why, n in skipped.most_common()))
    if "--quiet" in argv:
        return 0
    print(f"\n{len(disagreements)} disagreements (expected <- sisimai reason | ours by rule):")
    for case, got, rule in sorted(disagreements, key=lambda d: (d[0].label, d[0].why)):
        text = (case.text or "").replace("\n", " ")
        print(f"- {case.label} <- {case.why} | ours {got} by {rule}\n"
              f"    {case.code} {case.dsn} stage={case.stage} {case.source}\n"
              f"    {text[:220]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
