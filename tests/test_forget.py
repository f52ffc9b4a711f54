"""`emaillog forget`: a person who asks to be forgotten disappears from the
database (its files' raw bytes included), while the suppressions in force
stay under a keyed hash, so `check` still says no.

The logs are real Postfix line shapes (as in tests/logs/postfix/rfc3339.log)
stamped an hour ago, so that a 24-hour spam block is still in force when the
person is forgotten."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

ANN = "ann@example.com"
DAVE = "dave@example.com"
NEEDLES = [ANN.encode(), ANN.replace("@", "%40").encode()]
BOUNDED = [re.compile(rb"(?<![a-z0-9!#$%&'*+/=?^_`{|}~.-])" + re.escape(n) + rb"(?![a-z0-9-]|\.[a-z0-9])", re.I)
           for n in NEEDLES]
NOW = datetime.now(timezone.utc).replace(microsecond=0)
T0 = NOW - timedelta(hours=1)


def stamp(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


def message(qid: str, campaign: str, at: int, recipients: list[tuple[str, str, str, str]], *, removed=True) -> list[str]:
    """Postfix lines of one message: (recipient, dsn, status, reply) each."""
    mid = f"{campaign}.{qid.lower()}"
    lines = [
        f"{stamp(at)} mx1 postfix/cleanup[100]: {qid}: message-id=<{mid}@news.example.net>",
        f"{stamp(at)} mx1 postfix/cleanup[100]: {qid}: info: header X-Campaign-ID: {campaign} from "
        f"localhost[127.0.0.1]; from=<bounces+{campaign}@news.example.net> to=<{recipients[0][0]}> proto=ESMTP "
        "helo=<app1.news.example.net>",
        f"{stamp(at)} mx1 postfix/qmgr[101]: {qid}: from=<bounces+{campaign}@news.example.net>, size=614, "
        f"nrcpt={len(recipients)} (queue active)",
    ]
    for rcpt, dsn, status, reply in recipients:
        lines.append(f"{stamp(at + 1)} mx1 postfix/smtp[102]: {qid}: to=<{rcpt}>, relay=127.0.0.1[127.0.0.1]:2525, "
                     f"delay=0.1, delays=0/0/0.05/0.05, dsn={dsn}, status={status} ({reply})")
    if removed:
        lines.append(f"{stamp(at + 2)} mx1 postfix/qmgr[101]: {qid}: removed")
    return lines


def said(reply: str) -> str:
    return f"host 127.0.0.1[127.0.0.1] said: {reply} (in reply to RCPT TO command)"


OK = "250 2.0.0 Ok: queued as S000001"
BLOCKED = said("554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org")
DEFERRED = said("451 4.3.0 Temporary local problem - please try later")
LOG = "\n".join([
    *message("1A0001", "spring", 0, [(ANN, "2.0.0", "sent", OK), ("joann@example.com", "2.0.0", "sent", OK)]),
    *message("1A0002", "welcome", 10, [(ANN, "5.7.1", "bounced", BLOCKED), (DAVE, "5.7.1", "bounced", BLOCKED)]),
    # Another case than the person's: the reply's echo stays literal in its text.
    *message("1A0003", "autumn", 20, [("Ann@Example.COM", "5.1.1", "bounced",
                                       said("550 5.1.1 <Ann@Example.COM>: Recipient address rejected: User unknown"))]),
    # Someone else's reply that names her: a text shared with other people.
    *message("1A0004", "autumn", 30, [
        ("bob@example.net", "5.1.1", "bounced", said("550 5.1.1 <bob@example.net>: forwarding to ann@example.com "
                                                     "refused: User unknown")),
        ("eve@example.net", "5.1.1", "bounced", said("550 5.1.1 <eve@example.net>: forwarding to ann@example.com "
                                                     "refused: User unknown"))]),
    # Still open at the end of the log: the open message state names her.
    *message("1A0005", "spring", 40, [(ANN, "4.3.0", "deferred", DEFERRED),
                                      ("carl@example.com", "4.3.0", "deferred", DEFERRED)], removed=False),
    # Relevant but malformed: a rejected line that names her.
    f"{stamp(50)} mx1 postfix/smtp[102]: 1A0006: to=<ann@example.com>, relay=none, status=weird",
]) + "\n"
LATER = "\n".join([
    f"{stamp(600)} mx1 postfix/smtp[102]: 1A0005: to=<carl@example.com>, relay=127.0.0.1[127.0.0.1]:2525, "
    f"delay=600, delays=0/0/0.05/0.05, dsn=2.0.0, status=sent ({OK})",
    f"{stamp(600)} mx1 postfix/smtp[102]: 1A0005: to=<{ANN}>, relay=127.0.0.1[127.0.0.1]:2525, "
    f"delay=600, delays=0/0/0.05/0.05, dsn=2.0.0, status=sent ({OK})",
    f"{stamp(601)} mx1 postfix/qmgr[101]: 1A0005: removed",
]) + "\n"
SENDGRID = json.dumps({"email": ANN, "timestamp": int(T0.timestamp()) + 60, "event": "unsubscribe",
                       "sg_event_id": "u1", "sg_message_id": "SGx.filter0001p1.1.AAAA.0"}) + "\n"


pytestmark = pytest.mark.sqlite_only  # forget erases a SQLite file's pages (see docs/forget.md)


@pytest.fixture
def db(run, tmp_path, database):
    (tmp_path / "mail.log").write_text(LOG)
    (tmp_path / "sendgrid.json").write_text(SENDGRID)
    for args in (("ingest", "--quiet", tmp_path / "mail.log", tmp_path / "sendgrid.json"),
                 ("suppress", ANN, "--campaign", "spring", "--until", "+30d", "--note", "asked by phone")):
        result = run(*args)
        assert result.returncode == 0, result.stderr
    return database


def raw_files(db) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name)}


def holding(db) -> list[str]:
    return [name for name, data in raw_files(db).items() if any(p.search(data) for p in BOUNDED)]


def check(run, address, *args):
    result = run("check", address, *args)
    return result.returncode, result.stdout


def test_before_forgetting_the_address_is_everywhere(db, run):
    """The setting is what the test claims: the address is in the files, in
    an open message, a rejected line and another person's reply."""
    conn = sqlite3.connect(db)
    assert any(ANN in s for (s,) in conn.execute("SELECT state FROM open_messages"))
    assert any(ANN in t for (t,) in conn.execute("SELECT text FROM rejects"))
    assert any("ann@example.com refused" in t for (t,) in conn.execute("SELECT template FROM texts"))
    assert any("Ann@Example.COM" in t for (t,) in conn.execute("SELECT template FROM texts"))
    conn.close()
    assert holding(db)
    reasons = {s["reason"]: s["scope"] for s in json.loads(run("suppressed", "--person", ANN, "--json").stdout)["items"]}
    assert reasons == {"hard_bounce": "*", "spam_block": "welcome", "unsubscribed": "*", "manual": "spring"}


