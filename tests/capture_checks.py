"""Shared checks for logs written by real MTAs against the scripted sink
(tools/smtp_sink.py): `<case>.log` + `<case>.sink.jsonl` (what the sink
answered) + `<case>.scenario.json` (what was sent). Every (message,
recipient) of the scenario must get exactly the SPEC's events."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from emaillog.config import Config

# SPEC §2a for the sink's canned refusals (tools/smtp_sink.py), by enhanced
# code and a word of the text: (event, bounce_class, allowed reasons).
REFUSALS = [
    ("5.1.1", "", ("hard_bounced", "permanent", {"user_unknown"})),
    ("5.2.1", "", ("hard_bounced", "permanent", {"mailbox_disabled"})),
    ("5.7.1", "blocked using", ("hard_bounced", "spam_block", {"blocklisted"})),
    ("5.7.1", "spam", ("hard_bounced", "spam_block", {"spam_content"})),
    ("5.3.4", "", ("hard_bounced", "technical", {"message_too_large"})),
    # A 5xx mailbox-full reply is soft by SPEC. Some MTAs bounce it at once,
    # others treat 552 at RCPT as temporary (RFC 5321 4.5.3.1.10) and retry
    # until their queue lifetime ends.
    ("5.2.2", "", ("soft_bounced", None, {"mailbox_full", "expired"})),
]


def expected_refusal(answer: dict):
    for dsn, word, outcome in REFUSALS:
        if answer["dsn"] == dsn and word in answer["text"]:
            return outcome
    raise AssertionError(f"no SPEC outcome written down for the sink's answer {answer}")


def deferrals_before_delivery(answers: list[dict]) -> dict[str, int]:
    """message id -> the 4xx answers the sink gave that recipient since its
    previous delivery: the retries the MTA made for that message."""
    counts, pending = {}, 0
    for a in sorted(answers, key=lambda a: a["ts"]):
        if 400 <= a["code"] < 500:
            pending += 1
        elif a["stage"] == "data" and a["code"] == 250:
            counts[a["message_id"]], pending = pending, 0
    return counts


def captures(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.log")
                  if p.with_suffix(".sink.jsonl").exists() and p.with_suffix(".scenario.json").exists())


def load(capture: Path):
    scenario = json.loads(capture.with_suffix(".scenario.json").read_text())
    sink = [json.loads(line) for line in capture.with_suffix(".sink.jsonl").read_text().splitlines() if line.strip()]
    return scenario, sink


def with_retry_ends(store, events):
    """Mark each soft bounce with how its retries ended (`retry_end`: the
    latest reason, `expired` when the MTA gave up), from the retry state."""
    from emaillog.config import Config
    from emaillog.state import StateQueries
    ends = {r.event_id: r.last_reason for r in
            StateQueries(store, Config()).retries("2099-01-01T00:00:00Z", include_given_up=True)}
    for e in events:
        if e["type"] == "soft_bounced":
            e["retry_end"] = ends.get(e["id"])
    return events


def by_message_id(store) -> dict:
    events = defaultdict(list)
    for e in with_retry_ends(store, store.events()):
        events[(e["message_id"], e["person"])].append(e)
    return events


def expected_campaign(message: dict, header_logged: bool) -> str | None:
    verp = Config().campaign_from_sender(message["envelope_sender"])
    if header_logged and message.get("campaign_header"):
        return message["campaign_header"]
    return verp


def check_every_message_and_recipient(scenario, sink, events, *, header_logged: bool) -> Counter:
    """events: {(scenario Message-ID, person): [event rows]}. The expected
    outcome of each (message, recipient) comes from the sink's own record of
    what it answered, not from what the scenario meant to happen. Returns the
    count of checked recipients by outcome."""
    aliases = {k.lower(): v for k, v in scenario.get("aliases", {}).items()}
    appearances = Counter(r["address"].lower() for m in scenario["messages"] for r in m["recipients"])
    checked = Counter()
    for message in scenario["messages"]:
        for rcpt in message["recipients"]:
            person = rcpt["address"].lower()
            behaviour = rcpt["behaviour"]
            got = events.get((message["message_id"], person), [])
            kinds = Counter(e["type"] for e in got)
            where = f"{message['message_id']} -> {person} ({behaviour}): {dict(kinds)}"
            if behaviour == "local_reject":
                assert not got, f"{where}: rejected by our own server, never sent"
                continue
            assert kinds["sent"] == 1, where
            target = aliases.get(person, person).lower()
            answers = [a for a in sink if a["recipient"].lower() == target]
            data_ok = [a for a in answers if a["stage"] == "data" and a["code"] == 250
                       and a["message_id"] == message["message_id"]]
            assert kinds["delivered"] == len(data_ok) <= 1, where
            soft = [e for e in got if e["type"] == "soft_bounced"]
            hard = [e for e in got if e["type"] == "hard_bounced"]
            refusals = [a for a in answers if a["code"] >= 500 and a["message_id"] in (None, message["message_id"])]
            once = appearances[person] == 1
            if data_ok:
                # Delivered; soft first if the sink deferred it (a greylister
                # lets a sender through once it retried, so a later message
                # may pass at once).
                retried = deferrals_before_delivery(answers).get(message["message_id"], 0)
                assert not hard and len(soft) == (1 if retried else 0), where
                if retried:
                    assert soft[0]["attempts"] == retried, f"{where}: {soft[0]['attempts']} vs sink {retried}"
                    if behaviour == "grey":
                        assert soft[0]["reason"] == "greylisted", where
                checked["delivered"] += 1
            elif refusals and once:
                event, bounce_class, reasons = expected_refusal(refusals[-1])
                [bounce] = hard if event == "hard_bounced" else soft
                assert not (soft if event == "hard_bounced" else hard), where
                assert bounce["bounce_class"] == bounce_class, f"{where}: {bounce['bounce_class']}"
                assert bounce["reason"] in reasons, f"{where}: {bounce['reason']} {bounce['detail']}"
                if bounce["reason"] != "expired":
                    assert bounce["dsn"] == refusals[-1]["dsn"], where
                    assert bounce["smtp_code"] in (refusals[-1]["code"], None), where
                checked[event] += 1
            elif refusals:
                assert len(hard) + len(soft) == 1, where  # one outcome; which refusal is ambiguous
            else:
                # Never accepted, never refused: deferred (or unreachable)
                # until the MTA gave up.
                assert not hard and len(soft) == 1, where
                assert soft[0]["retry_end"] == "expired", f"{where}: the MTA gave up ({soft[0]['retry_end']})"
                if once and behaviour != "refused":
                    temp = [a for a in answers if 400 <= a["code"] < 500]
                    assert soft[0]["attempts"] == len(temp), f"{where}: {soft[0]['attempts']} vs sink {len(temp)}"
                checked["expired"] += 1
            want = expected_campaign(message, header_logged)
            assert all(e["campaign"] == want for e in got), f"{where}: campaign {[e['campaign'] for e in got]} != {want}"
    return checked
