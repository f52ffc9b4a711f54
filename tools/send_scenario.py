#!/usr/bin/env python3
"""Build and submit the scripted mail scenarios used for the golden log captures.

Subcommands::

    send_scenario.py build PROFILE --out FILE.scenario.json [--seed N]
    send_scenario.py send FILE.scenario.json [--host 127.0.0.1] [--port 25]
                     [--via smtp|sendmail|as-built] [--sendmail /usr/sbin/sendmail]
                     [--delay 0.3] [--messages 1,3]
    send_scenario.py map FILE.scenario.json virtual|access|aliases|zone|zone_failing

Profiles: ``postfix`` (the big ``scenario.log``: ~100 messages, 1-5 recipients,
every sink behaviour, campaigns spring/autumn/welcome, repeats), ``rfc3339``
(~20 messages), ``sample`` (the README demo people ann, bob, carol, dave, erin...;
used with ``tools/sample_rules.json``) and ``mta`` (~40 messages for Exim,
OpenSMTPD and Sendmail).

The scenario file is what was sent: per message the envelope sender, the
campaign header (or null), the Message-ID set, the submission method and the
recipients, each with the sink behaviour it triggers and the event(s) the
SPEC (sections 2, 2a) expects for that person.  ``send`` writes the
submission results (time, the MTA's reply, locally refused recipients) back
into the same file.

Recipients' local parts pick the sink behaviour (see tools/smtp_sink.py):
``unknown3@example.org`` is rejected as user unknown, ``grey2@example.net`` is
greylisted once, plain names are accepted.  Aliases (``aliases`` in the
scenario) are rewritten by the MTA (Postfix virtual_alias_maps), so the log
shows ``orig_to=``; the person is the address as sent.  ``local_reject``
addresses are refused by our own MTA at RCPT (never sent).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import random
import smtplib
import subprocess
import sys
import time
from email.utils import formatdate

DOMAIN = "news.example.net"
PLAIN_SENDER = f"newsletter@{DOMAIN}"
CAMPAIGNS = ["spring", "autumn", "welcome"]
DOMAINS = ["example.com", "example.org", "example.net", "mail.example.co.uk"]
PLAIN_NAMES = ["ann", "bob", "carol", "dave", "erin", "frank", "gina", "hal", "ivy",
               "jo", "kim", "liam", "mia", "ned", "olga", "pete", "quinn", "rosa",
               "sam", "tina", "uma", "vic", "walt", "xena", "yuri", "zoe"]

# behaviour -> what the SPEC says the person's log should show
EXPECT = {
    "ok": {"events": ["sent", "delivered"]},
    "unknown": {"events": ["sent", "hard_bounced"], "bounce_class": "permanent",
                "reason": "user_unknown", "smtp_code": 550, "dsn": "5.1.1"},
    "block": {"events": ["sent", "hard_bounced"], "bounce_class": "spam_block",
              "reason": "blocklisted", "smtp_code": 554, "dsn": "5.7.1"},
    "full": {"events": ["sent", "soft_bounced"], "bounce_class": None,
             "reason": "mailbox_full", "smtp_code": 552, "dsn": "5.2.2",
             "note": "5xx mailbox full is soft per SPEC 2a; the MTA itself bounces it"},
    "fulltemp": {"events": ["sent", "soft_bounced"], "bounce_class": None,
                 "reason": "mailbox_full", "smtp_code": 452, "dsn": "4.2.2",
                 "note": "deferred on every attempt until the MTA's queue lifetime ends"},
    "grey": {"events": ["sent", "soft_bounced", "delivered"], "bounce_class": None,
             "reason": "greylisted", "smtp_code": 450, "dsn": "4.7.1"},
    "defer": {"events": ["sent", "soft_bounced"], "bounce_class": None,
              "reason": "system", "smtp_code": 451, "dsn": "4.3.0",
              "note": "deferred on every attempt; the MTA finally gives up (expired)"},
    "big": {"events": ["sent", "hard_bounced"], "bounce_class": "technical",
            "reason": "message_too_large", "smtp_code": 552, "dsn": "5.3.4"},
    "spam": {"events": ["sent", "hard_bounced"], "bounce_class": "spam_block",
             "reason": "spam_content", "smtp_code": 550, "dsn": "5.7.1"},
    "disabled": {"events": ["sent", "hard_bounced"], "bounce_class": "permanent",
                 "reason": "mailbox_disabled", "smtp_code": 550, "dsn": "5.2.1"},
    "refused": {"events": ["sent", "soft_bounced"], "bounce_class": None, "reason": "connection",
                "note": "the domain is routed to 127.0.0.1:2626 where nothing listens: "
                        "connection refused on every attempt until the MTA gives up"},
    "local_reject": {"events": [], "note": "refused by our own MTA before queueing: never sent"},
}


def msgid(campaign, n):
    return f"<{campaign or 'tx'}.{n:04d}.{random.getrandbits(40):010x}@{DOMAIN}>"


def rcpt(addr, behaviour, **extra):
    d = {"address": addr, "behaviour": behaviour, "expect": EXPECT[behaviour]}
    d.update(extra)
    return d


class Builder:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        random.seed(seed)
        self.messages = []
        self.counters = {}

    def special(self, beh, domain=None):
        self.counters[beh] = self.counters.get(beh, 0) + 1
        domain = domain or self.rng.choice(DOMAINS)
        return f"{beh}{self.counters[beh]}@{domain}"

    def plain(self, i=None):
        name = self.rng.choice(PLAIN_NAMES) if i is None else PLAIN_NAMES[i % len(PLAIN_NAMES)]
        return f"{name}@{self.rng.choice(DOMAINS[:3])}"

    def add(self, campaign, rcpts, verp=True, via="smtp", note=None, subject=None):
        n = len(self.messages) + 1
        sender = f"bounces+{campaign}@{DOMAIN}" if (campaign and verp) else PLAIN_SENDER
        m = {"n": n, "envelope_sender": sender, "campaign_header": campaign,
             "campaign": campaign, "message_id": msgid(campaign, n), "via": via,
             "subject": subject or (f"{campaign.title()} news #{n}" if campaign
                                    else f"Your account notice #{n}"),
             "recipients": rcpts}
        if note:
            m["note"] = note
        self.messages.append(m)
        return m


def build_postfix(seed):
    b = Builder(seed)
    rng = b.rng
    specials = ["unknown"] * 14 + ["block"] * 8 + ["full"] * 6 + ["fulltemp"] * 3 + \
        ["grey"] * 10 + ["defer"] * 6 + ["disabled"] * 5
    rng.shuffle(specials)
    people = [f"{n}@{d}" for n in PLAIN_NAMES for d in DOMAINS[:3]]
    rng.shuffle(people)
    pi = 0
    for i in range(84):
        campaign = CAMPAIGNS[i % 3]
        k = rng.choice([1, 1, 2, 2, 3, 3, 4, 5])
        rcpts = []
        for _ in range(k):
            if specials and rng.random() < 0.3:
                beh = specials.pop()
                rcpts.append(rcpt(b.special(beh), beh))
            else:
                rcpts.append(rcpt(people[pi % len(people)], "ok"))
                pi += 1
        via = "sendmail" if i % 9 == 4 else "smtp"
        b.add(campaign, rcpts, verp=(i % 4 != 1), via=via)
    # whatever specials are left: one or two per message
    while specials:
        rcpts = []
        for _ in range(min(2, len(specials))):
            beh = specials.pop()
            rcpts.append(rcpt(b.special(beh), beh))
        b.add(rng.choice(CAMPAIGNS), rcpts)
    # DATA-stage failures alone in their message
    for beh, camp in [("big", "spring"), ("big", "welcome"), ("spam", "autumn"),
                      ("spam", "spring"), ("spam", "welcome")]:
        b.add(camp, [rcpt(b.special(beh), beh)], verp=(camp != "autumn"))
    # aliases (orig_to=) and local rejects (NOQUEUE)
    b.add("spring", [rcpt("frank.alias@example.com", "ok", rewritten_to="frank.inbox@example.org"),
                     rcpt("ann@example.com", "ok")], note="alias rewritten by virtual_alias_maps")
    b.add("autumn", [rcpt("old-address@example.com", "unknown",
                          rewritten_to="unknown.moved@example.org")], verp=False,
          note="alias target is rejected as user unknown: the person is the alias")
    b.add("autumn", [rcpt("someone@deadhost.example", "refused"), rcpt("quinn@example.org", "ok")],
          note="deadhost.example is routed to a port where nothing listens")
    b.add("welcome", [rcpt("optout@example.com", "local_reject"), rcpt("gina@example.com", "ok")],
          note="optout@example.com is refused by our own MTA (check_recipient_access)")
    # transactional mail: no campaign header, plain sender
    b.add(None, [rcpt("erin@example.com", "ok")], verp=False)
    b.add(None, [rcpt(b.special("unknown", "example.com"), "unknown")], verp=False)
    # repeats: same campaign to the same person twice (two messages)
    for camp, addr, beh in [("spring", "ann@example.com", "ok"), ("autumn", "bob@example.net", "ok"),
                            ("welcome", "carol@example.org", "ok"),
                            ("spring", "unknown.repeat@example.com", "unknown"),
                            ("autumn", "kim@example.com", "ok")]:
        for rep in (1, 2):
            b.add(camp, [rcpt(addr, beh)], note=f"sent twice to the same person ({rep}/2)",
                  via="sendmail" if rep == 2 and camp == "welcome" else "smtp")
    first_grey = next(r["address"] for m in b.messages for r in m["recipients"]
                      if r["behaviour"] == "grey")
    grey_again = rcpt(first_grey, "grey",
                      note="second message with the same sender: the greylist already knows the "
                           "(sender, recipient) pair, so it passes at once")
    grey_again["expect"] = {"events": ["sent", "delivered"]}
    for m in b.messages:
        if any(r["address"] == first_grey for r in m["recipients"]):
            camp, verp = m["campaign"], m["envelope_sender"] != PLAIN_SENDER
            b.add(camp, [grey_again], verp=verp, note="sent twice to the same person (2/2)")
            break
    return {"profile": "postfix", "messages": b.messages,
            "aliases": {"frank.alias@example.com": "frank.inbox@example.org",
                        "old-address@example.com": "unknown.moved@example.org"},
            "local_reject": ["optout@example.com"]}


def build_rfc3339(seed):
    b = Builder(seed)
    plan = [("spring", ["ok", "ok", "unknown"]), ("spring", ["grey"]), ("spring", ["ok", "block"]),
            ("autumn", ["full", "ok"]), ("autumn", ["defer"]), ("autumn", ["ok", "ok"]),
            ("welcome", ["disabled", "ok"]), ("welcome", ["big"]), ("welcome", ["spam"]),
            ("spring", ["ok"]), ("autumn", ["grey", "ok", "unknown"]), ("welcome", ["ok", "ok", "ok"]),
            (None, ["ok"]), ("spring", ["fulltemp"]), ("autumn", ["ok", "block"]),
            ("welcome", ["ok"]), ("spring", ["ok", "disabled"]), ("autumn", ["ok"])]
    i = 0
    for j, (camp, behs) in enumerate(plan):
        rc = []
        for beh in behs:
            if beh == "ok":
                rc.append(rcpt(b.plain(i), "ok"))
                i += 1
            else:
                rc.append(rcpt(b.special(beh), beh))
        b.add(camp, rc, verp=(j % 3 != 1))
    b.add("spring", [rcpt("frank.alias@example.com", "ok", rewritten_to="frank.inbox@example.org")])
    return {"profile": "rfc3339", "messages": b.messages,
            "aliases": {"frank.alias@example.com": "frank.inbox@example.org"}, "local_reject": []}


def build_sample(seed):
    b = Builder(seed)
    E = "example.com"
    def ok(a, **kw):
        return rcpt(a, "ok", **kw)
    people = {
        "ann": "delivered in spring; greylisted then delivered in autumn; spam-blocked in welcome",
        "bob": "user unknown", "carol": "mailbox full (552 5.2.2)",
        "dave": "deferred until the MTA gives up", "erin": "delivered",
        "frank": "alias frank@example.com -> frank.inbox@example.org (orig_to)",
        "gina": "delivered", "hal": "account disabled", "ivy": "message too large",
        "jo": "mailbox full 452 once, then delivered", "kim": "delivered twice in spring",
    }
    # spring: VERP sender bounces+spring@
    b.add("spring", [ok(f"ann@{E}"), rcpt(f"bob@{E}", "unknown")])
    b.add("spring", [rcpt(f"carol@{E}", "full"), ok(f"erin@{E}")])
    b.add("spring", [ok(f"frank@{E}", rewritten_to="frank.inbox@example.org")])
    b.add("spring", [ok(f"gina@{E}"), ok(f"kim@{E}"), ok("liam@example.org")])
    b.add("spring", [ok(f"kim@{E}")], note="sent twice to the same person (2/2)")
    b.add("spring", [ok("mia@example.org"), ok("ned@example.net")])
    b.add("spring", [rcpt(f"hal@{E}", "disabled")])
    b.add("spring", [ok("olga@example.net")])
    # autumn: plain sender, campaign only in the header
    grey = rcpt(f"ann@{E}", "grey")
    b.add("autumn", [grey, ok(f"erin@{E}")], verp=False)
    b.add("autumn", [rcpt(f"dave@{E}", "defer")], verp=False)
    b.add("autumn", [ok(f"gina@{E}"), ok("liam@example.org"), ok("pete@example.net")], verp=False)
    b.add("autumn", [rcpt(f"bob@{E}", "unknown")], verp=False,
          note="mailed again after a hard bounce (the campaign system should have suppressed it)")
    jo = rcpt(f"jo@{E}", "fulltemp")
    jo["expect"] = {"events": ["sent", "soft_bounced", "delivered"], "reason": "mailbox_full",
                    "smtp_code": 452, "dsn": "4.2.2"}
    b.add("autumn", [jo], verp=False)
    b.add("autumn", [ok("mia@example.org")], verp=False)
    b.add("autumn", [ok(f"frank@{E}", rewritten_to="frank.inbox@example.org"), ok("quinn@example.net")],
          verp=False)
    # welcome: VERP
    b.add("welcome", [rcpt(f"ann@{E}", "block")])
    b.add("welcome", [rcpt(f"ivy@{E}", "big")])
    b.add("welcome", [ok("rosa@example.org"), ok("sam@example.net")])
    b.add("welcome", [ok(f"erin@{E}")])
    b.add("welcome", [rcpt("spamtrap@example.net", "spam")])
    b.add("welcome", [ok("tina@example.org"), rcpt("unknown1@example.net", "unknown"), ok("uma@example.org")])
    b.add("welcome", [ok(f"carol@{E}")], note="carol's mailbox has room again")
    # transactional
    b.add(None, [rcpt(f"dave@{E}", "defer", note="the rules defer every message to dave")],
          verp=False, subject="Your password reset")
    return {"profile": "sample", "people": people, "messages": b.messages,
            "aliases": {f"frank@{E}": "frank.inbox@example.org"}, "local_reject": [],
            "rules": "tools/sample_rules.json"}


def build_mta(seed):
    b = Builder(seed)
    rng = b.rng
    behs = ["unknown"] * 6 + ["block"] * 4 + ["full"] * 3 + ["fulltemp"] * 1 + ["grey"] * 5 + \
        ["defer"] * 3 + ["disabled"] * 2
    rng.shuffle(behs)
    i = 0
    for j in range(30):
        camp = CAMPAIGNS[j % 3]
        rc = []
        for _ in range(rng.choice([1, 1, 2, 3, 4])):
            if behs and rng.random() < 0.4:
                beh = behs.pop()
                rc.append(rcpt(b.special(beh), beh))
            else:
                rc.append(rcpt(b.plain(i), "ok"))
                i += 1
        b.add(camp, rc, verp=(j % 4 != 1))
    while behs:
        beh = behs.pop()
        b.add(rng.choice(CAMPAIGNS), [rcpt(b.special(beh), beh)])
    for beh, camp in [("big", "spring"), ("spam", "autumn"), ("spam", "welcome")]:
        b.add(camp, [rcpt(b.special(beh), beh)])
    b.add(None, [rcpt("erin@example.com", "ok")], verp=False)
    for rep in (1, 2):
        b.add("spring", [rcpt("ann@example.com", "ok")], note=f"sent twice to the same person ({rep}/2)")
    return {"profile": "mta", "messages": b.messages, "aliases": {}, "local_reject": []}


def filtered(r, hops, final_by):
    """Mark a recipient of a content-filtered capture: ``hops`` lists the
    hand-offs (neither sent nor delivered), ``final_by`` which queue copy
    carries the outcome that belongs to this person and message."""
    r["hops"] = hops
    r["final_by"] = final_by
    return r


AMAVIS_HOP = ["postfix -> smtp-amavis:[127.0.0.1]:10024 (amavisd-new) -> re-injected on "
              "127.0.0.1:10025 as a new queue ID: 'status=sent (250 2.0.0 from "
              "MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as QID2)' is a hop"]


def build_filter(seed):
    """Postfix + amavisd-new (content_filter): every message crosses the filter
    once, so each recipient has a hop line (relay=127.0.0.1[127.0.0.1]:10024,
    status=sent ... queued as QID2) and then the real outcome on QID2."""
    b = Builder(seed)
    hop, fin = AMAVIS_HOP, "the re-injected copy (QID2, relay to the sink)"

    def r(addr, beh, **kw):
        return filtered(rcpt(addr, beh, **kw), hop, fin)
    b.add("spring", [r("ann@example.com", "ok"), r("unknown1@example.org", "unknown"),
                     r("bob@example.net", "ok"), r("carol@example.org", "ok")],
          note="several recipients: one hop line per recipient, all 'queued as' the same QID2")
    b.add("spring", [r("frank.alias@example.com", "ok", rewritten_to="frank.inbox@example.org"),
                     r("dave@example.com", "ok")],
          note="virtual alias: the hop line has orig_to=<frank.alias@example.com>; the person "
               "is the alias")
    b.add("autumn", [r("grey1@example.net", "grey"), r("erin@example.org", "ok")], verp=False)
    b.add("autumn", [r("block1@example.com", "block")], verp=False)
    b.add("welcome", [r("defer1@example.org", "defer")],
          note="the copy is deferred by the sink until Postfix expires it (4m)")
    b.add("welcome", [r("full1@example.com", "full"), r("gina@example.net", "ok"),
                      r("hal@example.org", "ok"), r("unknown2@example.com", "unknown"),
                      r("ivy@example.com", "ok")])
    b.add("autumn", [r("old-address@example.com", "unknown",
                       rewritten_to="unknown.moved@example.org")], verp=False,
          note="alias target rejected as user unknown on the copy: the person is the alias")
    b.add("spring", [r("spam1@example.net", "spam")],
          note="the copy is refused at end of DATA by the sink")
    b.add(None, [r("sniptybounce", "ok", rewritten_to="someone@example.com")], verp=False,
          via="sendmail", subject="Your account notice (bare alias)",
          note="submitted with /usr/sbin/sendmail to the bare local name 'sniptybounce'; "
               "virtual_alias_maps maps sniptybounce@news.example.net to someone@example.com: "
               "the hop line shows orig_to=<sniptybounce>")
    lb = rcpt("listbounce", "ok", rewritten_to="jo.list@example.net")
    lb["hops"] = hop + ["QID2: local(8) expands the alias 'listbounce' (alias_maps) to "
                        "jo.list@example.net: 'relay=local ... status=sent (forwarded as QID3)' "
                        "is a hop",
                        "QID3 (to=<jo.list@example.net>, orig_to=<listbounce@news.example.net>) "
                        "goes to the sink without crossing the filter again"]
    lb["final_by"] = "the forwarded copy (QID3, relay to the sink)"
    b.add(None, [lb], verp=False, via="sendmail", subject="Your account notice (local alias)",
          note="bare local alias in /etc/aliases expanded by local(8) to an external address")
    b.add("welcome", [r("kim@example.com", "ok"), r("liam@example.org", "ok"),
                      r("grey2@example.com", "grey"), r("mia@example.net", "ok"),
                      r("ned@example.org", "ok"), r("olga@example.com", "ok")])
    b.add(None, [r("pete@example.net", "ok")], verp=False)
    return {"profile": "filter", "messages": b.messages,
            "aliases": {"frank.alias@example.com": "frank.inbox@example.org",
                        "old-address@example.com": "unknown.moved@example.org",
                        "sniptybounce@news.example.net": "someone@example.com"},
            "local_aliases": {"listbounce": "jo.list@example.net"},
            "local_reject": [],
            "filter": {"content_filter": "smtp-amavis:[127.0.0.1]:10024",
                       "reinjection": "127.0.0.1:10025 smtpd (content_filter=, no address "
                                      "mappings)",
                       "rule": "a line relay=127.0.0.1[127.0.0.1]:10024 ... status=sent "
                               "(250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: "
                               "queued as QID2) is a hop: neither sent nor delivered. The "
                               "outcome logged for QID2 (or a later copy) belongs to the "
                               "original message and to the person as sent (orig_to on the "
                               "hop line when an alias rewrote it)."}}


def dns_rcpt(addr, behaviour, expect, dns, **extra):
    """A recipient whose outcome the (stub) DNS decides, not the sink."""
    d = {"address": addr, "behaviour": behaviour, "dns": dns, "expect": expect}
    d.update(extra)
    return d


DNS_EXPECT = {
    "nxdomain": {"events": ["sent", "hard_bounced"], "bounce_class": "permanent",
                 "reason": "bad_domain", "dsn": "5.4.4",
                 "note": "NXDOMAIN: the MTA bounces at once without talking to any server"},
    "tempfail": {"events": ["sent", "soft_bounced"], "bounce_class": None,
                 "reason": "dns_tempfail", "dsn": "4.4.3",
                 "note": "the lookup fails temporarily on every attempt: deferred ('try again') "
                         "until the queue lifetime ends, then returned (expired)"},
    "nullmx": {"events": ["sent", "hard_bounced"], "bounce_class": "permanent",
               "reason": "bad_domain", "dsn": "5.1.0",
               "note": "RFC 7505 null MX: the domain accepts no mail"},
    "nodata": {"events": ["sent", "hard_bounced"], "bounce_class": "permanent",
               "reason": "bad_domain",
               "note": "the name exists but has neither MX nor A records (NODATA)"},
}


def build_resolver(seed):
    """Postfix with DNS lookups against tools/stub_dns.py: some domains deliver
    (MX or A -> 127.0.0.2 where the sink listens on port 25), others fail in
    DNS, permanently (NXDOMAIN, null MX, an MX host without address) or
    temporarily (SERVFAIL, no answer)."""
    b = Builder(seed)
    X = DNS_EXPECT
    b.add("spring", [rcpt("ann@example.com", "ok"),
                     dns_rcpt("bob@no-such-domain.example", "dns:nxdomain", X["nxdomain"],
                              "no-such-domain.example: NXDOMAIN"),
                     dns_rcpt("carol@dnsfail.example", "dns:servfail", X["tempfail"],
                              "dnsfail.example: SERVFAIL for every type"),
                     rcpt("dave@example.org", "ok", note="example.org has no MX, only an A record")],
          note="one message, four outcomes: delivered (MX), bounced (NXDOMAIN), deferred "
               "(SERVFAIL) then expired, delivered (A fallback)")
    b.add("spring", [dns_rcpt("erin@dnstimeout.example", "dns:timeout", X["tempfail"],
                              "dnstimeout.example: the server never answers")])
    b.add("autumn", [dns_rcpt("frank@badmx.example", "dns:mx-host-nxdomain",
                              dict(X["nxdomain"], note="MX exists, its host name is NXDOMAIN"),
                              "badmx.example MX 10 mx.badmx.example; mx.badmx.example NXDOMAIN")],
          verp=False)
    b.add("autumn", [dns_rcpt("gina@mxfail.example", "dns:mx-host-servfail",
                              dict(X["tempfail"], note="MX exists, the A lookup of its host "
                                                       "fails with SERVFAIL"),
                              "mxfail.example MX 10 mx.dnsfail.example (SERVFAIL)")], verp=False)
    b.add("welcome", [dns_rcpt("hal@nullmx.example", "dns:nullmx", X["nullmx"],
                               "nullmx.example MX 0 ."), rcpt("ivy@example.com", "ok")])
    b.add("welcome", [dns_rcpt("jo@nodata.example", "dns:nodata", X["nodata"],
                               "nodata.example has only a TXT record")])
    b.add("spring", [rcpt("unknown1@example.com", "unknown"), rcpt("grey1@example.org", "grey"),
                     rcpt("kim@example.com", "ok")],
          note="the domains that resolve still get the sink's answers")
    b.add(None, [dns_rcpt("liam@no-such-domain.example", "dns:nxdomain", X["nxdomain"],
                          "no-such-domain.example: NXDOMAIN")], verp=False)
    b.add("autumn", [dns_rcpt("mia@dnsfail.example", "dns:servfail", X["tempfail"],
                              "dnsfail.example: SERVFAIL for every type"),
                     dns_rcpt("ned@dnstimeout.example", "dns:timeout", X["tempfail"],
                              "dnstimeout.example: the server never answers")])
    return {"profile": "resolver", "messages": b.messages, "aliases": {}, "local_reject": [],
            "zone": {"records": {"example.com": {"MX": [[10, "mx1.example.com"]]},
                                 "mx1.example.com": {"A": ["127.0.0.2"]},
                                 "example.org": {"A": ["127.0.0.2"]},
                                 "badmx.example": {"MX": [[10, "mx.badmx.example"]]},
                                 "mxfail.example": {"MX": [[10, "mx.dnsfail.example"]]},
                                 "nullmx.example": {"MX": [[0, "."]]},
                                 "nodata.example": {"TXT": ["v=spf1 -all"]}},
                     "rcode": {"dnsfail.example": "SERVFAIL", "dnstimeout.example": "DROP"},
                     "default": "NXDOMAIN"}}


FLAKY_NOTE = ("flaky.example accepted mail within the retry window: our resolver failing, "
              "not a bad domain")


def build_resolver_flap(seed):
    """Our own resolver failing for a while: flaky.example (MX -> mx1.flaky.example
    A 127.0.0.2, the sink) takes message 1, then the stub DNS says it does not
    exist (``zone_failing``, loaded with SIGHUP) while message 2 goes out, then
    answers again for message 3.  The capture script sends one phase at a time
    (``send --messages N``) and swaps the zone between phases."""
    b = Builder(seed)
    X = DNS_EXPECT
    ok = {"events": ["sent", "delivered"]}
    m1 = b.add("spring", [rcpt("ann@flaky.example", "ok"), rcpt("ok@example.com", "ok")],
               note="phase 1: flaky.example resolves and accepts mail")
    bob = dns_rcpt("bob@flaky.example", "dns:flap",
                   {"events": ["sent", "soft_bounced"], "bounce_class": None,
                    "reason": "dns_tempfail", "dsn": "5.4.4", "note": FLAKY_NOTE},
                   "flaky.example: NXDOMAIN from our stub resolver during phase 2 only",
                   mta_verdict="the MTA bounces at once as if the domain did not exist "
                               "(Postfix: dsn=5.4.4 status=bounced 'Host or domain name not "
                               "found'; Exim: '** ... Unrouteable address')")
    carol = dns_rcpt("carol@no-such-domain.example", "dns:nxdomain", X["nxdomain"],
                     "no-such-domain.example: NXDOMAIN in every phase")
    m2 = b.add("spring", [bob, carol],
               note="phase 2: the stub DNS answers NXDOMAIN for flaky.example and every name "
                    "under it; both recipients are bounced by the MTA")
    m3 = b.add("spring", [rcpt("dave@flaky.example", "ok")],
               note="phase 3: the zone is restored, flaky.example accepts mail again")
    for m, phase in ((m1, 1), (m2, 2), (m3, 3)):
        m["phase"] = phase
    assert all(r["expect"] is not None for m in b.messages for r in m["recipients"])
    records = {"flaky.example": {"MX": [[10, "mx1.flaky.example"]]},
               "mx1.flaky.example": {"A": ["127.0.0.2"]},
               "example.com": {"MX": [[10, "mx1.example.com"]]},
               "mx1.example.com": {"A": ["127.0.0.2"]}}
    zone = {"records": records, "rcode": {}, "default": "NXDOMAIN"}
    failing = {"records": {k: v for k, v in records.items()
                           if k != "flaky.example" and not k.endswith(".flaky.example")},
               "rcode": {}, "default": "NXDOMAIN"}
    return {"profile": "resolver_flap", "messages": b.messages, "aliases": {}, "local_reject": [],
            "zone": zone, "zone_failing": failing,
            "phases": [{"phase": 1, "messages": [1], "zone": "zone"},
                       {"phase": 2, "messages": [2], "zone": "zone_failing",
                        "note": "flaky.example and mx1.flaky.example are left out: NXDOMAIN "
                                "(with an SOA, as a real server sends)"},
                       {"phase": 3, "messages": [3], "zone": "zone"}]}


def build_probes(seed):
    """Postfix with reject_unverified_recipient and reject_unverified_sender:
    verify(8) probes (status=deliverable/undeliverable) before the real mail,
    plus address literals and quoted local parts."""
    b = Builder(seed)
    never = {"events": [], "note": "refused by our own MTA at RCPT after the probe: never sent"}

    def refused(addr, beh, why):
        return rcpt(addr, beh, expect=dict(never, why=why))
    b.add("spring", [rcpt("ann@example.com", "ok", probe="deliverable (250 from the sink)"),
                     refused("unknown1@example.com", "unknown",
                             "the probe got 550 5.1.1: smtpd answers 550 'undeliverable address'"),
                     rcpt("bob@example.org", "ok", probe="deliverable")],
          note="probes first, then the real delivery to the recipients that passed")
    b.add("spring", [refused("grey1@example.net", "grey",
                             "the probe was greylisted (450): smtpd answers 450 'unverified "
                             "address' (temporary); the client does not retry"),
                     rcpt("carol@example.net", "ok", probe="deliverable")])
    b.add("autumn", [refused("block1@example.org", "block", "the probe got 554 5.7.1"),
                     rcpt("dave@example.com", "ok", probe="deliverable")], verp=False)
    b.add("autumn", [rcpt("ann@example.com", "ok", probe="cached: no new probe")], verp=False,
          note="second message to a verified address: the verify cache answers, no probe")
    b.add("welcome", [rcpt('"john smith"@example.com', "ok", note="quoted local part with a space"),
                      rcpt('"a,b"@example.org', "ok", note="quoted local part with a comma"),
                      rcpt("erin@example.com", "ok")])
    b.add("welcome", [rcpt("ok.literal@[127.0.0.2]", "ok",
                           note="address literal: delivered straight to 127.0.0.2:25")])
    b.add(None, [rcpt("newsletter@[127.0.0.1]", "ok",
                      expect={"events": ["sent", "delivered"],
                              "note": "address literal of our own address: local delivery "
                                      "(relay=local, delivered to mailbox)"})], verp=False)
    b.add(None, [refused("nosuchuser@[127.0.0.1]", "unknown",
                         "local address literal, no such local user: rejected by our own "
                         "smtpd (User unknown in local recipient table)"),
                 rcpt("frank@example.com", "ok")], verp=False)
    bad = b.add("spring", [rcpt("gina@example.org", "ok",
                                expect=dict(never, why="the envelope sender fails "
                                            "verification: every recipient is refused"))],
                note="sender nosuchsender@news.example.net is not a local user: "
                     "reject_unverified_sender")
    bad["envelope_sender"] = "nosuchsender@news.example.net"
    b.add("spring", [rcpt('"o\'brien.q"@example.net', "ok", note="quoted local part with an "
                          "apostrophe: the quotes are not needed, Postfix logs and relays "
                          "it unquoted (to=<o'brien.q@example.net>)"), rcpt("hal@example.com", "ok")])
    return {"profile": "probes", "messages": b.messages, "aliases": {}, "local_reject": [],
            "verify": {"smtpd_recipient_restrictions": "reject_unverified_recipient",
                       "smtpd_sender_restrictions": "reject_unverified_sender",
                       "address_verify_map": "(empty: in memory only, so each run probes)",
                       "rule": "lines with status=deliverable / status=undeliverable are "
                               "verify(8) probes: neither sent nor bounced for the person"}}


def build_msp(seed):
    """Sendmail's MSP (submit.cf) in front of Postfix: each message is
    submitted with the MSP's sendmail, relayed to [127.0.0.1]:25 (Postfix),
    then by Postfix to the sink."""
    b = Builder(seed)
    hop = ["sendmail MSP (submit.cf) -> [127.0.0.1]:25 Postfix: 'stat=Sent (Ok: queued as X)' "
           "is a hop; Postfix's lines for X carry the outcome"]

    def r(addr, beh, **kw):
        return filtered(rcpt(addr, beh, **kw), hop, "Postfix's queue ID X (relay to the sink)")
    b.add("spring", [r("ann@example.com", "ok"), r("unknown1@example.org", "unknown"),
                     r("bob@example.net", "ok")], via="sendmail")
    b.add("spring", [r("grey1@example.com", "grey")], via="sendmail")
    b.add("autumn", [r("block1@example.net", "block"), r("carol@example.org", "ok")], verp=False,
          via="sendmail")
    b.add("autumn", [r("defer1@example.com", "defer")], verp=False, via="sendmail",
          note="Postfix defers the copy until it expires (4m); the MSP's line says Sent")
    opt = rcpt("optout@example.com", "local_reject")
    opt["expect"] = {"events": ["sent", "hard_bounced"], "bounce_class": "permanent",
                     "note": "Postfix refuses it at RCPT (check_recipient_access): the MSP "
                             "logs the 5xx itself and returns the message (DSN)"}
    b.add("welcome", [opt, r("dave@example.com", "ok")], via="sendmail")
    b.add("welcome", [r("full1@example.org", "full"), r("erin@example.com", "ok"),
                      r("frank.alias@example.com", "ok", rewritten_to="frank.inbox@example.org")],
          via="sendmail")
    b.add(None, [r("gina@example.net", "ok")], verp=False, via="sendmail")
    return {"profile": "msp", "messages": b.messages,
            "aliases": {"frank.alias@example.com": "frank.inbox@example.org"},
            "local_reject": ["optout@example.com"]}


def build_multi(seed):
    """Postfix multi-instance (postmulti): the default instance takes the mail
    on 127.0.0.1:25 and relays it to the output instance postfix-out on
    127.0.0.1:10026, which relays to the sink."""
    b = Builder(seed)
    hop = ["postfix (input instance) -> [127.0.0.1]:10026 postfix-out (output instance): "
           "'relay=127.0.0.1[127.0.0.1]:10026 ... status=sent (250 2.0.0 Ok: queued as QID2)' "
           "is a hop"]

    def r(addr, beh, **kw):
        return filtered(rcpt(addr, beh, **kw), hop, "postfix-out's QID2 (relay to the sink)")
    b.add("spring", [r("ann@example.com", "ok"), r("unknown1@example.org", "unknown"),
                     r("bob@example.net", "ok"), r("grey1@example.com", "grey")],
          note="several recipients, one hop each, one QID2")
    b.add("spring", [r("frank.alias@example.com", "ok", rewritten_to="frank.inbox@example.org")],
          note="virtual alias in the input instance: orig_to on the hop line only")
    b.add("autumn", [r("block1@example.net", "block"), r("carol@example.org", "ok")], verp=False)
    b.add("autumn", [r("defer1@example.com", "defer")], verp=False,
          note="postfix-out defers the copy until it expires (4m)")
    b.add("welcome", [r("full1@example.org", "full"), r("dave@example.com", "ok")])
    b.add(None, [r("erin@example.net", "ok")], verp=False)
    return {"profile": "multi", "messages": b.messages,
            "aliases": {"frank.alias@example.com": "frank.inbox@example.org"},
            "local_reject": []}


PROFILES = {"postfix": build_postfix, "rfc3339": build_rfc3339, "sample": build_sample,
            "mta": build_mta, "filter": build_filter, "resolver": build_resolver,
            "probes": build_probes, "msp": build_msp, "multi": build_multi,
            "resolver_flap": build_resolver_flap}


def render(m):
    to = ", ".join(r["address"] for r in m["recipients"])
    hdr = [f"From: Example News <news@{DOMAIN}>", f"To: {to}", f"Subject: {m['subject']}",
           f"Date: {formatdate(localtime=False)}", f"Message-ID: {m['message_id']}",
           "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    if m.get("campaign_header"):
        hdr.append(f"X-Campaign-ID: {m['campaign_header']}")
    if m.get("campaign"):
        hdr.append(f"List-Unsubscribe: <https://news.example.net/u/{m['campaign']}/{m['n']}>")
    body = ["Hello,", "", f"This is message {m['n']} of the emaillog capture scenario.", "",
            "-- ", "Example News"]
    return "\r\n".join(hdr) + "\r\n\r\n" + "\r\n".join(body) + "\r\n"


def now():
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def send(path, host, port, via, sendmail, delay, only=None):
    with open(path, encoding="utf-8") as fh:
        sc = json.load(fh)
    for m in sc["messages"]:
        if only is not None and m["n"] not in only:
            continue
        method = m["via"] if via == "as-built" else via
        m["via"] = method
        data = render(m)
        rcpts = [r["address"] for r in m["recipients"]]
        m["submitted_at"] = now()
        if method == "sendmail":
            p = subprocess.run([sendmail, "-i", "-f", m["envelope_sender"], "--"] + rcpts,
                               input=data.encode(), capture_output=True)
            m["submit_result"] = {"exit": p.returncode, "stderr": p.stderr.decode(errors="replace")}
        else:
            try:
                with smtplib.SMTP(host, port, local_hostname="app1.news.example.net", timeout=60) as s:
                    refused = s.sendmail(m["envelope_sender"], rcpts, data.encode())
                    m["submit_result"] = {"refused": {k: [v[0], v[1].decode()] for k, v in refused.items()}}
            except smtplib.SMTPRecipientsRefused as e:
                m["submit_result"] = {"refused": {k: [v[0], v[1].decode()] for k, v in e.recipients.items()}}
            except smtplib.SMTPException as e:
                m["submit_result"] = {"error": repr(e)}
        print(f"{m['n']:3d} {m['campaign'] or '-':8s} {method:8s} {' '.join(rcpts)} "
              f"{json.dumps(m['submit_result'])}", flush=True)
        time.sleep(delay)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(sc, fh, indent=1)
        fh.write("\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("build")
    p.add_argument("profile", choices=sorted(PROFILES))
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=2026)
    p = sub.add_parser("send")
    p.add_argument("file")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=25)
    p.add_argument("--via", default="as-built", choices=["as-built", "smtp", "sendmail"])
    p.add_argument("--sendmail", default="/usr/sbin/sendmail")
    p.add_argument("--delay", type=float, default=0.3)
    p.add_argument("--messages", help="send only these message numbers (comma-separated); "
                   "the others are left as they are in the file")
    p = sub.add_parser("map")
    p.add_argument("file")
    p.add_argument("kind", choices=["virtual", "access", "aliases", "zone", "zone_failing"])
    a = ap.parse_args(argv)
    if a.cmd == "build":
        sc = PROFILES[a.profile](a.seed)
        sc["seed"] = a.seed
        sc["counts"] = {"messages": len(sc["messages"]),
                        "recipients": sum(len(m["recipients"]) for m in sc["messages"])}
        by = {}
        for m in sc["messages"]:
            for r in m["recipients"]:
                by[r["behaviour"]] = by.get(r["behaviour"], 0) + 1
        sc["counts"]["by_behaviour"] = dict(sorted(by.items()))
        with open(a.out, "w", encoding="utf-8") as fh:
            json.dump(sc, fh, indent=1)
            fh.write("\n")
        print(json.dumps(sc["counts"]))
    elif a.cmd == "send":
        only = {int(x) for x in a.messages.split(",")} if a.messages else None
        send(a.file, a.host, a.port, a.via, a.sendmail, a.delay, only)
    else:
        with open(a.file, encoding="utf-8") as fh:
            sc = json.load(fh)
        if a.kind in ("zone", "zone_failing"):
            print(json.dumps(sc[a.kind], indent=1))
        elif a.kind == "aliases":
            for k, v in sc.get("local_aliases", {}).items():
                print(f"{k}: {v}")
        elif a.kind == "virtual":
            for k, v in sc.get("aliases", {}).items():
                print(f"{k}\t{v}")
        else:
            for k in sc.get("local_reject", []):
                print(f"{k}\tREJECT unsubscribed from this sender")
    return 0


if __name__ == "__main__":
    sys.exit(main())
