"""Finding the Postfix lines of a chunk of log text, with their syslog
header read: (stamp, host, program, queue id or None, rest).

`LINE` says what such a line is. Plain Python runs it over the chunk
(`finditer` in C is the quickest there is without a compiler). Compiled, a
scan over the characters reads the usual shapes instead, about twice as fast,
and hands any line it is not sure of to `LINE`: the scan accepts a subset of
what `LINE` accepts and reads it the same way (tests/test_postfix_lines.py
holds the two to that on the corpus and on crafted lines).
"""

from __future__ import annotations

import re

try:
    import cython
except ImportError:  # plain Python without Cython installed
    from .. import cython_shim as cython

from .syslog import HEADER

# Short ids are upper-case hex; long ids use a vowel-free base-52 alphabet
# (src/global/mail_queue.h), so words such as "warning" never look like one.
QUEUE_ID = r"(?:[0-9A-F]{5,15}|[0-9BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz]{10,20})"

# Every Postfix line: the syslog header (the stamp of syslog.HEADER), then a
# queue id and the rest, or (no queue id) anything.
LINE = re.compile(
    rf"^(?:{HEADER.pattern[len('(?P<ts>'):HEADER.pattern.index(') (?P<host>')]})".replace("(?:", "(", 1)
    + rf" (\S+) (postfix[^\s\[:]*)(?:\[\d+\])?: (?:({QUEUE_ID}): ?|(?!{QUEUE_ID}: ?))([^\n]*)$", re.M)


@cython.locals(text=str, pos=cython.Py_ssize_t, end=cython.Py_ssize_t, size=cython.Py_ssize_t)
def postfix_lines(text: str):
    """(start, end, (stamp, host, prog, qid, rest)) of each Postfix line
    of `text`, in order; other lines are the gaps between them."""
    if not cython.compiled:
        for m in LINE.finditer(text):
            yield m.start(), m.end(), m.groups()
        return
    pos = 0
    size = len(text)
    while pos < size:
        end = text.find("\n", pos)
        if end < 0:
            end = size
        groups = _scan(text, pos, end)
        if groups is None:
            m = LINE.match(text, pos, end)
            if m is not None:
                groups = m.groups()
        if groups is not None:
            yield pos, end, groups
        pos = end + 1


def scan_header(text: str, start: int, end: int):
    """What the compiled scan reads of text[start:end]: LINE's groups, or
    None when it is not sure (then LINE decides)."""
    return _scan(text, start, end)


@cython.cfunc
@cython.locals(text=str, start=cython.Py_ssize_t, end=cython.Py_ssize_t, i=cython.Py_ssize_t,
               j=cython.Py_ssize_t, host_at=cython.Py_ssize_t, prog_at=cython.Py_ssize_t, c=cython.Py_UCS4,
               colon=cython.Py_ssize_t, rest_at=cython.Py_ssize_t)
def _scan(text, start, end):
    i = _stamp_end(text, start, end)
    if i < 0 or _at(text, i, end) != " ":
        return None
    i += 1
    host_at = i
    while True:  # \S+ then a space; only printable ASCII here, else LINE decides
        c = _at(text, i, end)
        if c == " ":
            break
        if not ("!" <= c <= "~"):
            return None
        i += 1
    if i == host_at or not text.startswith("postfix", i + 1, end):
        return None
    i += 1
    prog_at = i
    i += 7
    while True:  # postfix[^\s\[:]*
        c = _at(text, i, end)
        if c == " " or c == "[" or c == ":":
            break
        if not ("!" <= c <= "~"):
            return None
        i += 1
    j = i
    if _at(text, i, end) == "[":  # (?:\[\d+\])?
        i += 1
        if not _digit(_at(text, i, end)):
            return None
        while _digit(_at(text, i, end)):
            i += 1
        if _at(text, i, end) != "]":
            return None
        i += 1
    if _at(text, i, end) != ":" or _at(text, i + 1, end) != " ":
        return None
    i += 2
    # A queue id is all of the message up to its first colon (the id's
    # characters hold none), and a colon follows it.
    colon = text.find(":", i, end)
    if colon >= 0 and _queue_id(text, i, colon):
        rest_at = colon + 1
        if _at(text, rest_at, end) == " ":
            rest_at += 1
        return (text[start:host_at - 1], text[host_at:prog_at - 1], text[prog_at:j], text[i:colon],
                text[rest_at:end])
    return text[start:host_at - 1], text[host_at:prog_at - 1], text[prog_at:j], None, text[i:end]


