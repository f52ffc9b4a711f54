"""Golden ESP payloads: tests/logs/esp/<case>.jsonl (our own payloads,
written from each ESP's documented webhook/event schema) must give exactly
the events in <case>.json. Drop a new pair in the folder and it is tested.

To (re)write an expected file after a deliberate change, run with
EMAILLOG_REGOLD=1 and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

LOGS = Path(__file__).parent / "logs" / "esp"
FIELDS = ("type", "ts", "person", "campaign", "email", "message_id", "source_format", "bounce_class",
          "reason", "smtp_code", "dsn", "url", "machine", "attempts", "note")
CASES = sorted(LOGS.glob("*.jsonl"))


def summary(events: list[dict]) -> list[dict]:
    return [{k: e[k] for k in FIELDS if e.get(k) is not None} for e in events]


@pytest.mark.parametrize("log", CASES, ids=[c.stem for c in CASES])
def test_golden(log, ingest):
    store, result = ingest([log])
    assert result.problems == []
    got = summary(store.events())
    expected_file = log.with_suffix(".json")
    if os.environ.get("EMAILLOG_REGOLD"):
        expected_file.write_text(json.dumps(got, indent=1) + "\n")
    assert got == json.loads(expected_file.read_text())


@pytest.mark.parametrize("log", CASES, ids=[c.stem for c in CASES])
def test_golden_is_idempotent(log, ingest, tmp_path):
    """The same records read again (as another file) add nothing: every
    event's key is a function of the record."""
    store, _ = ingest([log])
    first = store.events()
    again_file = tmp_path / f"again-{log.name}"
    again_file.write_text("{}\n" + log.read_text())  # a new first line: read as a new file
    _, again = ingest([again_file], format=log.stem)
    assert sum(again.events_added.values()) == 0
    assert again.events_known > 0
    assert len(store.events()) == len(first)
