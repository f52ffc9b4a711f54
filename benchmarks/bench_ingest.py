"""Ingest benchmark: `wc -l` (the I/O floor), `pflogsumm` (the peer) and
`emaillog ingest` on the same generated Postfix log, in one run, reported as
lines/s, ratios and peak RSS; then the cron case (nothing new), `person`,
`suppressed`, `retries` and `--help`. It also checks correctness at scale:
the stored events must match the generator's truth.

    python benchmarks/bench_ingest.py --messages 300000     # full mode, by hand
    python benchmarks/bench_ingest.py --small               # CI: correctness only

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


def emaillog() -> list[str]:
    exe = shutil.which("emaillog")
    return [exe] if exe else [sys.executable, "-m", "emaillog"]


def timed(cmd: list[str], env=None) -> tuple[float, int | None, subprocess.CompletedProcess]:
    """Wall time and peak RSS (kB, from /usr/bin/time -v when present)."""
    gnu_time = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None
    full = [gnu_time, "-v", *cmd] if gnu_time else cmd
    start = time.perf_counter()
    proc = subprocess.run(full, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    rss = None
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    if m:
        rss = int(m.group(1))
    return wall, rss, proc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=300_000)
    ap.add_argument("--small", action="store_true", help="2,000 messages, correctness only")
    ap.add_argument("--keep", help="directory to keep the log and database in")
    args = ap.parse_args()
    messages = 2_000 if args.small else args.messages

    work = Path(args.keep or tempfile.mkdtemp(prefix="emaillog-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    log, db = work / "mail.log", work / "bench.db"
    for stale in work.glob("bench.db*"):
        stale.unlink()
    t0 = time.perf_counter()
    truth = generate(str(log), messages, seed=2026)
    print(f"generated {truth['lines']:,} lines ({messages:,} messages) in {time.perf_counter() - t0:.1f}s: {log}")
    env = {**os.environ, "EMAILLOG_DB": str(db), "EMAILLOG_CONFIG": "", "TZ": "UTC"}
    lines = truth["lines"]
    rows = []

    def record(name, wall, rss, note=""):
        rows.append((name, wall, lines / wall if wall else 0, rss, note))

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

    ok = check(db, truth)
    if not args.small:
        for name, cmd in [
            ("ingest, nothing new", ["ingest", "--quiet", str(log)]),
            ("person", ["person", "user12345@example.com"]),
            ("suppressed --format csv", ["suppressed", "--format", "csv"]),
            ("retries --format csv", ["retries", "--format", "csv"]),
            ("--help", ["--help"]),
        ]:
            wall, rss, _ = timed([*emaillog(), *cmd], env)
            rows.append((name, wall, None, rss, "whole command"))
    report(rows, lines)
    print("correctness:", "OK" if ok else "MISMATCH")
    return 0 if ok else 1


def check(db: Path, truth: dict) -> bool:
    conn = sqlite3.connect(db)
    got = dict(conn.execute("SELECT type, count(*) FROM events GROUP BY type"))
    attempts = conn.execute("SELECT coalesce(sum(attempts), 0) FROM events WHERE type = 'soft_bounced' "
                            "AND coalesce(smtp_code, 0) < 500").fetchone()[0]
    conn.close()
    want = {k: truth[k] for k in ("sent", "delivered", "hard_bounced", "soft_bounced")}
    print("events:", json.dumps(got), "truth:", json.dumps(want))
    ok = all(got.get(k, 0) == v for k, v in want.items())
    if attempts != truth["soft_attempts"]:
        print(f"soft-bounce attempts: {attempts} stored, {truth['soft_attempts']} in the log")
        ok = False
    return ok


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
