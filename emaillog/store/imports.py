"""Storing an imported suppression list (`emaillog suppress --import`).

Every record becomes a manual suppression event, all in one transaction,
except for an address that was forgotten (`emaillog forget`): its record is
kept under the address's hash with the other suppressions kept for it, so
that a routine import of a provider's list never brings an erased address
back into the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .codec import hash63


@dataclass
class Imported:
    added: int = 0        # new suppressions
    known: int = 0        # already recorded (the same record imported before)
    forgotten: int = 0    # of the added: kept under a forgotten person's hash


def record_imports(store, records, *, file_name: str, actor: str, config, now: datetime) -> Imported:
    from ..exchange.importing import as_events, event_key
    from .forget import address_hash, forgotten_hashes
    result = Imported()
    with store.transaction():
        conn = store.conn
        hashes = forgotten_hashes(conn)
        kept, stored = [], []
        for record in records:
            digest = address_hash(conn, record.address) if hashes else None
            (kept if digest in hashes else stored).append((record, digest))
        if stored:
            batch = store.writer(config).write([], as_events([r for r, _ in stored], file_name=file_name,
                                                             actor=actor, now=now))
            result.added += sum(batch.added.values())
            result.known += batch.known
        names = store.writer(config) if kept else None
        for record, digest in kept:
            scope = None if record.scope is None else names.name("campaign", record.scope)
            since = _seconds(record.since) or int(now.timestamp())
            added = conn.execute(
                "INSERT INTO forgotten_suppressions (hash, scope, reason, since, until, valid_from, key, forgotten) "
                "VALUES (?, ?, 5, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (digest, scope, since, _seconds(record.until), since, hash63(event_key(record)),
                 int(now.timestamp()))).rowcount
            result.added += added
            result.forgotten += added
            result.known += 1 - added
    return result


def _seconds(text: str | None) -> int | None:
    return None if text is None else int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
