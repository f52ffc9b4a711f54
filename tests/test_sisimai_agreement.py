"""Class agreement with Sisimai's labels over the shared bounce corpus.

Runs tools/sisimai_agreement.py's measure; skipped when the corpus (outside
the repository, ../shared/corpus/bounces) is absent.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parent.parent / "tools" / "sisimai_agreement.py"


def _tool():
    spec = importlib.util.spec_from_file_location("sisimai_agreement", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def test_agreement_with_sisimai_is_at_least_90_percent():
    tool = _tool()
    if not tool.CORPUS.exists():
        pytest.skip(f"bounce corpus not present at {tool.CORPUS}")
    agreement, counted, disagreements, _skipped = tool.measure(tool.CORPUS)
    assert counted >= 500
    assert agreement >= 0.90, f"{agreement:.1%} over {counted} cases, {len(disagreements)} disagreements"


def test_tool_exits_0_without_corpus(tmp_path, capsys):
    assert _tool().main([str(tmp_path / "missing.jsonl")]) == 0
    assert "not found" in capsys.readouterr().out
