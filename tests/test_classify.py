"""The bounce classifier (SPEC §2a), driven by tests/data/classify_cases.tsv.

Each case line is: expected class (permanent, spam_block, technical or soft),
expected reason, the raw diagnostic as an MTA logs it, and optionally the SMTP
stage and a sender's hard/soft hint. Add a line to add a case.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from emaillog import bounce_rules as R
from emaillog.classify import Verdict, _compile, _key_words, classify, classify_text, normalise, parse_reply
from emaillog.events import BOUNCE_CLASSES, REASONS

CASES_FILE = Path(__file__).parent / "data" / "classify_cases.tsv"


def _load_cases():
    cases = []
    for number, line in enumerate(CASES_FILE.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t") + ["", ""]
        expected, reason, text, stage, hint = (f.strip() for f in fields[:5])
        cases.append(pytest.param(expected, reason, text, stage or None, hint or None,
                                  id=f"L{number}:{text[:50]}"))
    return cases


CASES = _load_cases()


@pytest.mark.parametrize("expected, reason, text, stage, hint", CASES)
def test_case(expected, reason, text, stage, hint):
    code, dsn, body = parse_reply(text)
    verdict = classify(code, dsn, body, stage=stage, hint=hint)
    got = verdict.bounce_class if verdict.hard else "soft"
    assert (got, verdict.reason) == (expected, reason), verdict.rule


def test_cases_cover_every_class_and_reason():
    assert len(CASES) >= 150
    classes = {c.values[0] for c in CASES}
    reasons = {c.values[1] for c in CASES}
    assert classes == set(BOUNCE_CLASSES) | {"soft"}
    assert reasons == set(REASONS)


# --- every rule is data with a sample, and the sample proves it ---------------

@pytest.mark.parametrize("phrase", R.PHRASES, ids=lambda p: p.name)
def test_phrase_rule_matches_its_sample(phrase):
    assert phrase.reason in REASONS
    assert not re.search(r"(?<!\\)\|", _top_level(phrase.pattern)), "no top-level | (write two rules)"
    assert _compile(phrase.pattern).search(normalise(phrase.sample)), phrase.sample
    # The sample is classified by this rule's reason: no earlier rule shadows it.
    assert classify_text(phrase.sample).reason == phrase.reason, classify_text(phrase.sample).rule


@pytest.mark.parametrize("phrase", R.PHRASES, ids=lambda p: p.name)
def test_phrase_key_word_is_in_its_sample(phrase):
    keys = _key_words(phrase.pattern)
    if keys is not None:
        assert set(keys) & set(re.findall(r"[a-z0-9]+", normalise(phrase.sample)))


def _top_level(pattern: str) -> str:
    depth, out = 0, []
    for ch in pattern:
        depth += ch in "(["
        out.append(ch if depth == 0 else " ")
        depth -= ch in ")]"
    return "".join(out)


@pytest.mark.parametrize("pattern, sample", R.SOFT_MARKERS)
def test_soft_marker_matches_its_sample(pattern, sample):
    assert re.search(pattern, normalise(sample))


def test_code_tables_use_known_reasons():
    for reason, cls in R.DSN_CODES.values():
        assert reason in REASONS and cls in (None, *BOUNCE_CLASSES)
    assert set(R.DSN_SUBJECTS.values()) <= set(REASONS)
    assert {r[3] for r in R.DSN_RANGES} <= set(REASONS)
    assert set(R.REPLY_CODES.values()) <= set(REASONS)
    assert set(R.REASON_CLASS) == set(REASONS)


@pytest.mark.parametrize("key, sample", R.DSN_SAMPLES.items())
def test_dsn_sample(key, sample):
    code, dsn, text = parse_reply(sample)
    assert dsn.split(".", 1)[1] == key
    assert classify(code, dsn, text).reason == R.DSN_CODES[key][0]


# --- parse_reply ---------------------------------------------------------------

@pytest.mark.parametrize("raw, code, dsn", [
    ("550 5.1.1 <x@y>: User unknown", 550, "5.1.1"),
    ("host mx.example.com[1.2.3.4] said: 550-5.1.1 The email account ... (in reply to RCPT TO command)", 550, "5.1.1"),
    ("smtp; 550 5.7.1 Go away", 550, "5.7.1"),
    ("Diagnostic-Code: smtp; 552 5.2.2 Mailbox full", 552, "5.2.2"),
    ("#550 5.2.3 RESOLVER.RST.RecipSizeLimit; message too large ##", 550, "5.2.3"),
    ("Sorry, no mailbox here by that name. (#5.1.1)", None, "5.1.1"),
    ("connect to mx.example.com[192.0.2.1]:25: Connection timed out", None, None),
    ("X-Unix; 255", None, None),
    ("", None, None),
])
def test_parse_reply(raw, code, dsn):
    assert parse_reply(raw)[:2] == (code, dsn)


def test_parse_reply_strips_diagnostic_prefix():
    assert parse_reply("Diagnostic-Code: smtp; 552 5.2.2 Mailbox full")[2] == "552 5.2.2 Mailbox full"


# --- the rules of SPEC §2a that cut across reasons ------------------------------

def test_any_4xx_is_soft_but_keeps_the_reason():
    v = classify(450, "4.1.1", "Recipient address rejected: User unknown")
    assert v == Verdict(False, None, "user_unknown", v.rule)
    assert not classify(550, "4.7.1", "blocked using zen.spamhaus.org").hard
    assert not classify(421, "5.7.1", "Access denied").hard


def test_text_beats_code():
    v = classify(550, "5.1.1", "192.0.2.1 has sent to too many recipients this hour")
    assert (v.hard, v.reason) == (False, "rate_limited")


def test_rejection_before_rcpt_is_about_the_sender():
    v = classify(550, "5.1.1", "User unknown", stage="mail")
    assert (v.bounce_class, v.reason) == ("spam_block", "policy")


def test_hint_only_when_nothing_else_decides():
    assert classify(None, None, None, hint="hard").bounce_class == "permanent"
    assert classify(None, None, "mailbox full", hint="hard").hard is False
    assert classify(550, "5.1.1", None, hint="soft").bounce_class == "permanent"
    assert classify(None, None, None, hint="Permanent").hard is True


def test_rule_names_say_what_decided():
    assert classify_text("550 5.1.1 <x@y>: User unknown").rule.endswith(":user_unknown:'user unknown'")
    assert classify(550, "5.1.1", "").rule == "dsn:5.1.1"
    assert classify(554, None, "").rule == "reply-code:554"


def test_never_raises_on_odd_input():
    for args in [(None, None, None), (999, "9.9.9", "x" * 10000), (550, "5.1", "\x00"),
                 ("550", "5.1.1", "User unknown"), (550, "5.999.999", "")]:
        v = classify(*args)
        assert v.reason in REASONS


def test_memo_gives_the_verdict_of_each_masked_text():
    """classify_memo keys its memo on the text without the recipient's
    address: every case, asked for two recipients named in the text (one
    in another case), gets what classify gives the masked text itself."""
    from emaillog.classify import _MEMO, classify_memo, masked
    _MEMO.clear()
    for param in CASES:
        _, _, text, stage, hint = param.values
        code, dsn, body = parse_reply(text)
        for address in ("ann@example.com", "bob.smith@mail.example.org"):
            named = f"<{address.upper() if address[0] == 'b' else address}>: {body}"
            want = classify(code, dsn, masked(named, address), stage=stage, hint=hint)
            assert classify_memo(code, dsn, named, stage=stage, hint=hint, address=address) == want, named
    assert _MEMO, "the memo was not used"


def test_memo_masks_what_differs_between_recipients():
    from emaillog.classify import _MEMO, classify_memo
    _MEMO.clear()
    texts = [f"host mx.example.org[192.0.2.{n}] said: 550 5.1.1 <user{n}@example.org>: Recipient address "
             f"rejected: User unknown in virtual mailbox table (in reply to RCPT TO command)" for n in range(1, 40)]
    verdicts = {classify_memo(550, "5.1.1", t, stage="rcpt", address=f"user{n}@example.org")
                for n, t in enumerate(texts, 1)}
    assert len(verdicts) == 1 and next(iter(verdicts)).hard
    assert len(_MEMO) == len(texts)  # each IP makes its own key; the address does not
    classify_memo(550, "5.1.1", texts[0].replace("user1@", "USER1@"), stage="rcpt", address="user1@example.org")
    assert len(_MEMO) == len(texts)
