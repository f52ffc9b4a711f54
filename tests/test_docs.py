"""The README's examples stay true: its config example loads, and it opens
with the two set-up commands."""

import re

from conftest import ROOT
from emaillog.config import load_config

README = (ROOT / "README.md").read_text()


def test_readme_config_example_loads(tmp_path):
    section = README[README.index("## Configuration"):]
    block = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    path = tmp_path / "config.toml"
    path.write_text(block)
    config = load_config(path)
    assert config.retry_window_hours == 36 and config.spam_block_hours == 24
    assert config.campaign_from_sender("bounces+spring@news.example.net") == "spring"


def test_readme_opens_with_the_two_commands():
    first_block = re.search(r"```\n(.*?)```", README, re.S).group(1).strip().splitlines()
    assert len(first_block) == 2
    assert "emaillog ingest sample_logs/" in first_block[0]
    assert "pytest" in first_block[1]


def test_readme_documents_every_view():
    from emaillog.store.views import definitions
    section = README[README.index("## The database"):README.index("## Reports")]
    for name in definitions(36, 24):
        assert f"`{name}`" in section, f"README's database section does not describe the view {name}"


def test_readme_tour_is_real_output():
    """"A short tour" is what the commands print on sample_logs/ (regenerate
    with python tools/readme_tour.py after a change in output)."""
    import shutil
    import subprocess
    import sys
    if shutil.which("emaillog") is None:
        import pytest
        pytest.skip("emaillog is not installed")
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "readme_tour.py"), "--check"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
