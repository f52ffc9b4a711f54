"""Fleet benchmark: N mail servers' Postfix logs into one database, both ways,
in one run. (a) One `emaillog ingest` of all N files into a fresh SQLite file
(one writer: the single-machine store). (b) N `emaillog ingest` processes at
once, one per host (EMAILLOG_HOST=mx1..mxN), each reading its own server's log
into one fresh PostgreSQL schema. Reported: aggregate lines/s of each, the
ratio (b)/(a) run by run, client CPU, how busy the machine was, peak RSS and
each store's size per event. It also checks that both stores answer
`emaillog stats --json` alike and that their counts match the generator's
truth.

    python benchmarks/bench_fleet.py --hosts 4 --lines 300000     # by hand
    python benchmarks/bench_fleet.py --small                      # CI: correctness only

Each host's log comes from generate_postfix.py with a seed of its own, so
message and queue ids differ as they do between servers. "Fresh" means
created (by an ingest of nothing, not timed) and empty. PostgreSQL is
--db-url (default a bare postgresql://: the PG* variables and ~/.pgpass);
the benchmark creates a schema of its own there for each run and drops it
at the end (--keep keeps the last one). Only the emaillog command line is
used, never its modules. Exits 1 when the stores disagree or miss the
truth. Never asserts on time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_postfix import generate  # noqa: E402

AT = "2026-12-31T00:00:00Z"  # after everything the generator writes
LINES_PER_MESSAGE = 9.57  # what generate_postfix writes on average (2,870,211 lines for 300,000)


def emaillog() -> list[str]:
    """The console script beside this Python (the venv being measured), else on PATH."""
    beside = Path(sys.executable).with_name("emaillog")
    if beside.exists():
        return [str(beside)]
    exe = shutil.which("emaillog")
    return [exe] if exe else [sys.executable, "-m", "emaillog"]


def compiled() -> bool | None:
    """Whether the emaillog being measured is the compiled build (any extension module in it)."""
    probe = ("import emaillog, pathlib; "
             "print(any(any(pathlib.Path(p).rglob('*.so')) for p in emaillog.__path__))")
    python = Path(emaillog()[0]).with_name("python")
    proc = subprocess.run([str(python) if python.exists() else sys.executable, "-c", probe],
                          capture_output=True, text=True)
    return {"True": True, "False": False}.get(proc.stdout.strip())


def timed(cmd: list[str], env: dict, stdin=subprocess.DEVNULL) -> dict:
    """One run: wall seconds, peak RSS (kB, from /usr/bin/time -v when present), the process."""
    gnu_time = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None
    full = [gnu_time, "-v", *cmd] if gnu_time else cmd
    start = time.perf_counter()
    proc = subprocess.run(full, capture_output=True, text=True, env=env, stdin=stdin)
    wall = time.perf_counter() - start
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    return {"wall": wall, "rss": int(m.group(1)) if m else None, "proc": proc}


def cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies of all processors, from /proc/stat (Linux)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def _stat(pid: int | str) -> list[str]:
    """The fields of /proc/PID/stat after the command name (field 3 is [0])."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2:].split()


class ServerCpu:
    """CPU seconds used by a PostgreSQL server on this machine: the postmaster,
    its live processes and those it has reaped. None when the server runs
    elsewhere (or /proc does not show it). All its sessions count, not only ours."""

    def __init__(self, backend_pid: int | None):
        self.postmaster = None
        try:
            self.postmaster = int(_stat(backend_pid)[1])
        except (OSError, ValueError, IndexError, TypeError):
            pass

    def seconds(self) -> float | None:
        if self.postmaster is None:
            return None
        try:
            own = _stat(self.postmaster)
            ticks = sum(int(v) for v in own[11:15])  # utime, stime, cutime, cstime
        except (OSError, ValueError):
            return None
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = _stat(entry.name)
                    if int(fields[1]) == self.postmaster:
                        ticks += int(fields[11]) + int(fields[12])
                except (OSError, ValueError, IndexError):
                    continue  # ended meanwhile: the postmaster's cutime has it
        return ticks / os.sysconf("SC_CLK_TCK")


class Phase:
    """Wall time, the CPU seconds of the processes it ran (they must all end
    inside it), those of the PostgreSQL server when given, and the share of
    the whole machine that was busy meanwhile (whoever kept it busy)."""

    def __init__(self, server: ServerCpu | None = None):
        self.server = server

    def __enter__(self):
        self.ticks = cpu_ticks()
        self.children = os.times()
        self.server_before = self.server.seconds() if self.server else None
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.start
        after = os.times()
        self.cpu = (after.children_user - self.children.children_user) + (after.children_system
                                                                          - self.children.children_system)
        server_after = self.server.seconds() if self.server else None
        self.server_cpu = (server_after - self.server_before
                           if server_after is not None and self.server_before is not None else None)
        ticks = cpu_ticks()
        self.busy = ((ticks[0] - self.ticks[0]) / (ticks[1] - self.ticks[1])
                     if ticks and self.ticks and ticks[1] > self.ticks[1] else None)
        return False


