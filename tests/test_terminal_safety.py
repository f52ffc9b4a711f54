"""Addresses, campaign names and bounce texts come from the internet. On a
terminal they must print as literal text: never as Rich markup, never as
escape sequences that clear the screen or retitle the window, and visibly
(`\\x1b`), so an operator sees what the remote side sent.

The inputs are real line shapes (Postfix lines as in
tests/logs/postfix/scenario.log, a SendGrid event record) with hostile text
where the internet puts it. The database is filled once by the installed
`emaillog ingest`; each output mode then runs every command through the
console script's own entry point (`emaillog.cli:main`) in one process, so
the module stays fast.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import typer.main

from conftest import emaillog_command

MARKUP = "[bold red]x[/]"
CLEAR = "\x1b[2J"  # ESC [ 2 J: clear the screen
CSI8 = "\x9b2J"  # the same with the one-character C1 CSI
RETITLE = "\x1b]0;pwned\x07"  # OSC 0: set the window title
# How emaillog shows them: each control character as \xNN.
SHOWN_CLEAR, SHOWN_CSI8, SHOWN_RETITLE = "\\x1b[2J", "\\x9b2J", "\\x1b]0;pwned\\x07"

# Postfix logs a local part with a space quoted. People are compared
# case-insensitively, so addresses are shown lower-cased: [2J -> [2j.
BOUNCED = f'"{MARKUP} {CLEAR}"@example.net'
BOUNCED_SHOWN = '"[bold red]x[/] \\x1b[2j"@example.net'
DEFERRED = f'"y{CSI8} {CLEAR}"@example.org'
DEFERRED_SHOWN = '"y\\x9b2j \\x1b[2j"@example.org'
CAMPAIGN = f"{MARKUP}{CLEAR}"
CAMPAIGN_SHOWN = f"{MARKUP}{SHOWN_CLEAR}"
ESP_PERSON = f"[bold red]y[/]{CLEAR}@[bold red]d[/]{CSI8}.example"
ESP_PERSON_SHOWN = "[bold red]y[/]\\x1b[2j@[bold red]d[/]\\x9b2j.example"
ESP_CAMPAIGN = f"[bold red]z[/]{RETITLE}"
ESP_CAMPAIGN_SHOWN = f"[bold red]z[/]{SHOWN_RETITLE}"
ESP_REASON = f"554 5.7.1 {MARKUP} {CLEAR} blocked using zen.spamhaus.org"
ESP_REASON_SHOWN = f"554 5.7.1 {MARKUP} {SHOWN_CLEAR} blocked"
REJECTED_SHOWN = (f"to=<{MARKUP}{SHOWN_CLEAR}@example.net>", f"status={MARKUP}{SHOWN_RETITLE}")

QID = "20CD11600D5"
POSTFIX = "\n".join([
    f"Nov 28 17:47:06 mx1 postfix/cleanup[6859]: {QID}: message-id=<spring.0001.511e7ea419@news.example.net>",
    f"Nov 28 17:47:06 mx1 postfix/cleanup[6859]: {QID}: info: header X-Campaign-ID: {CAMPAIGN} from "
    "localhost[127.0.0.1]; from=<bounces+spring@news.example.net> to=<hal@example.net> proto=ESMTP "
    "helo=<app1.news.example.net>",
    f"Nov 28 17:47:06 mx1 postfix/qmgr[6769]: {QID}: from=<bounces+spring@news.example.net>, size=648, nrcpt=2 "
    "(queue active)",
    f"Nov 28 17:47:06 mx1 postfix/smtp[6860]: {QID}: to=<{BOUNCED}>, relay=127.0.0.1[127.0.0.1]:2525, "
    "delay=0.12, delays=0.01/0.01/0.04/0.06, dsn=5.1.1, status=bounced (host 127.0.0.1[127.0.0.1] said: "
    f"550 5.1.1 <{BOUNCED}>: Recipient address rejected: {MARKUP} User unknown {CLEAR} in virtual mailbox "
    "table (in reply to RCPT TO command))",
    f"Nov 28 17:47:06 mx1 postfix/smtp[6860]: {QID}: to=<{DEFERRED}>, relay=127.0.0.1[127.0.0.1]:2525, "
    "delay=0.1, delays=0/0/0.05/0.05, dsn=4.7.1, status=deferred (host 127.0.0.1[127.0.0.1] said: "
    f"450 4.7.1 <{DEFERRED}>: Recipient address rejected: Greylisted {MARKUP} {CSI8} (in reply to RCPT TO "
    "command))",
    # Relevant but malformed: rejected, and shown by `rejects`.
    f"Nov 28 17:47:07 mx1 postfix/smtp[6860]: {QID}: to=<{MARKUP}{CLEAR}@example.net>, relay=none, "
    f"status={MARKUP}{RETITLE}",
]) + "\n"
SENDGRID = "\n".join(json.dumps(record) for record in [
    {"email": ESP_PERSON, "timestamp": 1795870800, "smtp-id": "<SGhost01@ismtpd0001p1.sendgrid.net>",
     "event": "processed", "category": [ESP_CAMPAIGN], "campaign": ESP_CAMPAIGN, "sg_event_id": "h01",
     "sg_message_id": "SGhost01.filter0001p1.1111.AAAA.0"},
    {"email": ESP_PERSON, "timestamp": 1795870802, "smtp-id": "<SGhost01@ismtpd0001p1.sendgrid.net>",
     "event": "bounce", "category": [ESP_CAMPAIGN], "campaign": ESP_CAMPAIGN, "sg_event_id": "h02",
     "sg_message_id": "SGhost01.filter0001p1.1111.AAAA.0", "type": "blocked", "status": "5.7.1",
     "reason": ESP_REASON, "ip": "192.0.2.5", "tls": 1},
]) + "\n"

AT = "2026-11-28T18:00:00Z"
CLASSIFY = f"550 5.1.1 {MARKUP} user unknown {CLEAR} {CSI8}"
# (id, argv, what the output must show literally on a wide terminal)
COMMANDS = [
    ("person bounced", ("person", BOUNCED, "--at", AT), (BOUNCED_SHOWN, CAMPAIGN_SHOWN)),
    ("person deferred", ("person", DEFERRED, "--at", AT), (DEFERRED_SHOWN, CAMPAIGN_SHOWN)),
    ("person esp", ("person", ESP_PERSON, "--at", AT), (ESP_PERSON_SHOWN, ESP_CAMPAIGN_SHOWN)),
    ("events", ("events",),
     (BOUNCED_SHOWN, DEFERRED_SHOWN, ESP_PERSON_SHOWN, CAMPAIGN_SHOWN, ESP_CAMPAIGN_SHOWN, ESP_REASON_SHOWN)),
    ("suppressed", ("suppressed", "--at", AT), (BOUNCED_SHOWN, ESP_PERSON_SHOWN, ESP_CAMPAIGN_SHOWN)),
    ("retries", ("retries", "--at", AT, "--include-given-up"), (DEFERRED_SHOWN, CAMPAIGN_SHOWN)),
    ("check bounced", ("check", BOUNCED, "--at", AT), (f"no: {BOUNCED_SHOWN} is suppressed",)),
    ("check esp", ("check", ESP_PERSON, "--campaign", ESP_CAMPAIGN, "--at", AT),
     (f"no: {ESP_PERSON_SHOWN} is suppressed for campaign {ESP_CAMPAIGN_SHOWN}",)),
    ("check deferred", ("check", DEFERRED, "--campaign", CAMPAIGN, "--at", AT),
     (f"ok: {DEFERRED_SHOWN} may be mailed by campaign {CAMPAIGN_SHOWN}",)),
    ("rejects", ("rejects",), REJECTED_SHOWN),
    ("classify", ("classify", CLASSIFY), (MARKUP, SHOWN_CLEAR, SHOWN_CSI8)),
    ("stats", ("stats", "--at", AT), (CAMPAIGN_SHOWN, ESP_CAMPAIGN_SHOWN, "[bold red]d[/]\\x9b2j.example")),
]
# Commands that print no text from the logs, or are checked elsewhere.
NOT_HERE = {
    "ingest": "prints counts; checked by test_ingest_output_is_safe",
    "formats": "prints our own sample lines",
    "suppress": "prints what the operator typed",
    "release": "prints what the operator typed",
    "report": "writes HTML; tests/test_html_report.py",
    "migrate": "prints the database path and migration names",
    "forget": "prints the address the operator typed, hashes and counts; the --list table's actor is ours",
    "metrics": "a machine format, exact in a pipe (Prometheus escapes only \\, \" and line feeds); on a terminal "
               "controls are shown as \\xNN: test_machine_output_on_a_terminal_shows_controls",
}

MODES = {  # name: (environment, wide enough to show every column unfolded?)
    "terminal": ({"FORCE_COLOR": "1", "TTY_COMPATIBLE": "1", "TERM": "xterm-256color", "COLUMNS": "400"}, True),
    "pipe": ({"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "400"}, True),
    "narrow terminal": ({"FORCE_COLOR": "1", "TTY_COMPATIBLE": "1", "TERM": "xterm-256color", "COLUMNS": "80"},
                        False),
}
# Rich's own colours (SGR: ESC [ ... m) are fine; any other control is not.
SGR = re.compile(r"\x1b\[[0-9;]*m")
FOREIGN = re.compile(r"\x1b(?!\[[0-9;]*m)|[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f-\x9f]")
# Runs each argv (a JSON list on stdin) through the console script's entry
# point, its stdout and stderr going to <folder>/<i>.out and <i>.err.
DRIVER = """
import json, os, sys
from emaillog.cli import main
folder, runs, codes = sys.argv[1], json.load(sys.stdin), []
for i, argv in enumerate(runs):
    for fd, ext in ((1, "out"), (2, "err")):
        target = os.open(os.path.join(folder, f"{i}.{ext}"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(target, fd)
        os.close(target)
    sys.argv = ["emaillog", *argv]
    try:
        main()
        codes.append(0)
    except SystemExit as exc:
        codes.append(exc.code if isinstance(exc.code, int) else int(exc.code is not None))
    sys.stdout.flush()
    sys.stderr.flush()
with open(os.path.join(folder, "codes.json"), "w") as f:
    json.dump(codes, f)
"""


def run_commands(folder, argvs: list, env: dict) -> list[tuple[int, str]]:
    """[(exit code, stdout + stderr)] for each argv, all in one process."""
    folder.mkdir(exist_ok=True)
    result = subprocess.run([sys.executable, "-c", DRIVER, str(folder)], input=json.dumps(argvs),
                            capture_output=True, text=True, timeout=60, env={**env, "PYTHONIOENCODING": "utf-8"})
    assert result.returncode == 0, result.stderr
    codes = json.loads((folder / "codes.json").read_text())
    return [(code, (folder / f"{i}.out").read_text("utf-8") + (folder / f"{i}.err").read_text("utf-8"))
            for i, code in enumerate(codes)]


def app_commands() -> set[str]:
    from emaillog.cli import app
    return set(typer.main.get_command(app).commands)


def unsafe(text: str):
    match = FOREIGN.search(text)
    return repr(text[max(0, match.start() - 60):match.end() + 20]) if match else None


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A database filled from the hostile logs by the installed `emaillog`."""
    tmp = tmp_path_factory.mktemp("hostile")
    (tmp / "mail.log").write_text(POSTFIX)
    (tmp / "sendgrid.jsonl").write_text(SENDGRID)
    base = {k: v for k, v in os.environ.items()
            if k not in ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TERM", "COLUMNS", "LINES")}
    base |= {"EMAILLOG_DB": str(tmp / "t.db"), "EMAILLOG_CONFIG": "", "XDG_CONFIG_HOME": str(tmp / "xdg"),
             "TZ": "UTC"}
    result = subprocess.run([*emaillog_command(), "ingest", "--year", "2026", tmp / "mail.log",
                             tmp / "sendgrid.jsonl"], capture_output=True, text=True, timeout=60,
                            env={**base, **MODES["terminal"][0]})
    assert result.returncode == 0, result.stderr
    assert "lines rejected       1" in SGR.sub("", result.stdout)
    return base, result


@pytest.fixture(scope="module")
def outputs(env, tmp_path_factory):
    """{mode: {command id: (exit code, stdout + stderr)}} for every command the app has."""
    base, _ = env
    present = app_commands()
    runs = [(name, argv) for name, argv, _ in COMMANDS if argv[0] in present]
    return {mode: dict(zip((name for name, _ in runs),
                           run_commands(tmp_path_factory.mktemp("run"), [argv for _, argv in runs],
                                        {**base, **extra})))
            for mode, (extra, _) in MODES.items()}


def test_ingest_output_is_safe(env):
    _, result = env
    assert not unsafe(result.stdout + result.stderr)


def test_every_command_is_checked():
    """A new command that prints data must join COMMANDS (or say why not in NOT_HERE)."""
    checked = {argv[0] for _, argv, _ in COMMANDS}
    assert app_commands() - checked - set(NOT_HERE) == set()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name, argv, shown", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_hostile_text_is_harmless_and_visible(outputs, mode, name, argv, shown):
    if argv[0] not in app_commands():
        pytest.skip(f"no `{argv[0]}` command yet")
    code, out = outputs[mode][name]
    assert "Traceback" not in out and "internal error" not in out, out
    assert code == (1 if name in ("check bounced", "check esp") else 0), out
    assert CLEAR not in out and "\x1b]" not in out and "\x9b" not in out
    assert not unsafe(out), unsafe(out)
    if mode == "pipe":  # not a terminal: no styling at all, so no escape of any kind
        assert "\x1b" not in out
    if MODES[mode][1]:
        plain = SGR.sub("", out)
        for text in shown:
            assert text in plain, f"{text!r} not shown literally in:\n{plain}"


def test_person_without_events_is_safe(env, tmp_path):
    base, _ = env
    [(code, out)] = run_commands(tmp_path / "run", [["person", f"n{CLEAR}@example.com"]],
                                 {**base, **MODES["pipe"][0]})
    assert "n\\x1b[2j@example.com" in out
    assert "\x1b" not in out