@cython.cfunc
@cython.returns(cython.Py_ssize_t)
@cython.locals(text=str, start=cython.Py_ssize_t, end=cython.Py_ssize_t, i=cython.Py_ssize_t, c=cython.Py_UCS4)
def _stamp_end(text, start, end):
    """Where the stamp at `start` ends, or -1: `Nov 20 06:00:00`, `Nov  2
    06:00:00` or `2026-11-20T06:00:00.123+01:00`, fractions and zones
    optional, ASCII digits only."""
    i = start
    c = _at(text, i, end)
    if "A" <= c <= "Z":  # [A-Z][a-z]{2} {1,2}\d{1,2} \d\d:\d\d:\d\d
        if not ("a" <= _at(text, i + 1, end) <= "z" and "a" <= _at(text, i + 2, end) <= "z"
                and _at(text, i + 3, end) == " "):
            return -1
        i += 4
        if _at(text, i, end) == " ":
            i += 1
        if not _digit(_at(text, i, end)):
            return -1
        i += 1
        if _digit(_at(text, i, end)):
            i += 1
        if _at(text, i, end) != " ":
            return -1
        i += 1
    elif _digit(c):  # \d{4}-\d\d-\d\d[T ]
        if not (_digits(text, i, 4, end) and _at(text, i + 4, end) == "-" and _digits(text, i + 5, 2, end)
                and _at(text, i + 7, end) == "-" and _digits(text, i + 8, 2, end)):
            return -1
        c = _at(text, i + 10, end)
        if c != "T" and c != " ":
            return -1
        i += 11
    else:
        return -1
    if not (_digits(text, i, 2, end) and _at(text, i + 2, end) == ":" and _digits(text, i + 3, 2, end)
            and _at(text, i + 5, end) == ":" and _digits(text, i + 6, 2, end)):
        return -1
    i += 8
    if _at(text, i, end) == ".":  # (?:\.\d+)?
        if not _digit(_at(text, i + 1, end)):
            return -1
        i += 1
        while _digit(_at(text, i, end)):
            i += 1
    if "A" <= _at(text, start, end) <= "Z":
        return i
    c = _at(text, i, end)  # (?:Z|[+-]\d\d:?\d\d)?
    if c == "Z":
        return i + 1
    if c == "+" or c == "-":
        if not _digits(text, i + 1, 2, end):
            return -1
        i += 3
        if _at(text, i, end) == ":":
            i += 1
        if not _digits(text, i, 2, end):
            return -1
        return i + 2
    return i


@cython.cfunc
@cython.returns(cython.bint)
@cython.locals(text=str, start=cython.Py_ssize_t, end=cython.Py_ssize_t, n=cython.Py_ssize_t, i=cython.Py_ssize_t,
               c=cython.Py_UCS4, short_id=cython.bint, long_id=cython.bint)
def _queue_id(text, start, end):
    """text[start:end] is a QUEUE_ID: 5-15 upper-case hex digits, or 10-20
    digits and consonants (the long ids' alphabet)."""
    n = end - start
    if n < 5 or n > 20:
        return False
    short_id = n <= 15
    long_id = n >= 10
    for i in range(start, end):
        c = text[i]
        if short_id and not ("0" <= c <= "9" or "A" <= c <= "F"):
            short_id = False
        if long_id and not ("0" <= c <= "9" or ("A" <= c <= "Z" and c not in "AEIOU")
                            or ("a" <= c <= "z" and c not in "aeiou")):
            long_id = False
        if not (short_id or long_id):
            return False
    return True


@cython.cfunc
@cython.inline
@cython.returns(cython.Py_UCS4)
@cython.locals(text=str, i=cython.Py_ssize_t, end=cython.Py_ssize_t)
def _at(text, i, end):
    """The character at i, or a newline past the line's end (which every
    test above refuses)."""
    return text[i] if i < end else "\n"


@cython.cfunc
@cython.inline
@cython.returns(cython.bint)
@cython.locals(c=cython.Py_UCS4)
def _digit(c):
    return "0" <= c <= "9"


@cython.cfunc
@cython.returns(cython.bint)
@cython.locals(text=str, i=cython.Py_ssize_t, n=cython.Py_ssize_t, end=cython.Py_ssize_t, k=cython.Py_ssize_t)
def _digits(text, i, n, end):
    for k in range(i, i + n):
        if not _digit(_at(text, k, end)):
            return False
    return True
