"""Our own resolver failing is not a bad domain (issue 13, item 4).

Driven by a genuine capture (tests/logs/resolver_flap/postfix.log, made by
tools/capture_postfix_resolver_flap.sh): a real Postfix delivers to
flaky.example, then its stub DNS says flaky.example does not exist and
Postfix bounces bob@flaky.example ("Host or domain name not found ... Host
not found") together with carol@no-such-domain.example (a domain that never
existed), then flaky.example answers again and takes the next message.
See rules/resolver.py and store/doubts.py.
"""

from __future__ import annotations

import re

import pytest

from conftest import LOGS, run_ingest, without
from emaillog.rules.resolver import note, says_no_such_domain
from emaillog.store import Store

FLAP = LOGS / "resolver_flap" / "postfix.log"
BOB, CAROL = "bob@flaky.example", "carol@no-such-domain.example"
RANK = {"sent": 0, "soft_bounced": 1, "delivered": 2, "hard_bounced": 2}  # a send's events at one time
_QID = re.compile(r"postfix/\w+\[\d+\]: ([0-9A-F]{6,}):")


def _bounced_qid() -> str:
    line = next(line for line in FLAP.read_text().splitlines() if f"to=<{BOB}>" in line and "status=bounced" in line)
    return _QID.search(line).group(1)


def split_capture(tmp_path, shift_days: int = 0):
    """The capture as two files: the lines of the message that bounced
    (optionally dated `shift_days` later) and every other line."""
    qid = _bounced_qid()
    mine, rest = [], []
    for line in FLAP.read_text().splitlines(keepends=True):
        m = _QID.search(line)
        (mine if m and m.group(1) == qid else rest).append(line)
    if shift_days:
        def later(line):
            day = int(line[4:6])
            return f"{line[:4]}{day + shift_days:>2}{line[6:]}"
        mine = [later(line) for line in mine]
    bounce, others = tmp_path / "bounce.log", tmp_path / "others.log"
    bounce.write_text("".join(mine))
    others.write_text("".join(rest))
    return bounce, others


def answers(store) -> dict:
    events = sorted((without(e, ("id", "source")) for e in store.events()),
                    key=lambda e: (e["person"], e["ts"], RANK.get(e["type"], 3), e["type"]))
    return {"events": events,
            "suppressed": sorted(s.person for s in store_suppressed(store)),
            "soft": {e["person"]: (e["reason"], e["note"]) for e in events if e["type"] == "soft_bounced"}}


def store_suppressed(store):
    from emaillog.config import Config
    from emaillog.state import StateQueries
    return StateQueries(store, Config()).suppressions("2026-12-31T00:00:00Z")


def test_the_capture_shows_the_resolver_failing():
    text = FLAP.read_text()
    assert re.search(rf"to=<{re.escape(BOB)}>.*status=bounced \(Host or domain name not found\. "
                     r"Name service error for name=flaky\.example", text)
    assert len(re.findall(r"to=<[^>]+@flaky\.example>.*status=sent", text)) >= 2


def test_a_domain_that_accepted_mail_makes_its_no_such_domain_soft(database):
    store, summary = run_ingest(database, [FLAP], year=2026)
    try:
        got = answers(store)
        assert got["soft"][BOB] == ("dns_tempfail", note("flaky.example"))
        assert BOB not in got["suppressed"]
        bob_types = [e["type"] for e in got["events"] if e["person"] == BOB]
        assert bob_types == ["sent", "soft_bounced"]
        # a domain that never accepted mail keeps its permanent bounce
        carol = [e for e in got["events"] if e["person"] == CAROL]
        assert [(e["type"], e["reason"], e["bounce_class"]) for e in carol] == [
            ("sent", None, None), ("hard_bounced", "bad_domain", "permanent")]
        assert CAROL in got["suppressed"]
        assert summary.resolver_demoted == 1
        # the view for sqlite-utils/Datasette users says the same
        row = store.conn.execute("SELECT reason, note FROM events WHERE type = 'soft_bounced' AND person = ?",
                                 (BOB,)).fetchone()
        assert tuple(row) == got["soft"][BOB]
    finally:
        store.close()


def test_either_order_of_the_files_gives_the_same_answers(tmp_path, fresh_database):
    bounce, others = split_capture(tmp_path)
    results = []
    for name, order in (("whole", [FLAP]), ("bounce_first", [bounce, others]), ("bounce_last", [others, bounce])):
        db = fresh_database(name)
        for path in order:  # one run per file: the later one finds the earlier one's rows
            store, _ = run_ingest(db, [path], year=2026)
            store.close()
        store = Store(db)
        results.append(answers(store))
        store.close()
    assert results[0]["soft"][BOB][0] == "dns_tempfail"
    assert results[1] == results[0]
    assert results[2] == results[0]


def test_a_delivery_outside_the_window_proves_nothing(tmp_path, database):
    bounce, others = split_capture(tmp_path, shift_days=3)  # 72 hours later: beyond the 36-hour window
    store, summary = run_ingest(database, [others, bounce], year=2026)
    try:
        got = answers(store)
        assert BOB not in got["soft"]
        assert [(e["type"], e["reason"]) for e in got["events"] if e["person"] == BOB][-1] == \
            ("hard_bounced", "bad_domain")
        assert {BOB, CAROL} <= set(got["suppressed"])
        assert summary.resolver_demoted == 0
    finally:
        store.close()


def test_a_database_written_before_the_rule_is_reviewed_when_opened(database, monkeypatch):
    from emaillog.store import doubts
    with monkeypatch.context() as m:  # the store as the release before the rule wrote it
        m.setattr(doubts.Doubts, "note_row", lambda self, entry, row, counted: None)
        store, _ = run_ingest(database, [FLAP], year=2026)
    assert BOB in answers(store)["suppressed"]
    cascade = "" if store.dialect.name == "sqlite" else " CASCADE"  # PostgreSQL: the views go too
    with store.transaction():
        store.conn.execute(f"DROP TABLE dns_doubts{cascade}")
        store.conn.execute("DROP INDEX domain_counts_accepts")
        store.conn.execute("DELETE FROM _migrations WHERE name = 'm011_resolver_doubts'")
    store.close()
    store = Store(database)
    try:
        assert "m011_resolver_doubts" in store.applied
        got = answers(store)
        assert got["soft"][BOB] == ("dns_tempfail", note("flaky.example"))
        assert BOB not in got["suppressed"] and CAROL in got["suppressed"]
    finally:
        store.close()


@pytest.mark.parametrize("text, lookup", [
    ("Host or domain name not found. Name service error for name=flaky.example type=MX: Host not found", True),
    ("Unrouteable address", True),
    ("550 5.1.2 <x@y>... Host unknown (Name server: y: host not found)", True),
    ("DNS type 'mx' lookup of example.jp responded with code NXDOMAIN", True),
    ("DNS type 'mx' lookup of example.org responded with code NOERROR: returned Null MX", False),
    ("an MX or SRV record indicated no SMTP service", False),
    ("550 5.1.10 host/domain does not accept mail", False),
    ("550 5.1.2 domain has expired", False),
])
def test_only_lookup_failures_are_doubted(text, lookup):
    assert says_no_such_domain(text) is lookup
