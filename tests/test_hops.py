"""Content filters and local relays are hops, not deliveries (SPEC §3):
genuine captures of Postfix with amavisd-new, a Sendmail MSP in front of
Postfix, and two Postfix instances. Each original send has its person and
the final outcome of the copy that crossed the hop; no copy is a send of
its own. The scenario files say what each recipient should give."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from conftest import LOGS, run_ingest

CAPTURES = {
    "postfix_filter/amavis": "Postfix -> amavisd-new -> Postfix (content_filter), local alias forwarding",
    "msp/sendmail_postfix": "Sendmail MSP (submit.cf) -> the local Postfix",
    "postfix_multi/multi": "postfix (input instance) -> postfix-out (output instance)",
}
# What our rules say where the capture's own note differs, with why.
JUDGED = {
    # Refused by our own Postfix at RCPT before it was queued: never sent
    # (SPEC §2), though the MSP had it in its queue.
    ("msp/sendmail_postfix", "optout@example.com"): [],
}


def person(address: str, log: str) -> str:
    """A person always has a domain (SPEC §3): a bare alias submitted to is
    filed under the address it became, the to= of the line that names it as
    orig_to."""
    if "@" in address:
        return address.lower()
    line = next(line for line in log.splitlines() if f"orig_to=<{address}>" in line)
    return line.split("to=<", 1)[1].split(">", 1)[0].lower()


@pytest.mark.parametrize("capture", sorted(CAPTURES), ids=lambda c: c.split("/")[0])
def test_each_send_has_the_outcome_of_its_copy(tmp_path, capture):
    log = LOGS / f"{capture}.log"
    scenario = json.loads((LOGS / f"{capture}.scenario.json").read_text())
    store, summary = run_ingest(tmp_path / "h.db", [log], year=2026)
    assert summary.rejected == 0 and not summary.problems
    got = defaultdict(list)
    for e in store.events():
        got[(e["person"], e["message_id"])].append(e)
    expected = 0
    for message in scenario["messages"]:
        for rcpt in message["recipients"]:
            who = person(rcpt["address"], log.read_text())
            want = JUDGED.get((capture, rcpt["address"]), rcpt["expect"]["events"])
            events = got.pop((who, message["message_id"]), [])
            assert sorted(e["type"] for e in events) == sorted(want), (who, message["message_id"])
            expected += len(want)
            if "delivered" in want:
                [delivered] = [e for e in events if e["type"] == "delivered"]
                # the copy's reply from the receiving server, not the filter's
                assert "from MTA(" not in (delivered["detail"] or "")
            if rcpt["expect"].get("bounce_class") and "hard_bounced" in want:
                [hard] = [e for e in events if e["type"] == "hard_bounced"]
                assert hard["bounce_class"] == rcpt["expect"]["bounce_class"]
    assert dict(got) == {}, "sends no recipient was sent (a copy counted on its own?)"
    assert sum(summary.events_added.values()) == expected


def test_the_hop_alone_is_neither_sent_nor_delivered(tmp_path):
    """A hand-off whose copy the log does not show yet is not a send."""
    lines = (LOGS / "postfix_filter" / "amavis.log").read_text().splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if "relay=127.0.0.1[127.0.0.1]:10024" in line and "queued as" in line)
    copy_id = lines[cut].rsplit("queued as ", 1)[1].rstrip(")\n")
    head = tmp_path / "head.log"
    head.write_text("".join(line for line in lines[:cut + 1]))
    store, _ = run_ingest(tmp_path / "h.db", [head], year=2026)
    recipient = lines[cut].split("to=<", 1)[1].split(">", 1)[0]
    assert not [e for e in store.events(person=recipient) if e["type"] == "delivered"]
    # The copy's own queue id never names a send of its own.
    assert not [e for e in store.events() if e["queue_id"] == copy_id]
