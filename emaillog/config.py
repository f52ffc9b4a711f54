"""Settings from a TOML file, with defaults an operator would expect.

Looked up in `--config`, then `$EMAILLOG_CONFIG`, then the per-user config
path (`$XDG_CONFIG_HOME/emaillog/config.toml`). Every key is optional; see
`emaillog/default_config.toml` for the documented defaults.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

DEFAULT_CAMPAIGN_HEADERS = ["X-Campaign-ID", "X-Campaign", "X-Campaign-Name", "X-Mailing-Campaign"]
DEFAULT_EMAIL_HEADERS = ["X-Email-ID", "X-Mailing-ID"]
# VERP: bounces+CAMPAIGN@..., bounces+CAMPAIGN+ann=example.com@...
DEFAULT_VERP_PATTERNS = [r"^bounces?\+(?P<campaign>[^@+=]+)"]


class ConfigError(ValueError):
    """A config file that cannot be used; the message says how to fix it."""


@dataclass
class Config:
    retry_window_hours: float = 36.0
    spam_block_hours: float = 24.0
    # Open correlation state (a queued message whose lines are not all seen
    # yet) older than this is closed: Postfix's default queue lifetime is 5d.
    open_state_horizon_hours: float = 7 * 24.0
    campaign_headers: list[str] = field(default_factory=lambda: list(DEFAULT_CAMPAIGN_HEADERS))
    email_headers: list[str] = field(default_factory=lambda: list(DEFAULT_EMAIL_HEADERS))
    verp_patterns: list[str] = field(default_factory=lambda: list(DEFAULT_VERP_PATTERNS))
    source: str | None = None  # the file it came from, for messages
    # Per ESP (ses, sendgrid, mailgun, postmark): payload fields, as dotted
    # paths, naming a send's campaign / which email it was; first found wins.
    # An ESP not listed uses its module's defaults (docs/tracking.md).
    esp_campaign_fields: dict[str, list[str]] = field(default_factory=dict)
    esp_email_fields: dict[str, list[str]] = field(default_factory=dict)
    # Tracking URL patterns for web access logs ([[access_log_patterns]]
    # tables); empty means the shipped defaults (emaillog/tracking.py).
    access_log_patterns: list[dict] = field(default_factory=list)

    def __post_init__(self):
        try:
            self.verp_regexes = [re.compile(p) for p in self.verp_patterns]
        except re.error as exc:
            raise ConfigError(f"verp_patterns: bad regular expression ({exc})") from exc
        self.campaign_header_set = {h.lower() for h in self.campaign_headers}
        self.email_header_set = {h.lower() for h in self.email_headers}

    def campaign_from_sender(self, sender: str | None) -> str | None:
        """The campaign encoded in a VERP envelope sender, if any."""
        if not sender:
            return None
        for rx in self.verp_regexes:
            m = rx.search(sender)
            if m and m.groupdict().get("campaign"):
                return m.group("campaign")
        return None


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "emaillog" / "config.toml"


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Read the config; a missing default file is fine, a missing named one is not."""
    explicit = path or os.environ.get("EMAILLOG_CONFIG")
    target = Path(explicit) if explicit else default_config_path()
    if not target.exists():
        if explicit:
            raise ConfigError(f"config file {target} does not exist")
        return Config()
    try:
        data = tomllib.loads(target.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {target}: {exc}") from exc
    known = {f.name for f in fields(Config)} - {"source"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"config file {target}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    try:
        return Config(**data, source=str(target))
    except TypeError as exc:
        raise ConfigError(f"config file {target}: {exc}") from exc
