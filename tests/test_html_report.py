"""`report --html` on real captured logs: one self-contained file that a
real browser (Debian's headless Chromium) renders with its charts laid out
and no console messages. Skips the browser checks where Chromium is absent;
.ci/run installs it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from conftest import LOGS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (apt install chromium)")

# Appended to a copy of the report only: measures what the browser laid out.
PROBE = """<script>
const bars = [...document.querySelectorAll('#funnel rect, #activity-chart rect')]
  .filter(r => parseFloat(r.getAttribute('width')) > 0);  // a zero count draws nothing
const drawn = bars.filter(r => r.getBoundingClientRect().width > 0 && r.getBoundingClientRect().height > 0);
const out = document.createElement('pre'); out.id = 'probe';
out.textContent = JSON.stringify({bars: bars.length, drawn: drawn.length,
  tables: document.querySelectorAll('table tbody tr').length, width: document.body.scrollWidth});
document.body.appendChild(out);
</script>"""


class Resources(HTMLParser):
    """Every src/href a page would fetch."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def browse(path, tmp_path) -> tuple[str, list[str]]:
    """(DOM after load, console lines) from headless Chromium."""
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
         f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1280,2000",
         "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, [line for line in result.stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture
def report(cli, tmp_path):
    cli("ingest", "-q", LOGS / "postfix" / "scenario.log", LOGS / "exim" / "scenario.log")
    path = tmp_path / "report.html"
    result = cli("report", "--html", path, "--title", "Spring <review> & co")
    assert result.returncode == 0, result.stderr
    assert f"wrote {path}" in result.stdout
    return path


def test_report_is_self_contained_and_complete(report):
    html = report.read_text()
    parser = Resources()
    parser.feed(html)
    assert parser.urls == []  # nothing to fetch: no network needed
    assert "<script" not in html
    assert "Spring &lt;review&gt; &amp; co" in html  # escaped, never markup
    for part in ('id="funnel"', 'id="activity-chart"', 'id="campaigns"', 'id="bounce-reasons"',
                 'id="domains"', 'id="suppression-summary"'):
        assert part in html
    assert len(re.findall(r'<rect class="bar', html)) >= 4
    assert report.stat().st_mode & 0o077 == 0  # lists people: owner only


def test_report_escapes_data_from_the_internet(cli, tmp_path):
    """A hostile recipient address and bounce text stay text."""
    line = ('{"email":"<img src=x onerror=alert(1)>@example.com","timestamp":1795870800,"event":"bounce",'
            '"type":"bounce","status":"5.1.1","category":["<b>spring</b>"],"sg_event_id":"e1",'
            '"sg_message_id":"m1.filter1.1.0","reason":"550 5.1.1 <script>alert(1)</script> unknown"}\n')
    log = tmp_path / "sendgrid.jsonl"
    log.write_text(line)
    cli("ingest", "-q", "--format", "sendgrid", log)
    path = tmp_path / "r.html"
    assert cli("report", "--html", path, "--at", "2026-11-28T14:00:00Z").returncode == 0
    html = path.read_text()
    assert "<script" not in html and "<img" not in html and "<b>spring" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@needs_chromium
def test_report_renders_in_chromium(report, tmp_path):
    probed = tmp_path / "probed.html"
    probed.write_text(report.read_text().replace("</body>", PROBE + "</body>"))
    dom, console = browse(probed, tmp_path)
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom)
    assert found, "the page did not load or run"
    probe = json.loads(found.group(1).replace("&quot;", '"'))
    assert probe["bars"] >= 4 and probe["drawn"] == probe["bars"]
    assert probe["tables"] > 10
    assert console == []


@needs_chromium
def test_report_itself_logs_nothing_to_the_console(report, tmp_path):
    dom, console = browse(report, tmp_path)
    assert 'id="activity-chart"' in dom and console == []


@needs_chromium
def test_console_check_catches_errors(tmp_path):
    """The console check above can fail: a page with an error is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><p>x</p><script>missing()</script>")
    _, console = browse(bad, tmp_path)
    assert any("missing is not defined" in line for line in console)


def test_report_to_an_unwritable_place_is_one_sentence(cli, tmp_path):
    cli("ingest", "-q", LOGS / "postfix" / "scenario.log")
    result = cli("report", "--html", tmp_path / "missing-dir" / "r.html")
    assert result.returncode == 1
    assert result.stderr.startswith("emaillog: ") and "missing-dir/r.html" in result.stderr
    assert "Traceback" not in result.stderr and ".emaillog-report-" not in result.stderr
