"""SMTP reply code + enhanced status code + text -> bounce class and reason.

SPEC §2a: the text decides first, then the enhanced status code, then the
reply class. Any 4xx reply (or 4.x.x code) is soft whatever the text says, but
the reason word still comes from the text. The knowledge lives in
`bounce_rules.py`; this module only applies it, and says which rule decided.

Speed: this runs once per failed recipient on logs of millions of lines. Each
phrase rule is indexed by one word it cannot match without, so a reply is
split into words once and only the rules whose word occurs are tried.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from emaillog import bounce_rules as R
from emaillog.events import REASONS


@dataclass(frozen=True)
class Verdict:
    """What a failure means for the person (SPEC §2a)."""

    hard: bool                 # True -> hard_bounced, False -> soft_bounced
    bounce_class: str | None   # "permanent" | "spam_block" | "technical" when hard, else None
    reason: str                # one of emaillog.events.REASONS
    rule: str                  # which rule decided, e.g. "dsn:5.1.1"


# --- compiling the phrase table ---------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")
_META_AFTER = set("?*+{")


def _key_words(pattern: str) -> tuple[str, ...] | None:
    """Words of which the pattern cannot match without at least one, or None.

    Either one literal word standing outside every group and class, bounded
    on both sides by literal non-word characters (or the pattern's edge, which
    `_compile` anchors at word boundaries) and carrying no quantifier; or,
    failing that, the alternatives of a plain group such as
    "(?:sending|relay) quota", one word from each.
    """
    masked, groups = [], []
    depth, i, start = 0, 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            masked.append("\0\0")
            i += 2
            continue
        if ch in "([{":
            if depth == 0:
                start = i
            depth += 1
        if depth or ch in "|.^$":
            masked.append("\0")
        else:
            masked.append(ch)
        if ch in ")]}":
            depth -= 1
            if depth == 0 and ch == ")":
                groups.append((start, i + 1))
        i += 1
    text = "".join(masked)

    def bounded(a: int, b: int) -> bool:
        before = text[a - 1] if a else " "
        after = text[b] if b < len(text) else " "
        return before != "\0" and after != "\0" and after not in _META_AFTER

    options = [(m.group(),) for m in _WORD.finditer(text) if bounded(m.start(), m.end())]
    for a, b in groups:
        body = pattern[a:b]
        inner = body[3:-1] if body.startswith("(?:") else None
        if inner is None or not _PLAIN.fullmatch(inner) or not bounded_group(pattern, a, b):
            continue
        words = []
        for alternative in inner.split("|"):
            found = [w for w in _WORD.findall(alternative)]
            if not found:
                break
            # The alternative's edge words touch the group's edges, which are bounded.
            words.append(min(found, key=_cost))
        else:
            options.append(tuple(words))
    return min(options, key=lambda ws: sum(map(_cost, ws))) if options else None


# Words in most bounce texts make poor index keys: each would wake many rules.
_COMMON = frozenset("""
    recipient recipients mailbox unknown message address user to not mail domain
    server account rejected command the is of for from in by on your this has been
    be was are email sender delivery host service access denied rcpt data smtp
