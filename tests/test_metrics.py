"""The Prometheus exposition (emaillog/metrics.py) is what Prometheus's own
parser reads back: names, types, labels (hostile ones too) and values equal
to the figures given; and the textfile write is atomic."""

from __future__ import annotations

import os
import random
import re
import stat

import pytest
from prometheus_client.parser import text_string_to_metric_families

from emaillog.metrics import (CONTENT_TYPE, LABEL_NAME, METRICS, SUPPRESSION_REASONS, Figures, render,
                              write_textfile)

HOSTILE = 'spring "sale"\\50%\noff'
FIGURES = Figures(
    events={("sent", "spring"): 120, ("delivered", "spring"): 110, ("sent", None): 4, ("opened", HOSTILE): 7},
    hard_bounces={("permanent", "user_unknown"): 3, ("spam_block", "blocklisted"): 2, ("technical", None): 1},
    suppressions={"hard_bounce": 3, "unsubscribed": 5},
    pending_retries={"spring": 2, None: 1},
    last_event_ts=1795871401.5,
    build_info={"version": "0.1.0", "python": "3.12.1"},
)


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def samples(family) -> dict:
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples}


def test_names_types_and_help_are_prometheus_conventions():
    got = families(render(FIGURES))
    # The parser names a counter's family without its `_total`; its samples keep it.
    assert {name: f.type for name, f in got.items()} == {
        "emaillog_events": "counter", "emaillog_hard_bounces": "counter", "emaillog_suppressions": "gauge",
        "emaillog_pending_retries": "gauge", "emaillog_last_event_timestamp_seconds": "gauge",
        "emaillog_build_info": "gauge"}
    assert {s.name for s in got["emaillog_events"].samples} == {"emaillog_events_total"}
    for metric in METRICS:
        assert re.fullmatch(r"emaillog_[a-z_]+", metric.name)
        assert metric.name.endswith("_total") == (metric.type == "counter")
        assert all(LABEL_NAME.match(label) for label in metric.labels)
        assert metric.help.endswith(".")


def test_values_and_labels_are_the_figures():
    got = families(render(FIGURES))
    assert samples(got["emaillog_events"]) == {
        (("campaign", "spring"), ("type", "sent")): 120, (("campaign", "spring"), ("type", "delivered")): 110,
        (("campaign", ""), ("type", "sent")): 4, (("campaign", HOSTILE), ("type", "opened")): 7}
    assert samples(got["emaillog_hard_bounces"]) == {
        (("class", "permanent"), ("reason", "user_unknown")): 3,
        (("class", "spam_block"), ("reason", "blocklisted")): 2, (("class", "technical"), ("reason", "")): 1}
    assert samples(got["emaillog_pending_retries"]) == {(("campaign", "spring"),): 2, (("campaign", ""),): 1}
    assert samples(got["emaillog_last_event_timestamp_seconds"]) == {(): 1795871401.5}
    assert samples(got["emaillog_build_info"]) == {(("python", "3.12.1"), ("version", "0.1.0")): 1}


def test_every_suppression_reason_has_a_sample_even_at_zero():
    got = samples(families(render(FIGURES))["emaillog_suppressions"])
    assert got == {(("reason", r),): {"hard_bounce": 3, "unsubscribed": 5}.get(r, 0) for r in SUPPRESSION_REASONS}


def test_the_reasons_are_the_state_layers():
    from emaillog.state import REASONS
    assert SUPPRESSION_REASONS == REASONS


@pytest.mark.parametrize("value", ['a"b', "back\\slash", "new\nline", '\\"\n', "\\n", "tab\tand ünïcode ✉", ""])
def test_hostile_label_values_survive_the_parser(value):
    text = render(Figures(events={("clicked", value): 1}, pending_retries={value: 2}))
    got = families(text)
    assert samples(got["emaillog_events"]) == {(("campaign", value), ("type", "clicked")): 1}
    assert samples(got["emaillog_pending_retries"]) == {(("campaign", value),): 2}
    for line in text.splitlines():  # one sample per line: a newline in a value never splits one
        assert line.startswith(("# HELP ", "# TYPE ", "emaillog_"))