def ingest_summary(result: dict, what: str) -> dict:
    proc = result["proc"]
    if proc.returncode:
        err = "\n".join(line for line in proc.stderr.splitlines() if not line.startswith("\t"))
        raise SystemExit(f"{what} failed (exit {proc.returncode}): {err.strip()}")
    return json.loads(proc.stdout)


class Postgres:
    """The benchmark's own schema in the database --db-url names."""

    def __init__(self, base_url: str):
        try:
            import psycopg
        except ImportError:
            raise SystemExit("the PostgreSQL half needs psycopg: pip install 'emaillog[postgres]'") from None
        self.psycopg = psycopg
        self.base = base_url
        self.schema = f"bench_fleet_{uuid.uuid4().hex[:8]}"
        join = "&" if "?" in base_url else "?"
        self.url = f"{base_url}{join}options=-csearch_path%3D{self.schema}"

    def _run(self, sql: str, *params, then=None):
        """Rows of one statement (or what `then(cursor)` makes of it), on a connection of its own."""
        try:
            with self.psycopg.connect(self.base, autocommit=True) as conn:
                cur = conn.execute(sql, params or None)
                return then(cur) if then else (cur.fetchall() if cur.description else [])
        except self.psycopg.Error as exc:
            raise SystemExit(f"PostgreSQL at {self.base!r}: {exc}".strip()) from None

    def server_cpu(self) -> ServerCpu:
        # Read while the session lives: its backend's parent is the postmaster.
        return self._run("SELECT pg_backend_pid()", then=lambda cur: ServerCpu(cur.fetchone()[0]))

    def fresh(self) -> None:
        self._run(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
        self._run(f"CREATE SCHEMA {self.schema}")

    def drop(self) -> None:
        self._run(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")

    def size(self) -> int:
        """Bytes of the schema's tables with their indexes and TOAST (WAL not counted)."""
        rows = self._run("SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                         "JOIN pg_namespace n ON n.oid = c.relnamespace "
                         "WHERE n.nspname = %s AND c.relkind IN ('r', 'm')", self.schema)
        return int(rows[0][0])


def generate_logs(work: Path, hosts: int, messages: int) -> list[dict]:
    """One log per host (seed 2026 + i), reused from --keep when already there."""
    logs = []
    for i in range(1, hosts + 1):
        host = f"mx{i}"
        log, truth_file = work / f"{host}.log", work / f"truth-{host}-{messages}.json"
        t0 = time.perf_counter()
        if log.exists() and truth_file.exists():
            truth = json.loads(truth_file.read_text())
            print(f"reusing {log} ({truth['lines']:,} lines)")
        else:
            truth = generate(str(log), messages, seed=2026 + i, host=host)
            truth_file.write_text(json.dumps(truth))
            print(f"generated {truth['lines']:,} lines ({messages:,} messages) in "
                  f"{time.perf_counter() - t0:.1f}s: {log}")
        logs.append({"host": host, "path": log, "truth": truth})
    return logs


def run_sqlite(logs: list[dict], db: Path, env: dict) -> dict:
    for stale in db.parent.glob(db.name + "*"):
        stale.unlink()
    env = {**env, "EMAILLOG_DB": str(db)}
    create = timed([*emaillog(), "ingest", "--json", "--format", "postfix", "-"], env)
    ingest_summary(create, "creating the SQLite database")
    with Phase() as phase:
        result = timed([*emaillog(), "ingest", "--json", "--year", "2026", *(str(log["path"]) for log in logs)], env)
    summary = ingest_summary(result, "the SQLite ingest")
    size = sum(p.stat().st_size for p in db.parent.glob(db.name + "*") if not p.name.endswith(".lock"))
    return {"wall": phase.wall, "cpu": phase.cpu, "busy": phase.busy, "rss": result["rss"],
            "lines": summary["lines_read"], "events": summary["events_added_total"], "size": size}


def run_postgres(logs: list[dict], pg: Postgres, env: dict) -> dict:
    pg.fresh()
    env = {**env, "EMAILLOG_DB": pg.url}
    create = timed([*emaillog(), "ingest", "--json", "--format", "postfix", "-"], {**env, "EMAILLOG_HOST": "setup"})
    ingest_summary(create, "creating the PostgreSQL schema")
    results: list[dict | None] = [None] * len(logs)
    go = threading.Barrier(len(logs) + 1)

    def one(i: int, log: dict) -> None:
        go.wait()
        results[i] = timed([*emaillog(), "ingest", "--json", "--year", "2026", str(log["path"])],
                           {**env, "EMAILLOG_HOST": log["host"]})

    threads = [threading.Thread(target=one, args=(i, log)) for i, log in enumerate(logs)]
    for thread in threads:
        thread.start()
    with Phase(pg.server_cpu()) as phase:
        go.wait()
        for thread in threads:
            thread.join()
    summaries = [ingest_summary(r, f"the PostgreSQL ingest of {log['host']}") for r, log in zip(results, logs)]
    return {"wall": phase.wall, "cpu": phase.cpu, "busy": phase.busy, "server_cpu": phase.server_cpu,
            "rss": max((r["rss"] for r in results if r["rss"]), default=None),
            "lines": sum(s["lines_read"] for s in summaries),
            "events": sum(s["events_added_total"] for s in summaries),
            "conflicts_retried": sum(s.get("conflicts_retried") or 0 for s in summaries),
            "host_walls": [r["wall"] for r in results], "size": pg.size()}


def stats(db: str, env: dict) -> dict:
    proc = subprocess.run([*emaillog(), "stats", "--json", "--at", AT], capture_output=True, text=True,
                          env={**env, "EMAILLOG_DB": db})
    if proc.returncode:
        raise SystemExit(f"emaillog stats on {db} failed: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def check(logs: list[dict], sqlite_db: Path, pg: Postgres, env: dict) -> tuple[bool, list[str]]:
    """Both stores answer stats alike, and their totals are the generator's truth."""
    notes = []
    one, many = stats(str(sqlite_db), env), stats(pg.url, env)
    ok = one == many
    if not ok:
        differ = sorted(k for k in set(one) | set(many) if one.get(k) != many.get(k))
        notes.append(f"stats --json differs between SQLite and PostgreSQL in: {', '.join(differ)}")
    keys = ("sent", "delivered", "hard_bounced", "soft_bounced")
    want = {k: sum(log["truth"][k] for log in logs) for k in keys}
    for name, got in (("SQLite", one), ("PostgreSQL", many)):
        have = {k: got["total"][k] for k in keys}
        if have != want:
            ok = False
            notes.append(f"{name} totals {json.dumps(have)} are not the truth {json.dumps(want)}")
    notes.append(f"totals: {json.dumps(want)}")
    return ok, notes


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", type=int, default=4, help="servers, one log and one writer each [default: 4]")
    ap.add_argument("--lines", type=int, default=300_000, help="about this many lines per host [default: 300000]")
    ap.add_argument("--runs", type=int, default=3, help="paired runs of (a) and (b); medians are reported")
    ap.add_argument("--small", action="store_true", help="2 hosts of about 20,000 lines, one run: correctness only")
    ap.add_argument("--keep", help="directory to keep the logs and the SQLite database in (and keep the schema)")
    ap.add_argument("--db-url", default="postgresql://",
                    help="PostgreSQL to write into (a schema of its own is made there) [default: postgresql://]")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    args = ap.parse_args()
    hosts, lines, runs = (2, 20_000, 1) if args.small else (args.hosts, args.lines, args.runs)
    if hosts < 1 or lines < 1 or runs < 1:
        ap.error("--hosts, --lines and --runs must be at least 1")
    messages = max(1, round(lines / LINES_PER_MESSAGE))
    say = (lambda *a, **k: print(*a, **k, file=sys.stderr)) if args.json else print

    work = Path(args.keep or tempfile.mkdtemp(prefix="emaillog-fleet-"))
    work.mkdir(parents=True, exist_ok=True)
    pg = Postgres(args.db_url)
    pg.drop()  # says now, before the logs are made, when the server cannot be reached
    env = {**os.environ, "EMAILLOG_CONFIG": "", "TZ": "UTC", "XDG_CONFIG_HOME": str(work / "xdg")}
    env.pop("EMAILLOG_HOST", None)
    sqlite_db = work / "fleet.db"
    try:
        with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
            logs = generate_logs(work, hosts, messages)
        total_lines = sum(log["truth"]["lines"] for log in logs)
        a_runs, b_runs = [], []
        for r in range(1, runs + 1):
            a_runs.append(run_sqlite(logs, sqlite_db, env))
            b_runs.append(run_postgres(logs, pg, env))
            say(f"run {r}/{runs}: SQLite 1 writer {a_runs[-1]['wall']:.1f}s, "
                f"PostgreSQL {hosts} writers {b_runs[-1]['wall']:.1f}s")
        ok, notes = check(logs, sqlite_db, pg, env)
        for name, got in (("SQLite", a_runs[-1]), ("PostgreSQL", b_runs[-1])):
            if got["lines"] != total_lines:
                ok = False
                notes.append(f"{name} read {got['lines']:,} lines of {total_lines:,}")
        if a_runs[-1]["events"] != b_runs[-1]["events"]:
            ok = False
            notes.append(f"events added: SQLite {a_runs[-1]['events']:,}, PostgreSQL {b_runs[-1]['events']:,}")
    finally:
        if args.keep:
            say(f"kept: {work}, PostgreSQL schema {pg.schema} ({pg.url})")
        else:
            pg.drop()
            shutil.rmtree(work, ignore_errors=True)

    figures = {
        "hosts": hosts, "lines": total_lines, "lines_per_host": [log["truth"]["lines"] for log in logs],
        "runs": runs, "cpus": os.cpu_count(), "compiled": compiled(), "emaillog": emaillog(),
        "sqlite_one_writer": summarise(a_runs, total_lines),
        "postgres_many_writers": summarise(b_runs, total_lines),
        "ratio": spread([a["wall"] / b["wall"] for a, b in zip(a_runs, b_runs)]),
        "conflicts_retried": [b["conflicts_retried"] for b in b_runs],
        "correct": ok, "notes": notes,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        report(figures)
    return 0 if ok else 1


def summarise(runs: list[dict], lines: int) -> dict:
    last = runs[-1]
    out = {"seconds": spread([r["wall"] for r in runs]),
           "lines_per_second": spread([lines / r["wall"] for r in runs]),
           "client_cpu_seconds": spread([r["cpu"] for r in runs]),
           "machine_busy": spread([r["busy"] for r in runs]) if all(r["busy"] is not None for r in runs) else None,
           "server_cpu_seconds": (spread([r["server_cpu"] for r in runs])
                                  if all(r.get("server_cpu") is not None for r in runs) else None),
           "peak_rss_kb": max((r["rss"] for r in runs if r["rss"]), default=None),
           "events": last["events"], "bytes": last["size"],
           "bytes_per_event": last["size"] / last["events"] if last["events"] else None}
    if "host_walls" in last:
        out["host_seconds"] = last["host_walls"]
    return out


def report(f: dict) -> None:
    build = {True: "compiled", False: "pure Python", None: "build unknown"}[f["compiled"]]
    print(f"\n{f['hosts']} hosts, {f['lines']:,} lines in all; {f['runs']} paired run(s), median [min-max]; "
          f"{f['cpus']} CPUs (the PostgreSQL server shares them); emaillog {build}: {f['emaillog'][0]}")
    print(f"{'step':34} {'seconds':>18} {'lines/s':>22} {'client CPU s':>13} {'server CPU s':>13} "
          f"{'machine busy':>13} {'peak RSS':>9}")
    for name, key in ((f"(a) SQLite, 1 writer, {f['hosts']} files", "sqlite_one_writer"),
                      (f"(b) PostgreSQL, {f['hosts']} writers at once", "postgres_many_writers")):
        s = f[key]
        sec, rate = s["seconds"], s["lines_per_second"]
        busy = f"{s['machine_busy']['median']:.0%}" if s["machine_busy"] else ""
        rss = f"{s['peak_rss_kb'] / 1024:.0f} MB" if s["peak_rss_kb"] else ""
        server = f"{s['server_cpu_seconds']['median']:.1f}" if s.get("server_cpu_seconds") else ""
        print(f"{name:34} {sec['median']:7.1f} [{sec['min']:.1f}-{sec['max']:.1f}] "
              f"{rate['median']:>9,.0f} [{rate['min'] / 1e3:.0f}k-{rate['max'] / 1e3:.0f}k] "
              f"{s['client_cpu_seconds']['median']:13.1f} {server:>13} {busy:>13} {rss:>9}")
    ratio = f["ratio"]
    print(f"ratio (b)/(a) in lines/s: {ratio['median']:.2f}x [{ratio['min']:.2f}-{ratio['max']:.2f}], paired run by run")
    walls = f["postgres_many_writers"].get("host_seconds")
    if walls:
        print("(b) each host's ingest, last run: " + ", ".join(f"{w:.1f}s" for w in walls)
              + f"; batches retried after a conflict: {f['conflicts_retried'][-1]}")
    for name, key in (("SQLite", "sqlite_one_writer"), ("PostgreSQL", "postgres_many_writers")):
        s = f[key]
        if s["bytes_per_event"]:
            print(f"store: {name} {s['bytes'] / 1e6:.1f} MB for {s['events']:,} events = "
                  f"{s['bytes_per_event']:.0f} bytes per event")
    for note in f["notes"]:
        print(note)
    print("correctness:", "OK" if f["correct"] else "MISMATCH")


if __name__ == "__main__":
    sys.exit(main())