""".split())


def _cost(word: str) -> int:
    return 20 if word in _COMMON else 5 if len(word) <= 3 else 1


_PLAIN = re.compile(r"[a-z0-9 '/|-]+")


def bounded_group(pattern: str, a: int, b: int) -> bool:
    """Is pattern[a:b] bounded by literal non-word characters or the edges?"""
    before = pattern[a - 1] if a else " "
    after = pattern[b] if b < len(pattern) else " "
    return (before in " :;,'/-" or a == 0) and (after in " :;,.'/-" or b == len(pattern))


def _compile(pattern: str) -> re.Pattern[str]:
    """The pattern, matching whole words only (see bounce_rules)."""
    return re.compile(r"(?<![a-z0-9])(?:" + pattern + r")(?![a-z0-9])")


@dataclass(frozen=True)
class _Compiled:
    order: int
    phrase: R.Phrase
    regex: re.Pattern[str]
    # The same pattern without the word-boundary look-arounds: those stop the
    # regex engine from skipping ahead to a literal prefix, so this cheap
    # search runs first and the exact one only when it hits.
    quick: re.Pattern[str]


def _index(phrases) -> tuple[dict[str, tuple[_Compiled, ...]], tuple[_Compiled, ...]]:
    by_word: dict[str, list[_Compiled]] = {}
    always: list[_Compiled] = []
    for order, phrase in enumerate(phrases):
        compiled = _Compiled(order, phrase, _compile(phrase.pattern), re.compile(phrase.pattern))
        keys = _key_words(phrase.pattern)
        if keys is None:
            always.append(compiled)
        else:
            for key in keys:
                by_word.setdefault(key, []).append(compiled)
    return {k: tuple(v) for k, v in by_word.items()}, tuple(always)


_BY_WORD, _ALWAYS = _index(R.PHRASES)
_ORDER = lambda c: c.order  # noqa: E731
_SOFT_MARKERS = [re.compile(p) for p, _sample in R.SOFT_MARKERS]
_RCPT_ECHO = re.compile("|".join(R.RCPT_STAGE_ECHO))


def normalise(text: str | None) -> str:
    """Lower-case and fold whitespace: the form every pattern is written for."""
    if not text:
        return ""
    return " ".join(text.split()).lower()


def match_phrase(norm: str) -> R.Phrase | None:
    """The highest-priority phrase rule matching normalised text, if any."""
    if not norm:
        return None
    candidates = list(_ALWAYS)
    for word in set(_WORD.findall(norm)):
        rules = _BY_WORD.get(word)
        if rules:
            candidates.extend(rules)
    for c in sorted(set(candidates), key=_ORDER):
        if c.quick.search(norm) and c.regex.search(norm):
            return c.phrase
    return None


# --- parsing a raw diagnostic -------------------------------------------------

# "550 5.1.1 ...", "550-5.1.1 ...", "#550 5.2.3 ...", "smtp; 550 ...".
_REPLY = re.compile(r"(?<![\d.])([245]\d\d)(?:[ -]|$)(?:#?([245]\.\d{1,3}\.\d{1,3})(?![\d.]))?")
_DSN = re.compile(r"(?<![\d.])#?([245]\.\d{1,3}\.\d{1,3})(?![\d.])")
_PREFIX = re.compile(r"^\s*(?:diagnostic-code:\s*)?(?:smtp|x-postfix|x-unix|dns)\s*;\s*", re.I)


def parse_reply(text: str) -> tuple[int | None, str | None, str]:
    """Pull the SMTP reply code and enhanced status code out of a diagnostic.

    Handles bare replies, Postfix's "host ... said: 550-5.1.1 ..." and
    "Diagnostic-Code: smtp; 552 5.2.2 ..." forms. Returns (code, dsn, text)
    with the Diagnostic-Code prefix removed from text; code and dsn are None
    when the text carries none.
    """
    if not text:
        return None, None, ""
    prefix = _PREFIX.match(text)
    body = text.strip()[prefix.end() - (len(text) - len(text.lstrip())):] if prefix else text.strip()
    code: int | None = None
    dsn: str | None = None
    # "X-Unix; 255" is a local mailer's exit status, not a reply code.
    m = None if prefix and "unix" in prefix.group().lower() else _REPLY.search(body)
    if m:
        code = int(m.group(1))
        dsn = m.group(2)
    if dsn is None:
        d = _DSN.search(body)
        if d:
            dsn = d.group(1)
    return code, dsn, body


# How MTAs say which command a reply answered: Postfix "(in reply to RCPT TO
# command)", Exim "SMTP error from remote mail server after MAIL FROM:",
# qmail/others "did not like our final DATA", "refused to talk to me".
_STAGES = (
    ("data", re.compile(r"end of data|final data|after data|data command|\(data\)|text command")),
    ("rcpt", re.compile(r"rcpt to|rcpt command|\[rcpt_to\]|does not like recipient")),
    ("mail", re.compile(r"(?:after|reply to) mail from|mail from command|sender was rejected|\[mail_from\]")),
    ("connect", re.compile(r"refused to talk to me|initial connection|after (?:ehlo|helo)|(?:ehlo|helo) command"
                           r"|while performing the (?:ehlo|helo)|my name was rejected")),
)
# Before RCPT TO the receiver has not seen the recipient: nothing it says
# there is about the person's address.
_SENDER_STAGES = {"mail", "connect", "helo", "ehlo"}


def _stage(given: str | None, norm: str) -> str | None:
    return given.lower() if given else stage_of(norm)


def stage_of(norm: str) -> str | None:
    """The SMTP stage the text says the reply came at ("rcpt", "data",
    "mail", "connect"), or None."""
    for stage, pattern in _STAGES:
        if pattern.search(norm):
            return stage
    return None


# --- deciding -----------------------------------------------------------------

def _verdict(reason: str, transient: bool, rule: str, bounce_class: str | None = None) -> Verdict:
    """Apply the class table: 4xx is always soft; soft reasons stay soft."""
    if transient:
        return Verdict(False, None, reason, rule)
    cls = bounce_class or R.REASON_CLASS[reason]
    if cls is None:
        return Verdict(False, None, reason, rule)
    return Verdict(True, cls, reason, rule)


def _dsn_reason(dsn: str) -> tuple[str, str | None, str] | None:
    """(reason, class override, rule) for an enhanced status code, if known."""
    try:
        _cls, subject, detail = dsn.split(".")
        number = int(detail)
    except ValueError:
        return None
    key = f"{subject}.{number}"
    found = R.DSN_CODES.get(key)
    if found:
        return found[0], found[1], f"dsn:{dsn}"
    for subj, low, high, reason in R.DSN_RANGES:
        if subj == subject and low <= number <= high:
            return reason, None, f"dsn-range:{dsn[0]}.{subject}.{low}-{high}"
    if number == 0:
        # X.Y.0 only names the subject; X.0.0 says nothing at all.
        return None if subject == "0" else _subject(subject, dsn)
    return _subject(subject, dsn)


def _subject(subject: str, dsn: str) -> tuple[str, str | None, str] | None:
    reason = R.DSN_SUBJECTS.get(subject)
    if reason is None:
        return None
    return reason, None, f"dsn-subject:{dsn[0]}.{subject}.x"


@lru_cache(maxsize=8192)  # texts usually name the recipient: few repeat
def _classify(code: int | None, dsn: str | None, text: str | None,
              stage: str | None, hint: str | None) -> Verdict:
    norm = normalise(text)
    if dsn and not re.fullmatch(r"[245]\.\d{1,3}\.\d{1,3}", dsn):
        dsn = None
    transient = (code is not None and 400 <= code < 500) or (dsn is not None and dsn[0] == "4")
    if (code is not None and code < 400) or (dsn is not None and dsn[0] == "2"):
        return Verdict(False, None, "unknown", f"reply-class:{code or dsn}:not-a-failure")

    verdict = _decide(code, dsn, norm, stage, hint, transient)
    if verdict.bounce_class == R.PERMANENT and _stage(stage, norm) in _SENDER_STAGES:
        # e.g. "550 5.1.7 No such domain" in reply to MAIL FROM: our sender's domain.
        return Verdict(True, R.SPAM_BLOCK, "policy", f"{verdict.rule}+stage:{stage}")
    return verdict


def _decide(code: int | None, dsn: str | None, norm: str, stage: str | None,
            hint: str | None, transient: bool) -> Verdict:
    # 1. The text, unless it is only an MTA's status word and a code is given.
    phrase = None if dsn and norm in R.STATUS_WORDS else match_phrase(norm)
    if phrase is not None:
        reason, cls, rule = phrase.reason, phrase.bounce_class, phrase.name
        if (rule in R.DATA_STAGE_FILTERED and _stage(stage, norm) == "data"
                and not (dsn and dsn.startswith("5.1.")) and not _RCPT_ECHO.search(norm)):
            reason, rule = "policy", rule + "+stage:data"
        verdict = _verdict(reason, transient, rule, cls)
        if (verdict.hard and reason not in R.FINAL_REASONS
                and any(m.search(norm) for m in _SOFT_MARKERS)):
            return Verdict(False, None, reason, rule + "+says-temporary")
        return verdict

    # 2. The enhanced status code.
    if dsn:
        found = _dsn_reason(dsn)
        if found is not None:
            reason, cls, rule = found
            return _verdict(reason, transient, rule, cls)

    # 3. A sender's own hard/soft label (ESP bounce type).
    if hint in ("hard", "soft") and not transient:
        if hint == "hard":
            return Verdict(True, R.PERMANENT, "unknown", "hint:hard")
        return Verdict(False, None, "unknown", "hint:soft")

    # 4. The reply code, then its class.
    if code is not None:
        reason = R.REPLY_CODES.get(code)
        if reason is not None:
            return _verdict(reason, transient, f"reply-code:{code}")
        return _verdict("unknown", transient, f"reply-class:{code // 100}xx")
    if dsn:
        return _verdict("unknown", transient, f"reply-class:{dsn[0]}xx")
    return Verdict(False, None, "unknown", "no-information")


def classify(smtp_code: int | None, dsn: str | None, text: str | None, *,
             stage: str | None = None, hint: str | None = None) -> Verdict:
    """Classify one failed delivery (SPEC §2a).

    `stage` is "rcpt" or "data" when the log says which command the reply
    answered; `hint` is a sender's own "hard"/"soft" label, used only when the
    text and the codes decide nothing.
    """
    if isinstance(smtp_code, str):
        smtp_code = int(smtp_code) if smtp_code.isdigit() else None
    if hint:
        hint = {"permanent": "hard", "transient": "soft", "undetermined": None}.get(hint.lower(), hint.lower())
    return _classify(smtp_code, dsn or None, text or None, stage, hint)


def classify_text(text: str, *, hint: str | None = None) -> Verdict:
    """Classify a raw diagnostic ("550 5.1.1 <x@y>: User unknown")."""
    code, dsn, body = parse_reply(text)
    return classify(code, dsn, body, hint=hint)


assert set(R.REASON_CLASS) == set(REASONS), "bounce_rules.REASON_CLASS must cover events.REASONS"


# --- the memo -----------------------------------------------------------------
# Reply texts name the recipient, the sending IP and message ids, so few
# repeat as they are; with those masked, a busy log's thousands of bounce
# texts are a few hundred, each classified once. Masks keep the shape a rule
# could look at (an address stays an address, an IP an IP), and leave short
# tokens alone: provider codes such as S3150 or LPN000_630 decide verdicts.
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_LONG_RUN = re.compile(r"[\w-]{16,}")
_HAS_DIGIT = re.compile(r"\d")


def masked(text: str | None, address: str | None = None) -> str | None:
    """The text with the recipient's own address, IPv4 addresses and long
    ids replaced by stand-ins of the same kind."""
    if not text:
        return text
    return _masked_ids(_without_address(text, address))


def _without_address(text: str, address: str | None) -> str:
    """The text with the recipient's own address (in any case: replies echo
    it as it was given) replaced by a stand-in."""
    if address:
        lower = text.lower()
        at = lower.find(address) if len(lower) == len(text) else text.find(address)
        if at >= 0:
            parts, start = [], 0
            while at >= 0:
                parts.append(text[start:at])
                parts.append("someone@example.invalid")
                start = at + len(address)
                at = lower.find(address, start)
            parts.append(text[start:])
            text = "".join(parts)
    return text


def _masked_ids(text: str) -> str:
    """The text with IPv4 addresses and long ids replaced by stand-ins."""
    if "." in text:
        text = _IPV4.sub("192.0.2.1", text)
    return _LONG_RUN.sub(_long_id, text)


def _long_id(m: re.Match) -> str:
    """A long run of word characters with a digit in it is an id."""
    return "0123456789abcdef" if _HAS_DIGIT.search(m.group()) else m.group()


def classify_memo(smtp_code: int | None, dsn: str | None, text: str | None, *,
                  stage: str | None = None, hint: str | None = None, address: str | None = None) -> Verdict:
    """classify() of the masked text: the same verdict for every text that
    differs only in addresses, IPs and ids, computed once. Without its
    recipient's address a reply repeats as it is (one server, one IP), so
    the regular expressions that mask the rest run once per such text."""
    if not text:
        return classify(smtp_code, dsn, text, stage=stage, hint=hint)
    key = (smtp_code, dsn, _without_address(text, address), stage, hint)
    verdict = _MEMO.get(key)
    if verdict is None:
        if len(_MEMO) >= MEMO_SIZE:
            _MEMO.clear()
        verdict = _MEMO[key] = classify(smtp_code, dsn, _masked_ids(key[2]), stage=stage, hint=hint)
    return verdict


MEMO_SIZE = 20_000  # replies without their address, and their verdicts
_MEMO: dict = {}