def test_escapes_follow_the_format():
    text = render(Figures(pending_retries={'a"b\\c\nd': 1}))
    assert 'emaillog_pending_retries{campaign="a\\"b\\\\c\\nd"} 1\n' in text


def test_an_unknown_campaign_and_an_empty_one_are_one_series():
    got = samples(families(render(Figures(events={("sent", None): 2, ("sent", ""): 3})))["emaillog_events"])
    assert got == {(("campaign", ""), ("type", "sent")): 5}


def test_output_is_deterministic_whatever_the_order_of_the_figures():
    events = {(t, c): i for i, (t, c) in enumerate((t, c) for t in ("sent", "opened", "clicked")
                                                   for c in ("b", "a", None, "c"))}
    keys = list(events)
    random.Random(7).shuffle(keys)
    shuffled = Figures(events={k: events[k] for k in keys})
    assert render(Figures(events=events)) == render(shuffled)
    lines = [line for line in render(shuffled).splitlines() if line.startswith("emaillog_events_total")]
    assert len(lines) == 12
    assert lines == sorted(lines, key=lambda line: re.findall(r'"([^"]*)"', line))  # by type, then campaign


def test_help_and_type_come_once_before_their_samples():
    text = render(FIGURES)
    assert text.endswith("\n") and "\n\n" not in text
    seen = []
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split()[2]
            assert name not in seen
            seen.append(name)
        elif line.startswith("# TYPE "):
            assert line.split()[2] == seen[-1]
        else:
            assert line.split("{")[0].split(" ")[0] == seen[-1]


def test_empty_figures_give_only_the_suppression_gauge():
    got = families(render(Figures()))
    assert list(got) == ["emaillog_suppressions"]
    assert set(samples(got["emaillog_suppressions"]).values()) == {0}


def test_floats_infinities_and_bad_labels():
    text = render(Figures(last_event_ts=1.0e9, events={("sent", "x"): float("inf")}))
    assert "emaillog_last_event_timestamp_seconds 1000000000.0\n" in text
    assert 'emaillog_events_total{type="sent",campaign="x"} +Inf\n' in text
    with pytest.raises(ValueError, match="label name"):
        render(Figures(build_info={"not-a-label": "x"}))
    with pytest.raises(ValueError, match="label values"):
        render(Figures(events={("sent",): 1}))
    assert CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"


def test_label_name_pattern_and_its_samples():
    for good in ("campaign", "_x1", "class"):
        assert LABEL_NAME.match(good)
    for bad in ("2x", "a-b", "__name", ""):
        assert not LABEL_NAME.match(bad)


# --- the textfile collector's file --------------------------------------

def test_write_textfile_replaces_the_target_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "emaillog.prom"
    target.write_text("old\n")
    os.chmod(target, 0o600)
    old_inode = target.stat().st_ino
    old_umask = os.umask(0o077)
    try:
        write_textfile(target, render(FIGURES))
    finally:
        os.umask(old_umask)
    assert target.read_text() == render(FIGURES)
    assert target.stat().st_ino != old_inode  # renamed over, not rewritten in place
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emaillog.prom"]


def test_write_textfile_creates_a_missing_target(tmp_path):
    write_textfile(tmp_path / "new.prom", "emaillog_suppressions{reason=\"manual\"} 0\n")
    assert [p.name for p in tmp_path.iterdir()] == ["new.prom"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary_one(tmp_path, monkeypatch):
    target = tmp_path / "emaillog.prom"
    target.write_text("old\n")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_textfile(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["emaillog.prom"]


def test_the_temporary_file_is_invisible_to_the_collector(tmp_path, monkeypatch):
    """node_exporter reads `*.prom`; the temporary file must not match while it exists."""
    names = []
    real_replace = os.replace

    def spy(src, dst):
        names.append(os.path.basename(src))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    write_textfile(tmp_path / "emaillog.prom", "x 1\n")
    assert names and all(name.startswith(".") and not name.endswith(".prom") for name in names)
