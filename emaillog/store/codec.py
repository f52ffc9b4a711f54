"""How values are packed into the compact store, and unpacked again.

* Times are whole UTC seconds since the epoch (integers), shown as ISO 8601.
* Texts that repeat with small variations (reply texts, Message-IDs, URLs)
  are split into a shared *template*, stored once in `texts`, and a short
  per-row *argument*. The template may hold two placeholders: `\\x01` for the
  person's address (replies echo it) and `\\x02` for the argument. Both can be
  put back in plain SQL, so the database views show the exact text:
  `replace(replace(template, char(2), arg), char(1), address)`.
* Hashes that let an index find a row without storing long keys twice.
"""

from __future__ import annotations

import re
import time
import zlib
from functools import lru_cache

try:
    import cython
except ImportError:  # plain Python without Cython installed
    from .. import cython_shim as cython

ADDRESS_MARK = "\x01"
ARG_MARK = "\x02"

# A token that varies from message to message (an id, an IP address, a
# number, a timestamp) holds a digit and is long enough to be worth it.
# Dotted status codes (5.1.1) are not variable: they stay in the template.
_STATUS = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")
MIN_VARIABLE = 6
# Tokens this close together form one argument ("1700000000 d9443c01a73...").
JOIN_GAP = 2
_DIGIT = re.compile(r"\d")
# The last variable token (a whole run of token characters, six or more,
# with a digit, not a status code), found by backtracking from the end.
_V = "[0-9A-Za-z._:/+=%#-]"
_LAST = re.compile(rf"(?s:.*)(?<!{_V})(?={_V}{{{MIN_VARIABLE}}})(?![245]\.\d{{1,3}}\.\d{{1,3}}(?!{_V}))"
                   rf"({_V}*\d{_V}*)(?!{_V})")


@lru_cache(maxsize=65536)
def iso(ts: int | None) -> str | None:
    """`1764338401` -> `2025-11-28T14:00:01Z`."""
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def epoch(text: str | None) -> int | None:
    """`2026-11-28T14:00:01Z` (or any aware ISO 8601) -> whole seconds."""
    if text is None:
        return None
    from datetime import datetime
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


@cython.locals(text=str, address=str, start=cython.Py_ssize_t, end=cython.Py_ssize_t, gap_end=cython.Py_ssize_t,
               token_start=cython.Py_ssize_t)
def split_text(text: str | None, address: str | None = None) -> tuple[str | None, str | None]:
    """(template, argument) for a reply text; (None, text) when it cannot be
    split safely (it already holds a placeholder character). The argument is
    the last run of variable tokens: six or more token characters with a
    digit, not a status code (5.1.1 stays in the template)."""
    if text is None:
        return None, None
    if ADDRESS_MARK in text or ARG_MARK in text:
        return None, text
    if address and address in text:
        text = text.replace(address, ADDRESS_MARK)
    if cython.compiled:
        start, end = last_variable(text)
        if start < 0:
            return text, None
    else:  # plain Python: the expression is quicker than a loop over characters
        last = _LAST.match(text)
        if last is None:
            return text, None
        start, end = last.span(1)
    while True:  # tokens just before it belong to the same argument
        gap_end = start
        while gap_end > start - JOIN_GAP and gap_end > 0 and not _token_char(text[gap_end - 1]):
            gap_end -= 1
        if gap_end == start or gap_end == 0 or not _token_char(text[gap_end - 1]):
            break
        token_start = gap_end
        while token_start > 0 and _token_char(text[token_start - 1]):
            token_start -= 1
        if (gap_end - token_start < MIN_VARIABLE or not _DIGIT.search(text, token_start, gap_end)
                or _STATUS.fullmatch(text, token_start, gap_end)):
            break
        start = token_start
    return text[:start] + ARG_MARK + text[end:], text[start:end]


@cython.locals(text=str, i=cython.Py_ssize_t, end=cython.Py_ssize_t, digit=cython.bint, c=cython.Py_UCS4)
def last_variable(text: str) -> tuple[int, int]:
    """(start, end) of what `_LAST` finds, by a scan back from the end: the
    last whole token of six or more token characters with a digit that is
    not a status code; (-1, -1) when there is none. Compiled it is a loop
    over characters; in the writer the expression took a tenth of its time."""
    i = len(text)
    while i > 0:
        while i > 0 and not _token_char(text[i - 1]):
            i -= 1
        end = i
        digit = False
        while i > 0 and _token_char(text[i - 1]):
            c = text[i - 1]
            if "0" <= c <= "9":
                digit = True
            i -= 1
        if digit and end - i >= MIN_VARIABLE and not _STATUS.fullmatch(text, i, end):
            return i, end
    return -1, -1


@cython.cfunc
@cython.inline
@cython.returns(cython.bint)
@cython.locals(c=cython.Py_UCS4)
def _token_char(c) -> bool:
    """One of _V's characters (ASCII letters, digits and ._:/+=%#-)."""
    return "0" <= c <= "9" or "a" <= c <= "z" or "A" <= c <= "Z" or c in "._:/+=%#-"


@cython.locals(mid=str, local=str, at=str, domain=str)
def split_message_id(mid: str | None) -> tuple[str | None, str | None]:
    """`<local@domain>` -> (`<\\x02@domain>`, `local`): the domain repeats."""
    if mid is None:
        return None, None
    if ADDRESS_MARK in mid or ARG_MARK in mid:
        return None, mid
    local, at, domain = mid.rpartition("@")
    if not at or not local:
        return mid, None
    if local.startswith("<"):
        return "<" + ARG_MARK + "@" + domain, local[1:]
    return ARG_MARK + "@" + domain, local


def split_url(url: str | None) -> tuple[str | None, str | None]:
    """A tracked link: the query string (per person) is the argument."""
    if url is None:
        return None, None
    if ADDRESS_MARK in url or ARG_MARK in url:
        return None, url
    base, q, query = url.partition("?")
    return (base + "?" + ARG_MARK, query) if q else (url, None)


def join_text(template: str | None, arg: str | None, address: str | None = None) -> str | None:
    """The exact text back from its template and argument."""
    if template is None:
        return arg
    text = template.replace(ARG_MARK, arg or "") if ARG_MARK in template else template
    if ADDRESS_MARK in text:
        text = text.replace(ADDRESS_MARK, address or "")
    return text


def sql_join(template: str, arg: str, address: str = "''", char=lambda code: f"char({code})") -> str:
    """join_text in SQL, for the views (`char` spells a character code)."""
    return (f"CASE WHEN {template} IS NULL THEN {arg} ELSE "
            f"replace(replace({template}, {char(2)}, coalesce({arg}, '')), {char(1)}, coalesce({address}, '')) END")


def hash32(text: str) -> int:
    """A stable 32-bit hash (CRC-32): an index key, never an identity alone."""
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


def hash63(text: str) -> int:
    """A stable signed 63-bit hash (two CRC-32s) for idempotency keys."""
    data = text.encode("utf-8", "surrogatepass")
    return ((zlib.crc32(data) << 31) ^ zlib.crc32(data, 0x5BD1E995)) & 0x3FFFFFFFFFFFFFFF