def test_forget_leaves_no_byte_of_the_address_in_any_file(db, cli):
    result = cli("forget", "ANN@example.com", "--yes")  # the installed command
    assert result.returncode == 0, result.stderr
    assert "forgot ann@example.com" in result.stdout and "kept 4 suppression(s)" in result.stdout
    assert holding(db) == []
    # The search is not blind: a longer address that contains hers is still there.
    assert any(b"joann@example.com" in data for data in raw_files(db).values())


def test_the_rest_of_the_database_is_intact(db, run):
    before = {p: run("person", p, "--json").stdout for p in ("joann@example.com", "carl@example.com", DAVE)}
    assert run("forget", ANN, "--yes").returncode == 0
    for p, text in before.items():
        assert json.loads(run("person", p, "--json").stdout)["events"] == json.loads(text)["events"], p
    bob = [json.loads(line) for line in run("events", "--person", "bob@example.net", "--format", "jsonl").stdout.splitlines()]
    assert [e["detail"] for e in bob if e["type"] == "hard_bounced"] == [
        "host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <bob@example.net>: forwarding to [forgotten] refused: User unknown "
        "(in reply to RCPT TO command)"]
    assert json.loads(run("events", "--person", ANN, "--format", "json").stdout) == []
    rejects = json.loads(run("rejects", "--json").stdout)
    assert [(r["file"].rpartition("/")[2], r["text"]) for r in rejects] == [("mail.log", None)]  # named, not kept


