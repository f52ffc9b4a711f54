"""A wrong option value is a usage error: exit 2 and one sentence that says
what a right one looks like, never an internal error."""

from __future__ import annotations

import pytest

from emaillog.store import Store
from test_bad_environments import run_main

BAD = [
    # (arguments, words the sentence must contain)
    (["ingest", "--year", "26", "mail.log"], ["four digits", "2026"]),
    (["ingest", "--year", "0", "mail.log"], ["four digits"]),
    (["ingest", "--year", "20260", "mail.log"], ["four digits"]),
    (["ingest", "--tz", "Nowhere/Else", "mail.log"], ["Europe/Berlin"]),
    (["ingest", "--tz", "America", "mail.log"], ["Europe/Berlin"]),  # a directory of zones
    (["person", "ann@example.com", "--at", "garbage"], ["ISO 8601"]),
    (["check", "ann@example.com", "--at", "0026-01-01T00:00Z"], ["four digits"]),
    (["events", "--since", "-99999999999d"], ["out of range"]),
    (["events", "--since", "0001-01-01T00:00+01:00"], ["out of range"]),
    (["stats", "--at", "-9999999d"], ["out of range"]),
    (["retries", "--at", "9999-12-31T23:59-05:00"], ["out of range"]),
    (["suppress", "ann@example.com", "--note", "n", "--until", "+99999999999999d"], ["out of range"]),
    (["stats", "--top", "0"], ["--top", "at least 1"]),
    (["stats", "--top", "100000000000000000000"], ["--top", "too large"]),
    (["events", "--limit", "100000000000000000000"], ["--limit", "too large"]),
    (["rejects", "--limit", "100000000000000000000"], ["--limit", "too large"]),
]


@pytest.mark.parametrize("args,words", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_a_bad_option_value_is_a_usage_error(tmp_path, monkeypatch, capsys, args, words):
    db = tmp_path / "e.db"
    Store(db).close()
    code, out, err = run_main(monkeypatch, capsys, "--db", db, *args)
    assert code == 2, err
    assert err.startswith("emaillog: ") and len(err.strip().splitlines()) == 1, err
    assert "internal error" not in err
    for word in words:
        assert word in err


def test_a_good_year_is_taken(tmp_path, monkeypatch, capsys):
    from conftest import LOGS
    code, out, err = run_main(monkeypatch, capsys, "--db", tmp_path / "e.db", "ingest", "--json", "--year", "2026",
                              "--tz", "UTC", LOGS / "postfix" / "scenario.log")
    assert code is None or code == 0, err
    assert '"events_added_total": 0' not in out
