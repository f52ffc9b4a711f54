"""The public ESP payloads of ../shared/corpus/esp (see its MANIFEST.md):
each file is detected as its ESP, no line crashes or goes missing, and what
the source documents about a payload holds. Skips when the corpus is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from emaillog import formats

CORPUS = Path(__file__).parents[1].parent / "shared" / "corpus" / "esp"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present (../shared/corpus/esp)")

# file -> (format, lines we expect to be rejected: trimmed test payloads
# without any timestamp or recipient)
FILES = {
    "ses.jsonl": ("ses", 2),
    "ses-sns-envelope.jsonl": ("ses", 0),
    "sendgrid.jsonl": ("sendgrid", 0),
    "mailgun.jsonl": ("mailgun", 1),
    "postmark.jsonl": ("postmark", 1),
}


@pytest.mark.parametrize("name", FILES)
def test_detected_and_every_line_accounted(name, ingest):
    fmt, rejects = FILES[name]
    path = CORPUS / name
    head = path.read_text().splitlines()[:50]
    module, why = formats.detect(head)
    assert module is not None and module.NAME == fmt, why
    store, summary = ingest([path])
    assert summary.problems == []
    assert summary.rejected == rejects, store.rejects()
    assert sum(summary.events_added.values()) > 0


def by(events, **want):
    return [e for e in events if all(e.get(k) == v for k, v in want.items())]


def test_ses_documented_cases(ingest):
    store, _ = ingest([CORPUS / "ses.jsonl"])
    events = store.events()
    bounce = by(events, type="hard_bounced", person="recipient@example.com")
    assert bounce and bounce[0]["bounce_class"] == "permanent" and bounce[0]["reason"] == "user_unknown"
    assert by(events, type="soft_bounced", reason="connection")          # DeliveryDelay 421 4.4.1
    assert by(events, type="complained", person="recipient@example.com")
    assert by(events, type="unsubscribed", person="recipient@example.com")  # Subscription unsubscribeAll
    assert by(events, type="clicked")[0]["url"].startswith("http")
    # The docs show the same open twice (event publishing via SNS and via Firehose): one open.
    assert len(by(events, type="opened", email="Message sent from Amazon SES")) == 1
    # Reject and Rendering Failure records were never sent: no event at all for them.
    assert not by(events, type="sent", message_id="EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
                  person="jo@example.com")


def test_ses_sns_envelope_matches_the_bare_records(ingest):
    store, summary = ingest([CORPUS / "ses-sns-envelope.jsonl"])
    events = store.events()
    assert by(events, type="hard_bounced", person="jane@example.com")
    assert by(events, type="complained", person="richard@example.com")
    assert by(events, type="delivered", person="jane@example.com")


def test_sendgrid_documented_cases(ingest):
    store, _ = ingest([CORPUS / "sendgrid.jsonl"])
    events = store.events()
    assert not by(events, person="invalid@invalid")                   # dropped: never sent
    assert not by(events, person="unsubscribe@example.com")
    assert by(events, type="hard_bounced", person="noreply@example.com")[0]["reason"] == "user_unknown"
    assert by(events, type="soft_bounced", person="recipient@example.com")
    assert by(events, type="opened", person="email@example.com", machine="image_proxy")  # GoogleImageProxy
    assert by(events, type="complained") and by(events, type="unsubscribed")
    assert by(events, person="recipient@example.com", type="sent", campaign="tag1")  # first category


def test_mailgun_documented_cases(ingest):
    store, _ = ingest([CORPUS / "mailgun.jsonl"])
    events = store.events()
    assert by(events, type="hard_bounced", person="invalid@example.com")[0]["reason"] == "user_unknown"
    assert by(events, type="soft_bounced", person="undeliverable@mx.example.com")[0]["reason"] == "greylisted"
    assert by(events, type="soft_bounced", person="test@test.com")                  # 451 4.7.652 temporary
    assert not by(events, type="sent", person="john@example.com", message_id=None)
    assert by(events, type="complained", person="recipient@example.com")
    assert by(events, type="unsubscribed", person="recipient@example.com")
    # The suppress-bounce failure (never sent) and the rejected message made no event.
    assert not by(events, person="recipient@example.org")


def test_postmark_documented_cases(ingest):
    store, _ = ingest([CORPUS / "postmark.jsonl"])
    events = store.events()
    assert by(events, type="hard_bounced", person="bounce@example.com")[0]["reason"] == "user_unknown"
    assert by(events, type="delivered", person="recipient@example.com", campaign="welcome-email")
    assert by(events, type="complained", person="spam@example.com")
    assert len(by(events, type="unsubscribed", person="john@example.com")) == 1  # resubscribe/hard-bounce ones skipped
