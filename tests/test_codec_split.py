"""Reply texts split into template and argument: the character scan the
compiled writer uses finds exactly what the expression plain Python uses
finds, on crafted edge cases and on every line of the shared corpus."""

from __future__ import annotations

import pytest

from emaillog.store.codec import ARG_MARK, _LAST, join_text, last_variable, split_text

EDGES = [
    "",
    "ok",
    "250 2.0.0 Ok: queued as 4Fq2xk1cQzz9",
    "250 2.0.0 OK 1700000000 d9443c01a7336-21c2e2b1aa1si12345pfb.42 - gsmtp",
    "550 5.1.1 <a@example.com>: Recipient address rejected: User unknown",
    "451 4.7.500 Server busy",          # a status code of seven characters stays
    "451 4.7.5000 Server busy",         # ... one of eight that is not a status code is an argument
    "12345 is five characters, 123456 six",
    "abcdef",                           # no digit
    "abcde1",
    "1abcde",
    "x" * 40 + "9",
    "token at the end 20261204",
    "20261204 token at the start",
    "two lines\nid=AB12CD34EF\n",
    "unicode digits ١٢٣٤٥٦ are not ours, 987654 is",
    "mixed ab-12_cd.ef:gh/ij+kl=mn%op#qr end",
    "adjacent 123456 789012 tokens",
    "a (123456) in parentheses",
    "é123456é",
    "5.7.1 5.7.1 5.7.1",
    "2.0.0",
    "host mx.example.com[192.0.2.10]:25 said: 421 4.7.0 try again later",
]


def expression(text: str) -> tuple[int, int]:
    found = _LAST.match(text)
    return found.span(1) if found else (-1, -1)


@pytest.mark.parametrize("text", EDGES)
def test_the_scan_finds_what_the_expression_finds(text):
    assert last_variable(text) == expression(text)


def test_the_scan_agrees_on_every_corpus_line(corpus):
    texts = 0
    for path in sorted(corpus.rglob("*")):
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            assert last_variable(line) == expression(line), (path.name, line)
            texts += 1
    assert texts > 1000


def test_split_keeps_the_status_and_takes_the_id():
    template, arg = split_text("250 2.0.0 Ok: queued as 4Fq2xk1cQzz9")
    assert (template, arg) == ("250 2.0.0 Ok: queued as " + ARG_MARK, "4Fq2xk1cQzz9")
    template, arg = split_text("250 2.0.0 OK 1700000000 d9443c01a7336-21c2e2b1aa1si12345pfb.42 - gsmtp")
    assert arg == "1700000000 d9443c01a7336-21c2e2b1aa1si12345pfb.42"  # neighbouring tokens join
    assert template == "250 2.0.0 OK " + ARG_MARK + " - gsmtp"
    assert split_text("550 5.1.1 User unknown") == ("550 5.1.1 User unknown", None)


@pytest.mark.parametrize("text", EDGES)
def test_split_gives_the_exact_text_back(text):
    address = "a@example.com"
    template, arg = split_text(text, address)
    assert join_text(template, arg, address) == text
