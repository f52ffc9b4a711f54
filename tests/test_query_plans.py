"""The queries of a big ingest and of `stats` are answered from the indexes
SQLite's planner says it uses (EXPLAIN QUERY PLAN), not by reading the big
tables whole: at 10 M events one such scan per batch made an ingest 2.5x
slower, and reading the sends table for every soft bounce made `stats`
take seconds. No timing: the plans are what is checked."""

from __future__ import annotations

import re

from conftest import ROOT, run_ingest
from emaillog.config import Config
from emaillog.stats import Filters, campaign_stats
from emaillog.store.writer import Writer

SAMPLE = ROOT / "sample_logs"


def plan(conn, sql: str, params) -> list[str]:
    return [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]


class Recording:
    """The connection, remembering each statement and its parameters."""

    def __init__(self, conn):
        self.conn, self.statements = conn, []

    def execute(self, sql, params=()):
        self.statements.append((sql, params))
        return self.conn.execute(sql, params)

    def __getattr__(self, name):
        return getattr(self.conn, name)


def test_a_stored_send_or_action_is_found_by_a_search_of_its_index(tmp_path):
    store, _ = run_ingest(tmp_path / "db", [SAMPLE])
    try:
        writer = Writer(store.conn, Config())
        sends = plan(store.conn, writer._pairs_sql("sends", "id", "person", "mkey", 3), [1, 2] * 3)
        assert any("SEARCH" in step and "sends_person" in step for step in sends), sends
        assert not any(re.match(r"SCAN (sends|t)\b", step) for step in sends), sends
        actions = plan(store.conn, writer._pairs_sql("actions", "*", "person", "key", 3), [1, 2] * 3)
        assert any("SEARCH" in step and "actions_key" in step for step in actions), actions
    finally:
        store.close()


def test_stats_reads_no_send_but_through_the_index_of_hard_bounces(tmp_path):
    store, _ = run_ingest(tmp_path / "db", [SAMPLE])
    try:
        recording = Recording(store.conn)
        store.conn = recording
        campaign_stats(store, Config(), "2026-12-31T00:00:00Z", Filters())
        store.conn = recording.conn
        assert recording.statements
        for sql, params in recording.statements:
            for step in plan(store.conn, sql, params):
                if re.match(r"(SCAN|SEARCH) (sends|s)\b", step):  # the hard bounces' index only
                    assert "USING COVERING INDEX sends_reasons" in step, (sql, step)
                assert not re.match(r"(SCAN|SEARCH) (persons|p)\b", step), (sql, step)
    finally:
        store.close()
