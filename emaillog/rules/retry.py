"""Which soft-bounced sends are still being retried (SPEC §2, Retries).

A soft-bounced send is pending from its first soft bounce until it is
delivered or hard-bounces, until the MTA gives up (`expired`), or until the
retry window closes; after that it is given up (and still no suppression).
"""

from __future__ import annotations


def retry_status(first: int, last: int, last_reason: str | None, resolved: int | None, at: int,
                 window_seconds: int) -> str | None:
    """`pending`, `given_up`, or None (not soft-bounced yet at `at`, or
    delivered / hard-bounced by then). Times are UTC seconds."""
    if first > at or (resolved is not None and resolved <= at):
        return None
    if (last_reason == "expired" and last <= at) or first + window_seconds <= at:
        return "given_up"
    return "pending"
