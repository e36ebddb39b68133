"""One escaping layer for everything onetrip prints or exports.

Names come from models (task, lane and matter names), from users and from
case data, so none of them is trusted by a renderer:

* :func:`clean` drops control characters (C0 and C1), bidirectional
  overrides and isolates, zero-width and line-separator characters, so a
  name cannot move the cursor, recolour the terminal or reorder a line;
  tabs and newlines become spaces.
* :func:`term` is :func:`clean` for a terminal; rich output goes through
  :func:`rich_text`, a ``rich.text.Text`` that is never parsed as markup
  (``[bold red]``, ``[/]`` and ``[link=…]`` print as typed).
* :func:`csv_cell` neutralises spreadsheet formulas: a text cell starting with
  ``= + - @`` or a tab or carriage return gets a leading apostrophe, as OWASP
  advises for CSV meant for Excel; plain numbers stay numbers.
* :func:`md_cell` escapes Markdown punctuation and HTML (``<script>`` prints
  as text in any Markdown viewer), and the table separator ``|``.
* :func:`html` is :func:`clean` followed by ``html.escape`` (quotes too).
"""
from __future__ import annotations

import html as _html
import re

# C0 and C1 controls (DEL too), bidi embeddings/overrides/isolates and marks, zero-width
# characters, line/paragraph separators and the BOM.
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e"
                        "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]")
_SPACE = re.compile("[\t\n\r\u2028\u2029\x85]")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?$")


def clean(value) -> str:
    """``value`` as text without control, bidi or invisible characters (one line)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return _INVISIBLE.sub("", _SPACE.sub(" ", text))


def term(value) -> str:
    """Text safe to write to a terminal with ``click.echo`` (no markup is interpreted there)."""
    return clean(value)


def rich_text(value, style: str | None = None):
    """A rich ``Text`` cell: cleaned and never parsed as markup."""
    from rich.text import Text
    return Text(clean(value), style=style or "")


def csv_cell(value) -> str:
    """A CSV cell Excel and LibreOffice will not run as a formula."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    text = value if isinstance(value, str) else str(value)
    text = _INVISIBLE.sub("", text)
    if text and text[0] in "=+-@\t\r" and not _NUMBER.match(text):
        return "'" + text
    return text


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md_cell(value) -> str:
    """Markdown text that renders as typed: HTML escaped, punctuation backslash-escaped."""
    text = _html.escape(clean(value), quote=False)
    return _MD_SPECIAL.sub(r"\\\1", text)


def html(value) -> str:
    """Text for HTML element content or attribute values."""
    return _html.escape(clean(value), quote=True)
