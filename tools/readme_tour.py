"""Write the README's "A short tour" from real runs on sample_logs/.

Each command runs (through the installed `emaillog`, in a throw-away
database, at 80 columns, in UTC, with a pinned --at so the answer does not
depend on today's date) and its output is pasted under it, between the
`<!-- tour:start -->` and `<!-- tour:end -->` markers.

    python tools/readme_tour.py          # rewrite README.md
    python tools/readme_tour.py --check  # exit 1 when README.md is stale
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import readme_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START, END = "<!-- tour:start -->", "<!-- tour:end -->"
AT = "2026-11-29T08:00Z"

# (shell command as shown, note shown after it or None)
TOUR = [
    # Files named one by one are read in that order (a directory's files oldest
    # first, which a fresh checkout leaves to chance): mail before its tracking.
    ("emaillog ingest --year 2026 sample_logs/mail.log sample_logs/access.log",
     "syslog stamps carry no year; the sample is from November 2026"),
    (f"emaillog person ann@example.com --at {AT}", "status first, then the history, newest first"),
    (f"emaillog check bob@example.com --campaign spring --at {AT}; echo $?", None),
    (f"emaillog suppressed --reason spam_block --at {AT}", None),
    ("emaillog retries --at 2026-11-28T19:10Z", "soft-bounced sends still being retried"),
    (f"emaillog stats --at {AT}", None),
    ("emaillog events --person ann@example.com --type delivered --format jsonl --limit 1", None),
    ('emaillog classify "550 5.7.1 Service unavailable; client [192.0.2.1] blocked using zen.spamhaus.org"', None),
    (f"emaillog report --html report.html --at {AT}", "one self-contained page: funnel, daily chart, reasons, suppressions"),
    ('emaillog suppress dave@example.com --campaign autumn --note "asked by phone"', "audited, shown in person"),
    ('emaillog release bob@example.com --note "mailbox fixed"', None),
    ("emaillog check bob@example.com --campaign spring; echo $?", "now: released a moment ago"),
    ("emaillog rejects", "lines that looked like a log format but could not be parsed"),
    ("emaillog formats", None),
]


def run_tour() -> str:
    exe = shutil.which("emaillog")
    if exe is None:
        sys.exit("emaillog is not installed (pip install -e .)")
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "EMAILLOG_DB": str(Path(tmp) / "tour.db"), "EMAILLOG_CONFIG": "",
               "XDG_CONFIG_HOME": tmp, "TZ": "UTC", "COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}
        env.pop("FORCE_COLOR", None)
        shutil.copytree(ROOT / "sample_logs", Path(tmp) / "sample_logs")
        out = ["```"]
        for command, note in TOUR:
            out.append(f"$ {command}" + (f"    # {note}" if note else ""))
            result = subprocess.run(["bash", "-c", command], cwd=tmp, env=env, capture_output=True, text=True,
                                    timeout=120)
            text = (result.stdout + result.stderr).rstrip()
            out.extend(line.rstrip() for line in text.splitlines())
            out.append("")
        out[-1] = "```"
    return "\n".join(out)


def main() -> int:
    return readme_section.run(README, START, END, lambda: run_tour() + "\n", what="tour", tool="readme_tour.py")


if __name__ == "__main__":
    sys.exit(main())
