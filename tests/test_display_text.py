"""Text from templates and servers is shown escaped: no terminal control, no disguise."""

from __future__ import annotations

import json

import pytest

from dbplay_desktop.display_text import safe_html, safe_json, safe_text

# Each hostile text and what the user must see instead.
ATTACKS = [
    pytest.param("\x1b]0;pwned\x07shop", "\\x1b]0;pwned\\x07shop", id="OSC-retitle-BEL"),
    pytest.param("\x1b]0;pwned\x1b\\shop", "\\x1b]0;pwned\\x1b\\shop", id="OSC-retitle-ST"),
    pytest.param("\x1b[2J\x1b[Hshop", "\\x1b[2J\\x1b[Hshop", id="CSI-clear-screen"),
    pytest.param("\x9b2J\x9d0;x\x9c", "\\x9b2J\\x9d0;x\\x9c", id="C1-CSI-OSC-ST"),
    pytest.param("bad\rshop.dbtpl: ok", "bad\\rshop.dbtpl: ok", id="CR-overwrite"),
    pytest.param("bad\nshop.dbtpl: ok", "bad\\nshop.dbtpl: ok", id="LF-fake-line"),
    pytest.param("bad\x85ok", "bad\\x85ok", id="C1-NEL"),
    pytest.param("fail\x08\x08\x08\x08ok  ", "fail\\x08\\x08\\x08\\x08ok  ", id="backspace"),
    pytest.param("\x07\x07", "\\x07\\x07", id="BEL"),
    pytest.param("a\x00b", "a\\x00b", id="NUL"),
    pytest.param("a\x7fb", "a\\x7fb", id="DEL"),
    pytest.param("a\tb\x0bc\x0cd", "a\\tb\\x0bc\\x0cd", id="tab-VT-FF"),
    pytest.param("invoice\u202efdp.exe", "invoice\\u202efdp.exe", id="bidi-RLO"),
    pytest.param("\u2066x\u2067y\u2068z\u2069", "\\u2066x\\u2067y\\u2068z\\u2069", id="isolates"),
    pytest.param("\u202a\u202b\u202c\u202d", "\\u202a\\u202b\\u202c\\u202d", id="embeddings"),
    pytest.param("a\u200eb\u200fc\u061cd", "a\\u200eb\\u200fc\\u061cd", id="bidi-marks"),
    pytest.param("o\u200bk\ufeff", "o\\u200bk\\ufeff", id="zero-width-BOM"),
    pytest.param("a\u2028b\u2029c", "a\\u2028b\\u2029c", id="line-separators"),
    pytest.param("ok\U000e0069\U000e0067", "ok\\U000e0069\\U000e0067", id="tag-characters"),
    pytest.param("bad\udcff", "bad\\udcff", id="lone-surrogate"),
]


@pytest.mark.parametrize(("text", "shown"), ATTACKS)
def test_single_line_escapes(text: str, shown: str) -> None:
    assert safe_text(text) == shown


@pytest.mark.parametrize(("text", "shown"), ATTACKS)
def test_escaped_text_is_printable_and_encodable(text: str, shown: str) -> None:
    for multiline in (False, True):
        result = safe_text(text, multiline=multiline)
        assert all(ch.isprintable() or ch in "\n\t" for ch in result), repr(result)
        result.encode("utf-8")  # no lone surrogate left


@pytest.mark.parametrize(
    "text",
    [
        "Shop", "Café naïve ☕ 日本語", "עברית", "مرحبا", "👩\u200d💻 team", "a\u00a0b",
        "C:\\temp\\x1b",
    ],
)
def test_ordinary_text_is_untouched(text: str) -> None:
    assert safe_text(text) == text
    assert safe_text(text, multiline=True) == text


def test_multiline_keeps_newlines_and_tabs_only() -> None:
    text = "line 1\r\nline 2\n\tindented\rover\x1b[2J"
    assert safe_text(text, multiline=True) == "line 1\nline 2\n\tindented\\rover\\x1b[2J"
    assert safe_text(text) == "line 1\\r\\nline 2\\n\\tindented\\rover\\x1b[2J"


def test_any_object_is_shown_as_text() -> None:
    assert safe_text(ValueError("bad\x1b[0m")) == "bad\\x1b[0m"
    assert safe_text(12) == "12"


@pytest.mark.parametrize(("text", "shown"), ATTACKS)
def test_json_escapes_keep_the_data(text: str, shown: str) -> None:
    document = json.dumps({"name": text, "rows": [[1, text]]}, ensure_ascii=False, indent=2)
    safe = safe_json(document)
    assert json.loads(safe) == json.loads(document)
    assert "\n" in safe  # indentation kept
    assert all(ch.isprintable() or ch == "\n" for ch in safe), repr(safe)


def test_html_escapes_markup_and_controls() -> None:
    assert safe_html("<img src='x'>\x1b") == "&lt;img src='x'&gt;\\x1b"
    assert safe_html("a & b\nc", multiline=True) == "a &amp; b<br>c"
    assert safe_html("a\nb") == "a\\nb"
