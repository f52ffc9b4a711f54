"""The test run itself: a skipped test says why in the summary, and a warning
(an unclosed file included) fails the test that caused it."""

from __future__ import annotations

import gc
import gzip
import subprocess
import sys
import warnings

from conftest import LOGS, ROOT


def run_pytest_on(tmp_path, source: str) -> subprocess.CompletedProcess:
    """Run pytest with this project's configuration on one probe file."""
    probe = tmp_path / "test_probe.py"
    probe.write_text(source)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path),
         "-p", "no:cacheprovider", str(probe)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120)


def test_a_skip_says_why_in_the_summary(tmp_path):
    result = run_pytest_on(tmp_path, "import pytest\n\n"
                                     "def test_x():\n    pytest.skip('the probe has no corpus')\n")
    assert result.returncode == 0, result.stdout
    assert "SKIPPED" in result.stdout and "the probe has no corpus" in result.stdout


def test_a_warning_fails_the_test(tmp_path):
    result = run_pytest_on(tmp_path, "import warnings\n\n"
                                     "def test_x():\n    warnings.warn('careless', UserWarning)\n")
    assert result.returncode == 1, result.stdout
    assert "careless" in result.stdout


def test_ingesting_gzip_leaves_no_file_open(tmp_path, ingest):
    log = tmp_path / "mail.log.1.gz"
    log.write_bytes(gzip.compress((LOGS / "postfix" / "scenario.log").read_bytes()))
    broken = tmp_path / "mail.log.2.gz"
    broken.write_bytes(log.read_bytes()[: log.stat().st_size // 2])  # truncated
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, summary = ingest([broken, log])
        gc.collect()
    assert summary.files_read == 2
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
