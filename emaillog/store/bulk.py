"""Many rows at once: the writer's inserts, upserts, updates and deletes.

On SQLite a prepared statement run per row is as fast as it gets (no round
trips). On PostgreSQL a batch of rows goes in with COPY into a staging
table, then one `INSERT ... SELECT ... ON CONFLICT` (or `UPDATE ... FROM`,
`DELETE ... USING`) moves them into the real table: one statement per table
instead of one per row. The staging tables are temporary, made in the
transaction that uses them (so a pooled or restarted connection never
misses one) and emptied when it commits. Few rows are not worth the extra
statements; they go in one by one in a pipeline.
"""

from __future__ import annotations

from .dialect import POSTGRES, dialect_of

STAGE_MIN = 32  # rows from which COPY staging pays on PostgreSQL


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _unique(rows, key: int | tuple[int, ...] | None) -> list:
    """The rows with one per key, the last one kept: one statement cannot
    change a row twice, where one statement per row would just overwrite."""
    if key is None:
        return list(rows)
    if isinstance(key, int):
        return list({r[key]: r for r in rows}.values())
    return list({tuple(r[i] for i in key): r for r in rows}.values())


def _staged(conn, rows) -> bool:
    return dialect_of(conn) is POSTGRES and len(rows) >= STAGE_MIN


def _stage(conn, table: str, columns: tuple[str, ...], rows) -> str:
    """The rows in this transaction's staging copy of `table`; its name.
    The copy has every column of the table (without its constraints): it
    lives as long as the session, and callers stage different columns."""
    stage = f"stage_{table}"
    conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "
                 f"SELECT * FROM {table} WITH NO DATA")
    conn.execute(f"TRUNCATE {stage}")
    conn.copy_rows(stage, columns, rows)
    return stage


def insert(conn, table: str, columns: tuple[str, ...], rows, *, tail: str = "", key=None,
           order: str = "") -> None:
    """INSERT the rows; `tail` is an ON CONFLICT clause. `key`, the column
    index(es) of a DO UPDATE conflict, keeps the last row of each key (not
    for additive upserts: give those one row per key). `order` is the order
    rows are written in (hosts writing the same rows lock them alike)."""
    rows = _unique(rows, key)
    if not rows:
        return
    cols = ", ".join(columns)
    if _staged(conn, rows):
        stage = _stage(conn, table, columns, rows)
        conn.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage}"
                     + (f" ORDER BY {order}" if order else "") + (f" {tail}" if tail else ""))
    else:
        conn.executemany(f"INSERT INTO {table} ({cols}) VALUES ({_marks(len(columns))})"
                         + (f" {tail}" if tail else ""), rows)


def update(conn, table: str, columns: tuple[str, ...], rows) -> None:
    """UPDATE whole rows by their first column (the id)."""
    rows = _unique(rows, 0)
    if not rows:
        return
    id_, rest = columns[0], columns[1:]
    if _staged(conn, rows):
        stage = _stage(conn, table, columns, rows)
        conn.execute(f"UPDATE {table} SET ({', '.join(rest)}) = ({', '.join(f's.{c}' for c in rest)}) "
                     f"FROM {stage} s WHERE {table}.{id_} = s.{id_}")
    else:
        conn.executemany(f"UPDATE {table} SET ({', '.join(rest)}) = ({_marks(len(rest))}) WHERE {id_} = ?",
                         [(*r[1:], r[0]) for r in rows])


def delete(conn, table: str, column: str, keys) -> None:
    """DELETE the rows whose `column` is one of `keys`."""
    rows = [(k,) for k in dict.fromkeys(keys)]
    if not rows:
        return
    if _staged(conn, rows):
        stage = _stage(conn, table, (column,), rows)
        conn.execute(f"DELETE FROM {table} USING {stage} s WHERE {table}.{column} = s.{column}")
    else:
        conn.executemany(f"DELETE FROM {table} WHERE {column} = ?", rows)
