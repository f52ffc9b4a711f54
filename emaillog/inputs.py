"""Finding and reading log files: directories, rotated sets, gzip, stdin.

A file is known by a fingerprint of its first line, not its name, so
`mail.log` renamed to `mail.log.1` and then gzipped to `mail.log.2.gz` is
recognised as the same text and is not read again (pygtail remembers inode
and offset; a fingerprint also survives the compression). A file whose first
line changed (copytruncate, or a new file under the old name) is new text.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import os
import re
import sys
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

GZIP_MAGIC = b"\x1f\x8b"
FINGERPRINT_BYTES = 4096
SNIFF_LINES = 50
# Longer lines are recorded as rejects without running any pattern on them.
MAX_LINE = 64 * 1024

# Binary or text, judged on the head of a file. A crash leaves runs of NULs
# where unwritten blocks were (the filesystem had grown the file, the data
# never reached the disk), and the logger then goes on appending: such runs
# are damage in a log, not a sign of a binary file, and cost only the line
# they are on. Outside them, a log is text: a file whose head has more than
# BINARY_SHARE control bytes (besides tab, newline, CR, FF, VT and ESC) is
# binary (ELF, SQLite, images and compressed data all have well over 10%).
NUL_RUN = re.compile(rb"\x00{32,}")
CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
BINARY_SHARE = 0.05


class InputProblem(Exception):
    """A file we could not read at all; `fatal` ones make the run fail."""

    def __init__(self, path: str, message: str, *, fatal: bool = False):
        super().__init__(message)
        self.path = path
        self.message = message
        self.fatal = fatal


@dataclass
class Input:
    """One named input: a path on disk or standard input (`-`)."""

    path: str
    explicit: bool  # named on the command line (not found inside a directory)

    @property
    def is_stdin(self) -> bool:
        return self.path == "-"

    @property
    def label(self) -> str:
        return "<stdin>" if self.is_stdin else os.path.basename(self.path)


def expand(paths: list[str]) -> tuple[list[Input], list[InputProblem]]:
    """Files and directories to a read order: oldest first, so a rotated
    set (`mail.log.2.gz`, `mail.log.1`, `mail.log`) is read in log order."""
    found: list[Input] = []
    problems: list[InputProblem] = []
    for raw in paths:
        if raw == "-":
            found.append(Input("-", True))
            continue
        path = Path(raw)
        if path.is_dir():
            members, unlisted = _walk(path)
            problems.extend(unlisted)
            found.extend(Input(str(p), False) for p in _oldest_first(members))
        elif path.exists():
            found.append(Input(raw, True))
        else:
            problems.append(InputProblem(raw, f"{raw}: no such file or directory", fatal=True))
    return found, problems


def _walk(top: Path) -> tuple[list[Path], list[InputProblem]]:
    """The files under a directory (symlinked directories not followed), and
    a problem for each directory that could not be listed: an error for the
    directory named on the command line, a warning for one inside it (its
    files are missing from the run, and `--strict` fails)."""
    problems: list[InputProblem] = []

    def unlisted(exc: OSError) -> None:
        where = exc.filename or str(top)
        named = os.path.abspath(where) == os.path.abspath(top)
        problems.append(InputProblem(where, f"cannot list directory {where}: {exc.strerror or exc}"
                                            + ("" if named else " (its files were not read)"), fatal=named))

    files = [Path(root, name) for root, _, names in os.walk(top, onerror=unlisted) for name in names]
    return [p for p in sorted(files) if p.is_file()], problems


def _oldest_first(paths: list[Path]) -> list[Path]:
    def key(p: Path):
        try:
            return (p.stat().st_mtime, -_rotation_number(p.name), p.name)
        except OSError:
            return (0.0, 0, p.name)
    return sorted(paths, key=key)


def _rotation_number(name: str) -> int:
    """`mail.log.2.gz` -> 2, `mail.log` -> 0."""
    parts = name.split(".")
    for part in reversed(parts[1:]):
        if part.isdigit():
            return int(part)
    return 0


@dataclass
class OpenedInput:
    """An input opened for reading, with what the ingest loop needs."""

    input: Input
    stream: object  # binary file-like
    compressed: bool
    fingerprint: str | None  # None: no complete first line yet, or stdin
    head: list[str]  # the first lines, decoded, for format detection
    mtime: datetime
    device: int | None = None
    inode: int | None = None
    size: int | None = None
    waiting: bool = False  # a partial last line was left for the next run
    final: bool | None = None  # can it still grow? None: judged by its name and age (ingest/jobs.py)


def open_input(inp: Input) -> OpenedInput | None:
    """Open an input; None when there is nothing to read yet (empty file).

    Raises InputProblem for unreadable, binary or broken files."""
    if inp.is_stdin:
        head_bytes = sys.stdin.buffer.read(FINGERPRINT_BYTES * 4)
        return OpenedInput(inp, _PeekedStdin(head_bytes, sys.stdin.buffer), False, None, _decode_head(head_bytes),
                           datetime.now(timezone.utc))
    try:
        st = os.stat(inp.path)
        raw = open(inp.path, "rb")
    except OSError as exc:
        raise InputProblem(inp.path, f"cannot read {inp.path}: {exc.strerror}", fatal=True) from exc
    try:
        compressed = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        try:
            if compressed:
                with gzip.GzipFile(fileobj=raw, mode="rb") as head_stream:
                    head_bytes = head_stream.read(FINGERPRINT_BYTES * 4)
            else:
                head_bytes = raw.read(FINGERPRINT_BYTES * 4)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputProblem(inp.path, f"{inp.path}: broken gzip file ({exc})") from exc
        if looks_binary(head_bytes):
            raise InputProblem(inp.path, f"{inp.path}: binary file, not a log (skipped)")
        raw.seek(0)
    except InputProblem:
        raw.close()
        raise
    first_line, sep, _ = head_bytes[:FINGERPRINT_BYTES].partition(b"\n")
    fingerprint = hashlib.sha256(first_line).hexdigest() if sep else None
    if not head_bytes:
        raw.close()
        return None
    stream = _ClosingGzipFile(raw) if compressed else raw
    return OpenedInput(inp, stream, compressed, fingerprint, _decode_head(head_bytes),
                       datetime.fromtimestamp(st.st_mtime, timezone.utc),
                       device=st.st_dev, inode=st.st_ino, size=st.st_size)


def looks_binary(head: bytes) -> bool:
    """True when the head of a file is not text, leaving out crash NUL runs."""
    rest = NUL_RUN.sub(b"", head)
    return bool(rest) and len(CONTROL_BYTES.findall(rest)) > BINARY_SHARE * len(rest)


def line_defect(raw: bytes) -> tuple[str, bytes] | None:
    """Why a line is rejected before any parser sees it, and the text to keep
    of it; None for a line a parser may read."""
    if len(raw) > MAX_LINE:
        return f"line longer than {MAX_LINE} bytes", raw[:200]
    if b"\x00" in raw:
        nuls = raw.count(b"\x00")
        return (f"{nuls} NUL bytes in the line (a crash leaves these)",
                raw.replace(b"\x00", b"").rstrip(b"\r\n")[:200])
    return None


def text_defect(line: str) -> tuple[str, str] | None:
    """line_defect for a line already decoded (the bulk readers)."""
    if len(line) > MAX_LINE // 4 and len(line.encode("utf-8", "replace")) > MAX_LINE:
        return f"line longer than {MAX_LINE} bytes", line[:200]
    if "\x00" in line:
        return (f"{line.count(chr(0))} NUL bytes in the line (a crash leaves these)",
                line.replace("\x00", "").rstrip("\r\n")[:200])
    return None


class _ClosingGzipFile(gzip.GzipFile):
    """A GzipFile that closes the file under it too: `GzipFile(fileobj=...)`
    leaves that file open until the garbage collector finds it."""

    def __init__(self, raw):
        super().__init__(fileobj=raw, mode="rb")
        self._raw = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()


class _PeekedStdin:
    """Standard input with its first bytes already read for sniffing."""

    def __init__(self, head: bytes, stream):
        self.head = head
        self.stream = stream
        self.rest = iter(lambda: stream.read(1 << 16), b"")

    def read(self, size: int = -1) -> bytes:
        if self.head:
            data, self.head = self.head, b""
            return data
        return self.stream.read(size)

    def __iter__(self):
        pending = self.head
        for chunk in itertools.chain([b""], self.rest):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                yield line + b"\n"
        if pending:
            yield pending


def _decode_head(data: bytes) -> list[str]:
    return data.decode("utf-8", "replace").splitlines()[:SNIFF_LINES]


def read_lines(opened: OpenedInput, offset: int, *, final: bool):
    """Yield (end_offset, line_bytes) from `offset` on.

    A last line without its newline is not yielded unless `final` (a
    compressed file or standard input cannot grow): the writer may still be
    in the middle of it. A truncated gzip stream ends the iteration with
    `TruncatedInput` raised after its complete lines.
    """
    stream = opened.stream
    pos = 0
    if offset:
        if opened.compressed:
            _skip(stream, offset)
        else:
            stream.seek(offset)
        pos = offset
    try:
        for line in stream:
            if not line.endswith(b"\n") and not final:
                opened.waiting = True
                return
            pos += len(line)
            yield pos, line
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise TruncatedInput(opened.input.path, f"{opened.input.path}: compressed data ends early ({exc}); "
                             "the complete lines before that point were read") from exc


CHUNK_BYTES = 1 << 20


def read_chunks(opened: OpenedInput, offset: int, *, final: bool, size: int = CHUNK_BYTES):
    """Yield (end_offset, bytes) of complete lines from `offset` on, about
    `size` bytes at a time: the fast path reads text in bulk, not by line.
    A last line without its newline is held back unless `final` (as in
    read_lines). A truncated gzip file yields its complete lines, then
    raises TruncatedInput."""
    if opened.compressed:
        pieces = _gunzip(opened, size)
    else:
        stream = opened.stream
        if offset and hasattr(stream, "seek"):
            stream.seek(offset)
        read = getattr(stream, "read1", None) or stream.read
        pieces = iter(lambda: read(size), b"")
    pos = offset
    skip = offset if opened.compressed else 0
    pending = b""
    for data in pieces:
        if skip:
            if len(data) <= skip:
                skip -= len(data)
                continue
            data, skip = data[skip:], 0
        data = pending + data if pending else data
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            pending = data
            continue
        pending = data[cut:]
        pos += cut
        yield pos, data[:cut]
    if pending and final:
        yield pos + len(pending), pending
    elif pending:
        opened.waiting = True  # a last line without its newline: the writer may be in the middle of it


def _gunzip(opened: OpenedInput, size: int):
    """The text of a gzip file (all its members), decompressed here so that
    a truncated file still gives everything before the break."""
    raw = getattr(opened.stream, "fileobj", None) or opened.stream
    raw.seek(0)
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    fed = False  # the current member has begun
    while True:
        block = raw.read(size)
        if not block:
            break
        while block:
            try:
                data = decompressor.decompress(block)
            except zlib.error as exc:
                raise TruncatedInput(opened.input.path, f"{opened.input.path}: compressed data is damaged ({exc}); "
                                     "the complete lines before that point were read") from exc
            fed = True
            if data:
                yield data
            block = b""
            if decompressor.eof:  # another gzip member may follow
                block = decompressor.unused_data
                decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
                fed = False
    if fed and not decompressor.eof:
        raise TruncatedInput(opened.input.path, f"{opened.input.path}: compressed data ends early (the file ended "
                             "before the end-of-stream marker was reached); the complete lines before that point "
                             "were read")


def _skip(stream, count: int) -> None:
    while count > 0:
        chunk = stream.read(min(count, 1 << 20))
        if not chunk:
            return
        count -= len(chunk)


class TruncatedInput(InputProblem):
    """A gzip file that ends before its end-of-stream marker."""