def test_check_person_and_suppressed_answer_from_the_hash(db, run):
    assert run("forget", ANN, "--yes").returncode == 0
    for address in (ANN, "Ann@Example.COM", " <ANN@EXAMPLE.COM> "):
        code, out = check(run, address, "--campaign", "autumn")
        assert code == 1, out
        assert "hard_bounce" in out and "forgotten" in out
    doc = json.loads(run("check", ANN, "--campaign", "welcome", "--json").stdout)
    assert {(s["reason"], s["scope"]) for s in doc["suppressions"]} == {
        ("hard_bounce", "*"), ("spam_block", "welcome"), ("unsubscribed", "*")}
    spam = next(s for s in doc["suppressions"] if s["reason"] == "spam_block")
    assert spam["until"] == (T0 + timedelta(seconds=11, hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ")
    manual = json.loads(run("check", ANN, "--campaign", "spring", "--json").stdout)["suppressions"]
    assert any(s["reason"] == "manual" and s["scope"] == "spring" and s["until"] for s in manual)
    listing = json.loads(run("suppressed", "--json").stdout)
    assert listing["forgotten_people"] == 1 and ANN not in json.dumps(listing)
    assert json.loads(run("suppressed", "--reason", "manual", "--json").stdout)["forgotten_people"] == 1
    table = run("suppressed").stdout
    assert "and 1 forgotten person suppressed" in table
    person = run("person", ANN, "--json")
    doc = json.loads(person.stdout)
    assert doc["forgotten"] and doc["suppressed"] and doc["events"] == []
    assert "Forgotten on" in run("person", ANN).stdout


def test_a_forgotten_campaign_or_time_limited_suppression_ends_as_it_would_have(db, run):
    """Dave was only spam-blocked for one campaign: other campaigns may mail
    him, and after the 24 hours so may that one."""
    assert run("forget", DAVE, "--yes").returncode == 0
    assert check(run, DAVE, "--campaign", "welcome")[0] == 1
    assert check(run, DAVE, "--campaign", "spring")[0] == 0
    later = (NOW + timedelta(days=2)).strftime("%Y-%m-%dT%H:%MZ")
    assert check(run, DAVE, "--campaign", "welcome", "--at", later)[0] == 0
    assert check(run, DAVE, "--campaign", "welcome", "--at", (T0 - timedelta(hours=1)).isoformat())[0] == 0


def test_a_release_lifts_what_was_kept(db, run):
    assert run("forget", ANN, "--yes").returncode == 0
    released = run("release", ANN, "--note", "asked to be mailed again")
    assert released.returncode == 0 and "lifted 4" in released.stdout
    assert check(run, ANN, "--campaign", "welcome")[0] == 0
    assert json.loads(run("suppressed", "--json").stdout)["forgotten_people"] == 0


def test_new_lines_about_a_forgotten_person_are_stored_and_the_hash_still_applies(db, run, tmp_path):
    assert run("forget", ANN, "--yes").returncode == 0
    (tmp_path / "later.log").write_text(LATER)
    result = run("ingest", "--json", tmp_path / "later.log")
    assert result.returncode == 0, result.stderr
    carl = [json.loads(x)["type"] for x in run("events", "--person", "carl@example.com", "--format", "jsonl").stdout.split("\n") if x]
    assert carl == ["sent", "soft_bounced", "delivered"]  # the open message kept carl's send
    ann = [json.loads(x)["type"] for x in run("events", "--person", ANN, "--format", "jsonl").stdout.split("\n") if x]
    assert "delivered" in ann
    assert check(run, ANN)[0] == 1
    again = run("forget", ANN, "--yes")  # forgetting again keeps what is still in force
    assert again.returncode == 0 and "kept 4 suppression(s)" in again.stdout, again.stdout
    assert holding(db) == [] and check(run, ANN)[0] == 1


def test_counts_stay_what_the_remaining_events_say(db, run):
    assert run("forget", ANN, "--yes").returncode == 0
    events = [json.loads(x) for x in run("events", "--format", "jsonl").stdout.splitlines()]
    want = Counter((e["campaign"], e["type"]) for e in events if e["type"] not in ("manual_suppressed", "released"))
    stats = json.loads(run("stats", "--json").stdout)
    got = Counter()
    for row in stats["campaigns"]:
        for kind in ("sent", "delivered", "hard_bounced", "soft_bounced"):
            if row[kind]:
                got[(row["campaign"], kind)] = row[kind]
    assert got == Counter({k: n for k, n in want.items() if k[1] in ("sent", "delivered", "hard_bounced",
                                                                      "soft_bounced")})
    domains = {d["domain"]: d["sent"] for d in stats["top_domains"]}
    assert domains == Counter(e["person"].rpartition("@")[2] for e in events if e["type"] == "sent")
    first = min(e["ts"] for e in events if e["campaign"] == "spring")
    assert next(r for r in stats["campaigns"] if r["campaign"] == "spring")["first_event"] == first


def test_each_erasure_is_audited_and_listed_without_the_address(db, run):
    assert run("forget", ANN, "--yes", "--note", "ticket 4711").returncode == 0
    listing = json.loads(run("forget", "--list", "--json").stdout)["items"]
    assert len(listing) == 1
    entry = listing[0]
    assert re.fullmatch(r"[0-9a-f]{64}", entry["hash"]) and entry["note"] == "ticket 4711" and entry["by"]
    assert entry["erased"]["events"] >= 8 and entry["erased"]["suppressions_kept"] == 4
    assert ANN not in json.dumps(listing)
    import hashlib
    assert entry["hash"] != hashlib.sha256(ANN.encode()).hexdigest()  # keyed, not a bare digest
    assert "ticket 4711" in run("forget", "--list").stdout


def test_the_hash_is_keyed_per_database(tmp_path):
    from emaillog.store import Store
    from emaillog.store.forget import address_hash
    one, two = Store(tmp_path / "1.db"), Store(tmp_path / "2.db")
    assert address_hash(one.conn, ANN) != address_hash(two.conn, ANN)
    assert address_hash(one.conn, ANN) == address_hash(one.conn, ANN)


def test_it_asks_first(db, run):
    refused = run("forget", ANN, input="n\n")
    assert refused.returncode == 1 and "nothing was erased" in refused.stderr
    assert "Erase ann@example.com" in refused.stderr and "cannot be undone" in refused.stderr
    assert run("forget", ANN, input="").returncode == 1  # no answer is no
    assert json.loads(run("person", ANN, "--json").stdout)["events"]
    assert run("forget", ANN, input="y\n").returncode == 0
    assert json.loads(run("person", ANN, "--json").stdout)["events"] == []


@pytest.mark.parametrize("args, words", [
    (("forget", "not-an-address", "--yes"), "not an email address"),
    (("forget", ANN, "--yes", "--note", "for ANN@example.com"), "names the address"),
    (("forget", "--list", ANN), "--list takes no EMAIL"),
    (("forget", ANN, "--json"), "go with --list"),
])
def test_usage_errors(db, run, args, words):
    result = run(*args)
    assert result.returncode == 2 and words in result.stderr, result.stderr


def test_an_address_never_seen_is_still_audited(run):
    assert run("ingest", "--quiet", "-", input=LOG).returncode == 0
    result = run("forget", "nobody@example.org", "--yes")
    assert result.returncode == 0, result.stderr
    assert "nothing was stored" in result.stdout
    assert len(json.loads(run("forget", "--list", "--json").stdout)["items"]) == 1


def test_a_stale_copy_in_free_space_is_vacuumed_away(db, run):
    """A row deleted before (here: by hand, without secure_delete) leaves its
    bytes in free pages; forget finds them and rebuilds the file."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA secure_delete = OFF")
    conn.execute("CREATE TABLE scratch (t TEXT)")
    conn.executemany("INSERT INTO scratch VALUES (?)", [(f"note about {DAVE} " + "x" * 2000,)] * 50)
    conn.commit()
    conn.execute("DROP TABLE scratch")
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    assert DAVE.encode() in (db.read_bytes())
    result = run("forget", DAVE, "--yes")
    assert result.returncode == 0, result.stderr
    assert "vacuumed" in result.stdout
    assert all(DAVE.encode() not in data.lower() for data in raw_files(db).values())


def test_two_texts_that_become_one_are_merged(run, database):
    """Forgetting ann, then zoe, turns two replies into the same text: the
    rows of both keep their detail, through one template."""
    def reply(rcpt, other):
        return (rcpt, "5.1.1", "bounced", said(f"550 5.1.1 <{rcpt}>: forwarding to {other} refused: User unknown"))
    log = "\n".join([*message("2B0001", "autumn", 0, [reply("bob@example.net", ANN)]),
                     *message("2B0002", "autumn", 10, [reply("frank@example.net", "zoe@example.org")])]) + "\n"
    assert run("ingest", "-q", "-", input=log).returncode == 0
    assert run("forget", ANN, "--yes").returncode == 0
    assert run("forget", "zoe@example.org", "--yes").returncode == 0
    details = {json.loads(x)["person"]: json.loads(x)["detail"]
               for x in run("events", "--type", "hard_bounced", "--format", "jsonl").stdout.splitlines()}
    assert details == {p: said(f"550 5.1.1 <{p}>: forwarding to [forgotten] refused: User unknown")
                       for p in ("bob@example.net", "frank@example.net")}
    templates = [t for (t,) in sqlite3.connect(database).execute("SELECT template FROM texts")]
    assert sum("[forgotten] refused" in t for t in templates) == 1


def test_a_reader_holding_old_pages_is_reported_and_a_second_run_finishes(db, run):
    reader = sqlite3.connect(db)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM persons").fetchone()  # a snapshot from before the erasure
    first = run("forget", ANN, "--yes", "--wait", "1")
    assert first.returncode == 1
    assert "the erasure is committed" in first.stderr and "run the same command again" in first.stderr
    assert check(run, ANN)[0] == 1 and json.loads(run("person", ANN, "--json").stdout)["events"] == []
    reader.rollback()
    reader.close()
    second = run("forget", ANN, "--yes")
    assert second.returncode == 0, second.stderr
    assert holding(db) == []
