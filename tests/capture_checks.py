"""Shared checks for logs written by real MTAs against the scripted sink
(tools/smtp_sink.py): `<case>.log` + `<case>.sink.jsonl` (what the sink
answered) + `<case>.scenario.json` (what was sent). Every (message,
recipient) of the scenario must get exactly the SPEC's events."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from emaillog.config import Config

HARD = {
    "unknown": ("permanent", "user_unknown"),
    "disabled": ("permanent", "mailbox_disabled"),
    "block": ("spam_block", "blocklisted"),
    "spam": ("spam_block", "spam_content"),
    "big": ("technical", "message_too_large"),
}
SOFT_THEN_DELIVERED = {"grey": "greylisted"}
SOFT_UNTIL_EXPIRY = {"defer", "fulltemp", "refused"}
# A 5xx mailbox-full reply: soft by SPEC. Some MTAs bounce it at once
# (one attempt), others treat 552 at RCPT as temporary (RFC 5321
# 4.5.3.1.10) and retry until the queue lifetime ends.
SOFT_5XX = {"full": {"mailbox_full", "expired"}}


def captures(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.log")
                  if p.with_suffix(".sink.jsonl").exists() and p.with_suffix(".scenario.json").exists())


def load(capture: Path):
    scenario = json.loads(capture.with_suffix(".scenario.json").read_text())
    sink = [json.loads(line) for line in capture.with_suffix(".sink.jsonl").read_text().splitlines() if line.strip()]
    return scenario, sink


def by_message_id(store) -> dict:
    events = defaultdict(list)
    for e in store.events():
        events[(e["message_id"], e["person"])].append(e)
    return events


def expected_campaign(message: dict, header_logged: bool) -> str | None:
    verp = Config().campaign_from_sender(message["envelope_sender"])
    if header_logged and message.get("campaign_header"):
        return message["campaign_header"]
    return verp


def check_every_message_and_recipient(scenario, sink, events, *, header_logged: bool) -> Counter:
    """events: {(scenario Message-ID, person): [event rows]}. Returns the
    count of checked recipients by behaviour."""
    aliases = {k.lower(): v for k, v in scenario.get("aliases", {}).items()}
    appearances = Counter(r["address"].lower() for m in scenario["messages"] for r in m["recipients"])
    checked = Counter()
    for message in scenario["messages"]:
        for rcpt in message["recipients"]:
            person = rcpt["address"].lower()
            behaviour = rcpt["behaviour"]
            got = events.get((message["message_id"], person), [])
            kinds = Counter(e["type"] for e in got)
            where = f"{message['message_id']} -> {person} ({behaviour})"
            if behaviour == "local_reject":
                assert not got, f"{where}: rejected by our own server, never sent"
                continue
            assert kinds["sent"] == 1, f"{where}: {dict(kinds)}"
            target = aliases.get(person, person).lower()
            answers = [a for a in sink if a["recipient"].lower() == target]
            mine = [a for a in answers if a.get("sender", "").lower() == message["envelope_sender"].lower()]
            data_ok = [a for a in answers if a["stage"] == "data" and a["code"] == 250
                       and a["message_id"] == message["message_id"]]
            assert kinds["delivered"] == len(data_ok) <= 1, f"{where}: {dict(kinds)}"
            soft = [e for e in got if e["type"] == "soft_bounced"]
            hard = [e for e in got if e["type"] == "hard_bounced"]
            temp = [a for a in mine if 400 <= a["code"] < 500]
            once = appearances[person] == 1
            if behaviour == "ok":
                assert set(kinds) == {"sent", "delivered"}, where
            elif behaviour in HARD:
                assert not soft and len(hard) == 1, f"{where}: {dict(kinds)}"
                bounce_class, reason = HARD[behaviour]
                assert (hard[0]["bounce_class"], hard[0]["reason"]) == (bounce_class, reason), \
                    f"{where}: {hard[0]['bounce_class']} {hard[0]['reason']} {hard[0]['detail']}"
                refusal = next(a for a in answers if a["code"] >= 500)
                assert hard[0]["dsn"] == refusal["dsn"], where
                assert hard[0]["smtp_code"] in (refusal["code"], None), where
            elif behaviour in SOFT_5XX:
                assert not hard and len(soft) == 1 and kinds["delivered"] == 0, f"{where}: {dict(kinds)}"
                assert soft[0]["reason"] in SOFT_5XX[behaviour], f"{where}: {soft[0]['reason']}"
            elif behaviour in SOFT_THEN_DELIVERED:
                assert not hard and len(soft) == 1 and kinds["delivered"] == 1, f"{where}: {dict(kinds)}"
                assert soft[0]["reason"] == SOFT_THEN_DELIVERED[behaviour], f"{where}: {soft[0]['reason']}"
                if once:
                    assert soft[0]["attempts"] == len(temp), where
            elif behaviour in SOFT_UNTIL_EXPIRY:
                assert not hard and len(soft) == 1 and kinds["delivered"] == 0, f"{where}: {dict(kinds)}"
                assert soft[0]["reason"] == "expired", f"{where}: the MTA gave up ({soft[0]['reason']})"
                if once and behaviour != "refused":
                    assert soft[0]["attempts"] == len(temp), f"{where}: {soft[0]['attempts']} vs sink {len(temp)}"
                assert soft[0]["attempts"] >= 1, where
            else:
                raise AssertionError(f"behaviour {behaviour} not covered by this test")
            want = expected_campaign(message, header_logged)
            assert all(e["campaign"] == want for e in got), f"{where}: campaign {[e['campaign'] for e in got]} != {want}"
            checked[behaviour] += 1
    return checked
