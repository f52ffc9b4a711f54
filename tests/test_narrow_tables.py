"""On an 80-column terminal and narrower, the tables never split an address
or a campaign name across lines: less useful columns give way first."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT
from test_bad_environments import run_main

SAMPLE = ROOT / "sample_logs"
AT = "2026-11-29T08:00Z"
LONG = {  # an address and a campaign name longer than a narrow column
    b"carol@example.com": b"carol.longname-for-testing@marketing.example.com",
    b"spring": b"spring-sale-2026-black-friday",
}

# (table command, the same as JSON, where the addresses and names are in it)
COMMANDS = [
    (["retries", "--at", "2026-11-28T19:10Z", "--include-given-up"], ["--json"],
     lambda d: [x for i in d["items"] for x in (i["person"], i["campaign"])]),
    (["suppressed", "--at", AT], ["--json"], lambda d: [x for i in d["items"] for x in (i["person"], i["scope"])]),
    (["events", "--limit", "200"], ["--format", "json"], lambda d: [x for e in d for x in (e["person"], e["campaign"])]),
    (["person", "carol@example.com", "--at", AT], ["--json"], lambda d: [e["campaign"] for e in d["events"]]),
    (["stats", "--at", AT], ["--json"],
     lambda d: [c["campaign"] for c in d["campaigns"]] * 2 + [r["domain"] for r in d["top_domains"]]),
]


@pytest.fixture(scope="module")
def databases(tmp_path_factory):
    """The sample logs as they are, and with LONG names, each in a database."""
    if not (SAMPLE / "mail.log").exists():
        pytest.skip("sample logs not present")
    from conftest import run_ingest
    made = {}
    for kind, replace in (("sample", {}), ("long", LONG)):
        folder = tmp_path_factory.mktemp(kind)
        paths = []
        for name in ("mail.log", "access.log"):
            data = (SAMPLE / name).read_bytes()
            for old, new in replace.items():
                data = data.replace(old, new)
            (folder / name).write_bytes(data)
            paths.append(folder / name)
        store, summary = run_ingest(folder / "e.db", paths, year=2026)
        store.close()
        assert summary.files_read == 2 and not summary.problems
        made[kind] = folder / "e.db"
    return made


@pytest.fixture
def run(monkeypatch, capsys):
    """run(db, *args, columns=200) -> stdout of the command, in this process."""
    def _run(db, *args, columns=200):
        monkeypatch.setenv("COLUMNS", str(columns))
        code, out, err = run_main(monkeypatch, capsys, "--db", db, *args)
        assert code in (None, 0), err
        return out
    return _run


def whole_on_lines(text: str, names: list) -> list[str]:
    """The names that appear fewer times whole on a line than in the data."""
    lines = text.splitlines()
    wanted: dict[str, int] = {}
    for name in names:
        if name:
            wanted[name] = wanted.get(name, 0) + 1
    return [n for n, count in wanted.items() if sum(line.count(n) for line in lines) < count]


def names_in(run, db, index, args=None) -> list[str]:
    """The addresses and names the command's JSON holds."""
    default_args, json_args, names_of = COMMANDS[index]
    args = args or default_args
    return [n for n in names_of(json.loads(run(db, *args, *json_args))) if n not in (None, "*")]


IDS = [c[0][0] for c in COMMANDS]


@pytest.mark.parametrize("columns", [80, 60])
@pytest.mark.parametrize("index", range(len(COMMANDS)), ids=IDS)
def test_the_sample_fits_without_splitting_a_name(databases, run, index, columns):
    names = names_in(run, databases["sample"], index)
    assert names
    out = run(databases["sample"], *COMMANDS[index][0], columns=columns)
    assert whole_on_lines(out, names) == [], out
    too_wide = [line for line in out.splitlines() if len(line) > columns]
    assert too_wide == [], out


@pytest.mark.parametrize("columns", [80, 60, 40])
@pytest.mark.parametrize("index", range(len(COMMANDS)), ids=IDS)
def test_long_addresses_and_campaign_names_stay_whole(databases, run, index, columns):
    carol = LONG[b"carol@example.com"].decode()
    args = [carol if a == "carol@example.com" else a for a in COMMANDS[index][0]]
    names = names_in(run, databases["long"], index, args)
    assert "spring-sale-2026-black-friday" in names or args[0] == "suppressed"
    out = run(databases["long"], *args, columns=columns)
    assert whole_on_lines(out, names) == [], out


def test_what_gives_way_first(databases, run):
    """At 80 columns the retries table drops `since` before anything else,
    and stats drops a rate, not the campaign."""
    retries = run(databases["sample"], "retries", "--at", "2026-11-28T19:10Z", columns=80)
    assert "carol@example.com" in retries and "since" not in retries.splitlines()[1]
    engagement = run(databases["sample"], "stats", "--at", AT, columns=80).split("Engagement")[1]
    assert "CTO" not in engagement.split("Activity")[0] and "machine o/c" in engagement
