"""What every parser is given: the clock for its input and the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..config import Config
from ..timestamps import Clock


@dataclass
class ParseContext:
    clock: Clock
    config: Config
    label: str  # the input's name in an event's `source` (`mail.log`)
    # message id -> the `sent` event we stored for it (a dict), or None; lets
    # access-log parsers resolve an opaque tracking token to its send.
    lookup: Callable[[str], dict | None] | None = None
