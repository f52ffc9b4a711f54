"""Ingest benchmark: `wc -l` (the I/O floor), `pflogsumm` (the peer) and
`emaillog ingest` on the same generated Postfix log, in one run, reported as
lines/s, ratios and peak RSS; then the cron case (nothing new), the reading
commands against `emaillog --help`, and the store's bytes per event. It also
checks correctness at scale: the stored events must match the generator's
truth.

    python benchmarks/bench_ingest.py --messages 300000     # full mode, by hand
    python benchmarks/bench_ingest.py --small               # CI: correctness only
    python benchmarks/bench_ingest.py --keep DIR --queries  # the reading commands again, on DIR's database

Exits 1 when the events do not match the truth. Never asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_postfix import generate  # noqa: E402

AT = "2026-12-31T00:00:00Z"  # after everything the generator writes


def emaillog() -> list[str]:
    exe = shutil.which("emaillog")
    return [exe] if exe else [sys.executable, "-m", "emaillog"]


def timed(cmd: list[str], env=None, runs: int = 1) -> tuple[float, int | None, subprocess.CompletedProcess]:
    """Best wall time of `runs` and its peak RSS (kB, from /usr/bin/time -v when present)."""
    gnu_time = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None
    full = [gnu_time, "-v", *cmd] if gnu_time else cmd
    best = None
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(full, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - start
        rss = None
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        if m:
            rss = int(m.group(1))
        if best is None or wall < best[0]:
            best = (wall, rss, proc)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=300_000)
    ap.add_argument("--small", action="store_true", help="2,000 messages, correctness only")
    ap.add_argument("--keep", help="directory to keep the log and database in")
    ap.add_argument("--runs", type=int, default=3, help="runs of each reading command (the best is reported)")
    ap.add_argument("--queries", action="store_true",
                    help="with --keep: time the reading commands on the database kept there (no ingest)")
    args = ap.parse_args()
    messages = 2_000 if args.small else args.messages
    if args.queries and not (args.keep and (Path(args.keep) / "bench.db").exists()):
        ap.error("--queries needs --keep DIR holding bench.db from an earlier run")

    work = Path(args.keep or tempfile.mkdtemp(prefix="emaillog-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    log, db = work / "mail.log", work / "bench.db"
    for stale in ([] if args.queries else work.glob("bench.db*")):
        stale.unlink()
    t0 = time.perf_counter()
    truth_file = work / f"truth-{messages}.json"
    if log.exists() and truth_file.exists():
        truth = json.loads(truth_file.read_text())
        print(f"reusing {log} ({truth['lines']:,} lines)")
    else:
        truth = generate(str(log), messages, seed=2026)
        truth_file.write_text(json.dumps(truth))
        print(f"generated {truth['lines']:,} lines ({messages:,} messages) in {time.perf_counter() - t0:.1f}s: {log}")
    env = {**os.environ, "EMAILLOG_DB": str(db), "EMAILLOG_CONFIG": "", "TZ": "UTC"}
    lines = truth["lines"]
    rows = []

    def record(name, wall, rss, note=""):
        rows.append((name, wall, lines / wall if wall else 0, rss, note))

    if not args.queries:
        wall, rss, _ = timed(["wc", "-l", str(log)])
        record("wc -l", wall, rss, "I/O floor")
        if shutil.which("pflogsumm") and not args.small:
            wall, rss, _ = timed(["pflogsumm", str(log)])
            record("pflogsumm", wall, rss, "peer (summarises, stores nothing)")
        wall, rss, proc = timed([*emaillog(), "ingest", "--quiet", str(log)], env)
        if proc.returncode:
            print(proc.stderr)
            return 1
        record("emaillog ingest", wall, rss, "read, parse, correlate, classify, store")

    ok, events = check(db, truth)
    size = sum(p.stat().st_size for p in work.glob("bench.db*") if not p.name.endswith(".lock"))
    if not args.small:
        help_wall = None
        for name, cmd in [
            ("ingest, nothing new", ["ingest", "--quiet", str(log)]),
            ("--help", ["--help"]),
            ("person", ["person", "user12345@example.com", "--at", AT]),
            ("check", ["check", "user12345@example.com", "--at", AT]),
            ("stats", ["stats", "--at", AT]),
            ("suppressed", ["suppressed", "--at", AT]),
            ("retries", ["retries", "--at", AT]),
            ("suppressed --format csv", ["suppressed", "--format", "csv", "--at", AT]),
            ("retries --format csv", ["retries", "--include-given-up", "--format", "csv", "--at", AT]),
        ]:
            wall, rss, _ = timed([*emaillog(), *cmd], env, runs=args.runs)
            if name == "--help":
                help_wall = wall
            note = f"{wall / help_wall:.1f}x --help" if help_wall and name != "--help" else "whole command"
            rows.append((name, wall, None, rss, note))
    report(rows, lines)
    print(f"store: {size / 1e6:.1f} MB for {events:,} events = {size / events:.0f} bytes per event")
    print("correctness:", "OK" if ok else "MISMATCH")
    return 0 if ok else 1


def check(db: Path, truth: dict) -> tuple[bool, int]:
    conn = sqlite3.connect(db)
    got = {"sent": conn.execute("SELECT count(*) FROM sends").fetchone()[0],
           "delivered": conn.execute("SELECT count(*) FROM sends WHERE outcome = 1").fetchone()[0]
           + conn.execute("SELECT count(*) FROM actions WHERE type = 1").fetchone()[0],
           "hard_bounced": conn.execute("SELECT count(*) FROM sends WHERE outcome > 1").fetchone()[0]
           + conn.execute("SELECT count(*) FROM actions WHERE type = 2").fetchone()[0],
           "soft_bounced": conn.execute("SELECT count(*) FROM soft_bounces").fetchone()[0]}
    attempts = conn.execute("SELECT coalesce(sum(attempts), 0) FROM soft_bounces "
                            "WHERE coalesce(code, 0) < 500").fetchone()[0]
    events = sum(got.values()) + conn.execute("SELECT count(*) FROM actions WHERE type NOT IN (1, 2)").fetchone()[0]
    conn.close()
    want = {k: truth[k] for k in ("sent", "delivered", "hard_bounced", "soft_bounced")}
    print("events:", json.dumps(got), "truth:", json.dumps(want))
    ok = got == want
    if attempts != truth["soft_attempts"]:
        print(f"soft-bounce attempts: {attempts} stored, {truth['soft_attempts']} in the log")
        ok = False
    return ok, events


def report(rows, lines: int) -> None:
    base = {name: rate for name, _, rate, _, _ in rows if rate}
    print(f"\n{'step':26} {'seconds':>8} {'lines/s':>12} {'vs pflogsumm':>13} {'peak RSS':>10}  note")
    for name, wall, rate, rss, note in rows:
        ratio = f"{rate / base['pflogsumm']:.2f}x" if rate and "pflogsumm" in base else ""
        print(f"{name:26} {wall:8.3f} {f'{rate:,.0f}' if rate else '':>12} {ratio:>13} "
              f"{f'{rss / 1024:.0f} MB' if rss else '':>10}  {note}")
    print(f"({lines:,} lines)")


if __name__ == "__main__":
    sys.exit(main())
