"""store/bulk.py: many rows at once. On PostgreSQL they are staged by COPY
in a temporary table that outlives the transaction, so one table staged
for a delete (one column) and then for an insert (all of them) must work."""

from __future__ import annotations

from emaillog.store import Store
from emaillog.store.bulk import STAGE_MIN, delete, insert

COLUMNS = ("key", "last_ts", "state")
UPSERT = "ON CONFLICT (key) DO UPDATE SET last_ts = excluded.last_ts, state = excluded.state"


def test_a_table_staged_for_a_delete_then_for_an_insert(database):
    store = Store(database)
    try:
        n = STAGE_MIN + 8
        with store.transaction():
            delete(store.conn, "open_messages", "key", [f"k{i}" for i in range(n)])
        with store.transaction():
            insert(store.conn, "open_messages", COLUMNS, [(f"k{i}", i, "{}") for i in range(n)], tail=UPSERT, key=0)
        with store.transaction():
            insert(store.conn, "open_messages", COLUMNS, [(f"k{i}", i + 1, "{}") for i in range(n)], tail=UPSERT, key=0)
            delete(store.conn, "open_messages", "key", [f"k{i}" for i in range(0, n, 2)])
        rows = sorted((k, int(ts)) for k, ts in store.conn.execute("SELECT key, last_ts FROM open_messages"))  # TEXT in SQLite
        assert rows == sorted((f"k{i}", i + 1) for i in range(1, n, 2))
    finally:
        store.close()
