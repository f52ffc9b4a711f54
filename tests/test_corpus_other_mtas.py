"""The real Exim, Sendmail, OpenSMTPD and PowerMTA lines of
../shared/corpus/mta: every line parses without a crash, and what each
source states about its lines holds. Skips when the corpus is absent."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import datetime, timezone

import pytest

from emaillog.config import Config
from emaillog.events import Attempt, MessageDone, MessageSeen, Reject, Skip
from emaillog.formats import FORMATS
from emaillog.formats.context import ParseContext
from emaillog.timestamps import Clock

UTC = timezone.utc


def parser(fmt):
    clock = Clock(datetime(2026, 11, 28, tzinfo=UTC), tz=UTC)
    return FORMATS[fmt].Parser(ParseContext(clock, Config(), "corpus"))


def records(corpus, name):
    return [json.loads(line) for line in (corpus / "mta" / name).read_text().splitlines() if line.strip()]


def parse_all(fmt, path):
    """Every line of a file through one parser: [(line, facts)]."""
    p = parser(fmt)
    raw = path.read_bytes().decode("utf-8", "replace")
    return [(line, p.parse(line.rstrip("\r"), f"{path.name}:{n}")) for n, line in enumerate(raw.split("\n"), 1)]


def kinds(facts):
    return [type(f).__name__ for f in facts]


FILES = {
    "exim": ["exim-testsuite-mainlog.log", "exim-testsuite-curated.log", "exim-spec-doc-examples.log",
             "alaveteli-exim-postfix.log", "alaveteli-exim-bad-utf8.raw.log", "logstash-patterns-core-exim.log",
             "fail2ban-exim.log", "fail2ban-exim-spam.log", "issues-quoted-lines.log"],
    "opensmtpd": ["opensmtpd.log", "issues-quoted-lines.log"],
    "powermta": ["powermta-acct-port25-bouncehandler.csv"],
    "sendmail": ["loghub-thunderbird-sendmail.log", "fail2ban-sendmail-reject.log", "fail2ban-sendmail-auth.log"],
}
CASES = [(fmt, name) for fmt, names in FILES.items() for name in names]


@pytest.mark.parametrize("fmt,name", CASES, ids=[f"{f}:{n}" for f, n in CASES])
def test_every_line_parses_without_a_crash(corpus, fmt, name):
    results = parse_all(fmt, corpus / "mta" / name)
    assert results
    for line, facts in results:
        assert isinstance(facts, list), line


# -- Exim ------------------------------------------------------------------

# spec.xfpt "Log line flags" -> what our parser reports.
EXIM_FLAG = {"<=": "arrival", "(=": "arrival", "=>": "delivered", "->": "delivered", ">>": "delivered",
             "==": "deferred", "**": "failed", "*>": "suppressed"}


def exim_kind(facts):
    attempts = [f for f in facts if isinstance(f, Attempt)]
    if attempts:
        return {"delivered": "delivered", "deferred": "deferred", "bounced": "failed",
                "expired": "failed"}[attempts[0].outcome]
    if any(isinstance(f, MessageSeen) and f.sender is not None for f in facts):
        return "arrival"
    if facts and all(isinstance(f, Skip) for f in facts):
        why = facts[0].why
        if "-N" in why:
            return "suppressed"
        if "discarded" in why or "local delivery" in why:
            return "not a send"
        if "retry time not reached" in why or "not try" in why or "without a delivery attempt" in why:
            return "not tried"
    return kinds(facts)


def test_exim_testsuite_mainlog_has_no_rejects(corpus):
    results = parse_all("exim", corpus / "mta" / "exim-testsuite-mainlog.log")
    counts = Counter(type(f).__name__ for _, facts in results for f in facts)
    assert counts["Reject"] == 0
    outcomes = Counter(f.outcome for _, facts in results for f in facts if isinstance(f, Attempt))
    assert outcomes["delivered"] > 2000 and outcomes["deferred"] > 400 and outcomes["bounced"] > 300
    assert outcomes["expired"] >= 80  # `** x: retry timeout exceeded`


def test_exim_testsuite_flags_ids_and_times(corpus):
    p = parser("exim")
    checked = Counter()
    for rec in records(corpus, "exim-testsuite-curated.expected.jsonl"):
        exp = rec["expected"]
        facts = p.parse(rec["line"], "corpus:1")
        assert not any(isinstance(f, Reject) for f in facts), rec["line"]
        stamped = [f for f in facts if hasattr(f, "ts")]
        for f in stamped:
            want = datetime.fromisoformat(exp["timestamp"]).replace(tzinfo=UTC)
            assert f.ts == want, rec["line"]
            assert f.key.endswith("/" + exp["message_id"]), rec["line"]
        flag = exp.get("flag")
        if flag:
            got = exim_kind(facts)
            assert got == EXIM_FLAG[flag] or (flag in ("=>", "**") and got in ("not a send",)) \
                or (flag == "==" and got == "not tried"), (rec["line"], got)
            checked[flag] += 1
        elif exp.get("event", "").startswith("Completed"):
            assert kinds(facts) == ["MessageDone"], rec["line"]
            checked["Completed"] += 1
    assert all(checked[f] for f in ("<=", "=>", "->", "==", "**", "*>", ">>", "Completed")), checked


def test_exim_both_message_id_styles(corpus):
    p = parser("exim")
    lines = {rec["line"] for rec in records(corpus, "alaveteli-exim-postfix.expected.jsonl")}
    old = next(line for line in lines if " 1b8cs4-0005xz-6g " in line)
    new = next(rec["line"] for rec in records(corpus, "exim-testsuite-curated.expected.jsonl")
               if "-000000005vi-" in rec["line"] and " => " in rec["line"])
    for line in (old, new):
        facts = [f for f in p.parse(line, "c:1") if isinstance(f, Attempt)]
        assert facts and facts[0].queue_id in line


def test_exim_alaveteli_statuses(corpus):
    """alaveteli's spec: => -> >> delivered; == still sent (deferred); <= a
    send arriving; `<= <>` a bounce (ours: never a send); ** failed. `*>`
    (-N, nothing was delivered) it calls failed: for us it is no send."""
    p = parser("exim")
    want = {":delivered": "delivered", ":sent": None, ":failed": "failed"}
    checked = Counter()
    for rec in records(corpus, "alaveteli-exim-postfix.expected.jsonl"):
        flag = rec["expected"].get("flag")
        if rec["mta"] != "exim" or not flag:
            continue
        facts = p.parse(rec["line"], "c:1")
        got = exim_kind(facts)
        status = rec["expected"]["delivery_status"]
        if flag == "<= <>":
            assert [f.is_notice for f in facts if isinstance(f, MessageSeen)] == [True]
        elif flag == "<=":
            assert got == "arrival" and not facts[0].is_notice
        elif flag == "==":
            assert got == "deferred"
        elif flag == "*>":
            assert got == "suppressed"
        else:
            assert got == want[status], rec["line"]
        checked[flag] += 1
    assert len(checked) == 8


def test_exim_alaveteli_fixture_mix_gives_events(corpus, ingest, tmp_path):
    exim_lines = [r["line"] for r in records(corpus, "alaveteli-exim-postfix.expected.jsonl") if r["mta"] == "exim"]
    log = tmp_path / "mainlog"
    log.write_text("\n".join(exim_lines) + "\n")
    store, summary = ingest([log], format="exim")
    assert summary.rejected == 0
    events = store.events()
    delivered = {e["person"] for e in events if e["type"] == "delivered"}
    assert "foi@body.example.com" in delivered
    hard = {e["person"]: e for e in events if e["type"] == "hard_bounced"}
    assert hard["foi@example.net"]["bounce_class"] == "permanent"  # all relevant MX records point to non-existent hosts


def test_exim_logstash_captures(corpus):
    p = parser("exim")
    for rec in records(corpus, "logstash-patterns-core-exim.expected.jsonl"):
        exp = rec["expected"]
        facts = p.parse(rec["line"], "c:1")
        assert not any(isinstance(f, Reject) for f in facts)
        if exp.get("exim.log.flags") == "<=":
            seen = [f for f in facts if isinstance(f, MessageSeen)]
            assert seen[0].queue_id == exp["exim.log.message.id"]
            assert seen[0].sender == exp["exim.log.sender.email"]
            if "exim.log.header_id" in exp:
                assert seen[0].message_id == f"<{exp['exim.log.header_id']}>"
        elif " ** " in rec["line"]:  # grok "matching not implemented": we read it as a failure
            assert exim_kind(facts) == "failed"


def test_exim_syslog_split_lines_are_joined(corpus):
    results = parse_all("exim", corpus / "mta" / "exim-spec-doc-examples.log")
    first_five = [facts for line, facts in results[:5]]
    assert all(f[0].why == "part of a split syslog line" for f in first_five[:4])
    assert first_five[4] and first_five[4][0].why == "other message line"  # `<id> rejected from ...`, joined


def test_exim_spec_doc_flags(corpus):
    p = parser("exim")
    for rec in records(corpus, "exim-spec-doc-examples.expected.jsonl"):
        facts = p.parse(rec["line"], "c:1")
        flag = rec["expected"].get("flag")
        if flag:
            got = exim_kind(facts)
            assert got == EXIM_FLAG[flag] or got == "not a send", (rec["line"], got)


def test_exim_fail2ban_lines_are_no_sends(corpus):
    for name in ("fail2ban-exim.log", "fail2ban-exim-spam.log"):
        for line, facts in parse_all("exim", corpus / "mta" / name):
            assert not any(isinstance(f, (Attempt, Reject)) for f in facts), line


def test_exim_issue_line_with_redacted_id(corpus):
    rec = next(r for r in records(corpus, "issues-quoted-lines.expected.jsonl") if r["expected"].get("flag") == "=>")
    facts = parser("exim").parse(rec["line"], "c:1")
    assert exim_kind(facts) == "delivered" and facts[0].recipient == "person@example.com"


# -- OpenSMTPD -------------------------------------------------------------

OPENSMTPD_RESULT = {"Ok": "delivered", "TempFail": "deferred", "PermFail": "bounced"}


def test_opensmtpd_book_lines(corpus):
    p = parser("opensmtpd")
    checked = Counter()
    for rec in records(corpus, "opensmtpd.expected.jsonl"):
        exp = rec["expected"]
        facts = p.parse(rec["line"], "c:1")
        if "result" in exp:
            if not rec["line"][0].isalpha():  # message part only: no time, so no event
                assert kinds(facts) == ["Reject"]
                continue
            attempts = [f for f in facts if isinstance(f, Attempt)]
            assert [a.outcome for a in attempts] == [OPENSMTPD_RESULT[exp["result"]]], rec["line"]
            checked[exp["result"]] += 1
        elif exp["event"] in ("message", "envelope"):
            assert kinds(facts) == ["MessageSeen"], rec["line"]
        else:
            assert kinds(facts) == ["Skip"], rec["line"]
    assert checked["Ok"] == 3 and checked["PermFail"] == 1


def test_opensmtpd_2013_queue_line(corpus):
    rec = next(r for r in records(corpus, "issues-quoted-lines.expected.jsonl") if r["expected"].get("result"))
    facts = parser("opensmtpd").parse(rec["line"], "c:1")
    assert [f.outcome for f in facts if isinstance(f, Attempt)] == ["deferred"]


# -- PowerMTA --------------------------------------------------------------

def test_powermta_bounce_records(corpus):
    path = corpus / "mta" / "powermta-acct-port25-bouncehandler.csv"
    results = parse_all("powermta", path)
    attempts = [f for _, facts in results for f in facts if isinstance(f, Attempt)]
    recs = records(corpus, "powermta-acct-port25-bouncehandler.expected.jsonl")
    assert len(attempts) == len(recs) == 2
    for attempt, rec in zip(attempts, recs):
        exp = next(iter(v for k, v in rec["expected"].items() if k.startswith("parsed_with")))
        assert attempt.outcome == "bounced" and exp["type"] == "b"
        assert attempt.recipient == exp["rcpt"] and attempt.sender == exp["orig"]
        assert attempt.dsn == exp["dsnStatus"].split()[0]
        assert attempt.hint == "hard"  # bounceCat bad-domain / bad-mailbox
        assert attempt.ts == datetime.fromisoformat(exp["timeQueued"]).astimezone(UTC)
    assert not any(isinstance(f, Reject) for _, facts in results for f in facts)


# -- Sendmail --------------------------------------------------------------

def test_sendmail_loghub_rows(corpus):
    """loghub's structured rows: every `from=` row is a message with its
    msgid; the `to=root ... mailer=relay ... Deferred` rows are the
    submission program failing to reach the local MTA: no send."""
    p = parser("sendmail")
    checked = Counter()
    for rec in records(corpus, "loghub-thunderbird-sendmail.expected.jsonl"):
        exp = rec["expected"]
        facts = p.parse(rec["line"].rstrip("\r"), "c:1")
        assert not any(isinstance(f, (Reject, Attempt)) for f in facts), rec["line"]
        content = exp["Content"]
        if " from=" in content:
            [seen] = facts
            assert seen.queue_id == content.split(":", 1)[0]
            assert seen.message_id == "<" + content.split("msgid=<", 1)[1].split(">", 1)[0] + ">"
            assert seen.host == exp["Location"]
            assert seen.ts == datetime.fromtimestamp(int(exp["Timestamp"]), UTC)
            checked["from"] += 1
        elif " to=" in content:
            assert kinds(facts) == ["Skip"] and "submission" in facts[0].why
            checked["to"] += 1
    assert checked["from"] == checked["to"] == 10


def test_sendmail_fail2ban_rejections_are_no_sends(corpus):
    for name in ("fail2ban-sendmail-reject.log", "fail2ban-sendmail-auth.log"):
        for line, facts in parse_all("sendmail", corpus / "mta" / name):
            assert not any(isinstance(f, (Attempt, Reject)) for f in facts), line
