"""Text from templates and servers, made safe to show on a terminal or in a label.

A template's name, description and payload, and a server's error and notice messages,
come from strangers. Printed raw, ``\\x1b]0;title\\x07`` retitles the terminal, ``\\x1b[2J``
clears it, a ``\\r`` or ``\\n`` followed by ``ok`` fakes a line of dbplay's own output, and
a right-to-left override makes ``txt.exe`` read as ``exe.txt``. :func:`safe_text` is the
one function every such text passes through before it is shown; it escapes, rather than
drops, what it refuses, so the user still sees that something odd was there.

Escaped (as ``\\n``, ``\\r``, ``\\t``, ``\\xNN``, ``\\uNNNN`` or ``\\UNNNNNNNN``):

* C0 controls U+0000-U+001F (newline and tab are kept when ``multiline``), DEL U+007F and
  C1 controls U+0080-U+009F (``\\x9b`` is a one-byte CSI on many terminals, ``\\x85`` a
  newline);
* bidirectional controls: U+061C, U+200E, U+200F, the embeddings and overrides
  U+202A-U+202E and the isolates U+2066-U+2069;
* invisible formatting that can hide or disguise text: soft hyphen U+00AD, Mongolian
  vowel separator U+180E, zero-width space U+200B, line and paragraph separators U+2028,
  U+2029, U+2060-U+2065 and U+206A-U+206F, the byte-order mark U+FEFF, interlinear
  annotation U+FFF9-U+FFFB, tag characters U+E0000-U+E007F (invisible "ASCII smuggling"),
  and lone surrogates (undecodable bytes of a file name, which a terminal cannot print).

Kept: printable text of every script, ordinary and non-breaking spaces, and the
zero-width joiner and non-joiner U+200C/U+200D that emoji sequences and many scripts
need. Backslashes are not doubled: the result is for reading, not for decoding back.
``multiline`` keeps ``\\n`` (a ``\\r\\n`` pair becomes ``\\n``) and tabs, for texts that are
multi-line by design, such as a template's description in the browser; every other use
(names, titles, status lines, one-line errors) is single-line and escapes them too.

:func:`safe_json` does the same for JSON output, as ``\\u`` escapes that decode to the
same data; :func:`safe_html` and :func:`qt_text` prepare such text for Qt, which would otherwise
guess from the text itself whether it is markup (``<img src=...>`` in a name). The
window shows these texts in labels set to plain text, or through these helpers.
"""

from __future__ import annotations

import re

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# Invisible and bidirectional characters, besides the controls; shared by the patterns.
_INVISIBLE = (
    "\u00ad\u061c\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\U000e0000-\U000e007f\ud800-\udfff"
)
_JSON_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_INVISIBLE}]")
_SINGLE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_INVISIBLE}]")
# Tab (\x09) and newline (\x0a) kept; a CR/LF pair is one newline, a lone CR escaped.
_MULTI_LINE = re.compile(f"\r\n|[\x00-\x08\x0b-\x1f\x7f-\x9f{_INVISIBLE}]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\r\n":
        return "\n"
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def safe_text(text: object, *, multiline: bool = False) -> str:
    """``text`` (any object, shown as ``str``) with control and disguising characters escaped.

    ``multiline`` keeps newlines and tabs for texts shown over several lines by design.
    """
    value = text if isinstance(text, str) else str(text)
    pattern = _MULTI_LINE if multiline else _SINGLE_LINE
    return pattern.sub(_escape, value)


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    high, low = divmod(code - 0x10000, 0x400)
    return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"


def safe_json(text: str) -> str:
    """JSON text (``json.dumps`` output) with the same characters as ``\\u`` escapes.

    The document decodes to exactly the same data, so machine-readable output stays
    exact, yet a terminal that shows it never sees a raw control or bidi character.
    Structural newlines of indented JSON are kept.
    """
    return _JSON_UNSAFE.sub(_json_escape, text)


def safe_html(text: object, *, multiline: bool = False) -> str:
    """:func:`safe_text` escaped for Qt rich text (tooltips), newlines as ``<br>``.

    Qt guesses whether a tooltip or label is rich text, so a name like ``<img src=...>``
    would be rendered as markup: text from strangers goes through here, or into a widget
    set to plain text.
    """
    import html

    escaped = html.escape(safe_text(text, multiline=multiline), quote=False)
    return escaped.replace("\n", "<br>") if multiline else escaped



def qt_text(text: object, *, multiline: bool = False) -> str:
    """``text`` for a Qt widget that guesses plain or rich text (tooltips, message boxes).

    Qt renders a string as markup when it merely looks like some (a name such as
    ``<img src=...>``, or ``&lt;``); without ``<`` or ``&`` it cannot, so such text is
    returned as :func:`safe_text`, and any other is escaped and wrapped as explicit rich
    text that shows exactly those characters.
    """
    safe = safe_text(text, multiline=multiline)
    if "<" not in safe and "&" not in safe:
        return safe
    return "<p style='white-space:pre-wrap'>" + safe_html(safe, multiline=multiline) + "</p>"
