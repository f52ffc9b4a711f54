"""When "no such domain" is our own resolver failing (issue 13, §4).

An MTA whose resolver times out or whose network is down writes the same
words as for a domain that does not exist: Postfix's `Host or domain name
not found. Name service error for name=gmail.com type=A: Host not found`,
Exim's `Unrouteable address`. Taken at their word they are permanent hard
bounces, and the person is suppressed for ever. But a domain that accepted
mail within the retry window of the verdict exists: the verdict is a
temporary DNS failure (`dns_tempfail`), a soft bounce with a note saying
why. The store applies the rule whichever comes first in the logs, the
verdict or the delivery (store/doubts.py).

Only lookup failures count: a null MX, "does not accept mail" or a parked
domain are the domain's own answer, whatever it accepted before.
"""

from __future__ import annotations

import math
import re

REASON = "dns_tempfail"

# The words of a failed lookup, as MTAs and receivers write them (the
# bad_domain rules of bounce_rules.py that are about finding the domain).
_NO_SUCH_DOMAIN = re.compile(
    r"host not found|host unknown|(?:no such|unknown|invalid|nonexistent) domain|nonexistentdomain"
    r"|domain (?:name )?(?:does not exist|doesn't exist|not found|not exist)|host or domain name not found"
    r"|(?:couldn't|could not|cannot|can't|unable to) find (?:any host|a mail exchanger|the recipient domain)"
    r"|nxdomain|no mx (?:record|host)|mx (?:record )?lookup failed|unrouteable (?:domain|address)"
    r"|all relevant mx records point to non-existent hosts", re.I)
_NOT_A_LOOKUP = re.compile(r"null mx|no smtp service|(?:does not|doesn't) (?:accept|receive)|parked|expired", re.I)


def says_no_such_domain(text: str | None) -> bool:
    """True when a bad_domain reply says the domain could not be found."""
    return bool(text) and _NO_SUCH_DOMAIN.search(text) is not None and _NOT_A_LOOKUP.search(text) is None


def window_hours(retry_window_hours: float) -> int:
    """The rule looks this many whole hours either side of the verdict's
    hour (the store counts deliveries per domain and hour)."""
    return max(1, math.ceil(retry_window_hours))


def note(domain: str) -> str:
    """What the soft bounce says about why it is not a hard one."""
    return (f"our resolver said {domain} does not exist, but {domain} accepted mail within the retry window: "
            "a temporary DNS failure, not a bad domain")


def note_sql(domain: str) -> str:
    """`note` as an SQL expression of the column `domain`."""
    head, _, tail = note("\x00").partition("\x00")
    middle, _, tail = tail.partition("\x00")
    return f"'{head}' || {domain} || '{middle}' || {domain} || '{tail}'"
