"""Reading the systemd journal itself (`ingest --journal`).

`journalctl -o json` from the cursor the last run stored (from the
beginning on the first run), read as the `journald` format. The last
entry's `__CURSOR` is stored in the journal's `files` row in the same
transaction as each batch, as a file's offset is, so a run killed midway
goes on after the last committed entry: nothing lost, nothing twice.

We ask for `--cursor C` and drop the entry at C ourselves rather than pass
`--after-cursor C`: journalctl (252) seeks to C and then always steps over
one entry, so when C's entry is gone (vacuumed) or no longer matches the
`--unit` given, `--after-cursor` silently skips the entry after it.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone

from ..formats import journald
from ..inputs import Input, InputProblem, OpenedInput
from ..timestamps import Clock
from .jobs import Job

JOURNALCTL = "journalctl"
MACHINE_ID = "/etc/machine-id"
# What journalctl says on stderr when this user may not read the system's
# entries (systemd src/journal/journalctl.c access_check()): a hint when it
# reads the user's own entries only, an error when it can read nothing.
NOT_ALL = "You are currently not seeing messages from"
NONE_ALLOWED = "insufficient permissions"
GROUP_ADVICE = "add the user to the systemd-journal group (or adm) to read the mail system's entries"


@dataclass
class JournalInput(Input):
    """The journal as an input: `path` is its fingerprint (rejects and
    warnings name it); events' `source` is `journal:N`, N counting the
    entries read from it over all runs."""

    name: str = "journal"

    @property
    def label(self) -> str:
        return self.name


@dataclass
class Journal:
    """Which journal to read: the system's, or the files named (journalctl
    --file), optionally only some units' entries (journalctl --unit)."""

    files: tuple[str, ...] = ()
    units: tuple[str, ...] = ()

    @property
    def fingerprint(self) -> str:
        """The key of the journal's read position: its machine, or its files."""
        if self.files:
            return "journal:file:" + ",".join(sorted(os.path.abspath(f) for f in self.files))
        return f"journal:{machine_id()}"

    def command(self, cursor: str | None) -> list[str]:
        # --all: journalctl leaves out (prints null for) fields over 4 KiB without it.
        command = [JOURNALCTL, "--output=json", "--all", "--no-pager"]
        for path in self.files:
            command.append(f"--file={path}")
        for unit in self.units:
            command.append(f"--unit={unit}")
        if cursor:
            command.append(f"--cursor={cursor}")  # that entry too: AfterCursor drops it
        return command


def same_entry(a: str, b: str) -> bool:
    """Do two cursors name one entry? A cursor is `s=seqnum id;i=seqnum;
    b=boot id;m=monotonic;t=realtime;x=hash` (sd_journal_get_cursor(3)):
    the seqnum part is the file's, the rest the entry's own."""
    fa, fb = (dict(p.split("=", 1) for p in c.split(";") if "=" in p) for c in (a, b))
    keys = ("b", "m", "t", "x")
    return a == b or (all(k in fa for k in keys) and all(fa[k] == fb.get(k) for k in keys))


class AfterCursor:
    """journalctl's output, less its first line when that is the entry at
    the cursor (already stored by the run that stored the cursor)."""

    def __init__(self, stream, cursor: str | None):
        self.stream = stream
        self.cursor = cursor

    def __iter__(self):
        lines = iter(self.stream)
        first = next(lines, None)
        if first is not None and not (self.cursor and self._at_cursor(first)):
            yield first
        yield from lines

    def _at_cursor(self, line: bytes) -> bool:
        try:
            cursor = json.loads(line).get("__CURSOR")
        except (ValueError, AttributeError):
            return False
        return isinstance(cursor, str) and same_entry(cursor, self.cursor)

    def close(self) -> None:
        self.stream.close()


def machine_id() -> str:
    """This machine's id (machine-id(5)), else its host name."""
    try:
        with open(MACHINE_ID, encoding="ascii") as fh:
            found = fh.read().strip()
    except (OSError, UnicodeDecodeError):
        found = ""
    return found or socket.gethostname()


class JournalReader:
    """One journalctl run: started by `job`, judged by `finish`."""

    def __init__(self, journal: Journal):
        self.journal = journal
        self.process = None
        self.errors = None

    def job(self, store, index: int) -> Job:
        """Start journalctl after the stored cursor; the job reads its output.
        Raises InputProblem (fatal) when journalctl cannot be started."""
        journal = self.journal
        fingerprint = journal.fingerprint
        known = store.file_progress(fingerprint) or {}
        cursor, line_no = known.get("cursor"), known.get("line_no") or 0
        if shutil.which(JOURNALCTL) is None:
            raise InputProblem(fingerprint, "--journal needs journalctl, which is not on PATH "
                                            "(it comes with systemd: apt-get install systemd)", fatal=True)
        for path in journal.files:
            if not glob.glob(path):  # journalctl --file takes a glob too
                raise InputProblem(path, f"--journal-file {path}: no such file", fatal=True)
        self.errors = tempfile.TemporaryFile()  # a file, not a pipe: a chatty stderr cannot block journalctl
        try:
            self.process = subprocess.Popen(journal.command(cursor), stdin=subprocess.DEVNULL,
                                            stdout=subprocess.PIPE, stderr=self.errors)
        except OSError as exc:
            self.errors.close()
            raise InputProblem(fingerprint, f"cannot run journalctl: {exc.strerror or exc}", fatal=True) from exc
        name = ",".join(os.path.basename(f) for f in journal.files) or "journal"
        now = datetime.now(timezone.utc)
        # final=False: a last line without its newline is an entry journalctl
        # did not finish writing (it died), never a complete one.
        opened = OpenedInput(JournalInput(fingerprint, True, name), AfterCursor(self.process.stdout, cursor), False,
                             fingerprint, [], now, final=False)
        return Job(index, opened, journald, 0, line_no, Clock(now, tz=timezone.utc), cursor=cursor)

    def finish(self, *, ok: bool) -> list[InputProblem]:
        """Wait for journalctl (stop it when the ingest failed) and say what
        went wrong: a failure is fatal, a permission hint a warning."""
        process = self.process
        if process is None:
            return []
        if not ok and process.poll() is None:
            process.kill()
        process.stdout.close()
        code = process.wait()
        self.errors.seek(0)
        said = self.errors.read().decode("utf-8", "replace").strip()
        self.errors.close()
        where = self.journal.fingerprint
        if not ok:
            return []
        if code < 0:
            return [InputProblem(where, f"journalctl was stopped by signal {-code}", fatal=True)]
        if code != 0:
            last = said.splitlines()[-1].strip() if said else "no message"  # its error, after any warnings
            advice = f"; {GROUP_ADVICE}" if NONE_ALLOWED in said else ""
            return [InputProblem(where, f"journalctl failed (exit status {code}): {last}{advice}", fatal=True)]
        if NOT_ALL in said:
            return [InputProblem(where, f"journalctl shows only this user's own entries: {GROUP_ADVICE}")]
        return []
