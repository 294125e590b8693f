"""Names and messages are data: each output format gets them in a form that cannot act.

A benchmark's name, a check's text, a target's exception message and a worker's error all
come from code perfgate does not control. Rendered raw they could act on the reader:

- Markdown (a pull-request comment, ``$GITHUB_STEP_SUMMARY``): raw HTML, links, images and
  headings would let an exception message write "all checks passed" into the page. Every
  character with a meaning in CommonMark/GFM is backslash-escaped, ``<``, ``>`` and ``&``
  become entities, and line breaks become spaces (nothing can start a block).
- JUnit XML: XML 1.0 forbids most C0 control characters even as character references, so
  one ``\\x1b`` in a message makes the whole report ill-formed and CI drops it. They are
  written visibly as ``\\x1b`` (ElementTree escapes ``<``, ``&`` and quotes itself).
- Terminal: ESC, CSI and other C0/C1 control characters would let a name clear the screen,
  move the cursor or retitle the window; bidirectional overrides would reorder the line.
  They are written visibly as ``\\x1b`` / ``\\u202e``.

Lone surrogates (a name decoded from bytes that are not UTF-8) cannot be encoded by any of
these outputs: every escaper writes them visibly too (``\\udcff``).
"""

from __future__ import annotations

import re

__all__ = ["code_span", "markdown_text", "terminal_text", "xml_text"]

# C0 except tab/newline, DEL, C1, lone surrogates, and the bidi controls (Trojan Source).
_TERMINAL_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#|~$])")
_NEWLINES = re.compile(r"[\r\n\u2028\u2029]+")


def _visible(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def terminal_text(s: object) -> str:
    """``s`` with every control, bidi-override and unencodable character shown as an
    escape; tabs and newlines are kept (a multi-line message stays readable)."""
    return _TERMINAL_UNSAFE.sub(_visible, str(s))


def xml_text(s: object) -> str:
    """``s`` with every character XML 1.0 cannot hold shown as an escape."""
    return _XML_UNSAFE.sub(_visible, str(s))


def markdown_text(s: object) -> str:
    """``s`` as literal Markdown text on one line: no HTML, link, image, emphasis, code,
    math or table cell can come out of it. Line-start markers (``-``, ``1.``, ``>``) are
    harmless: data never starts a line, since line breaks become spaces."""
    text = _NEWLINES.sub(" ", terminal_text(s).replace("\t", " "))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def code_span(s: object) -> str:
    """``s`` as a Markdown code span (literal inside: no markup is interpreted there),
    fenced with more backticks than any run inside it."""
    text = _NEWLINES.sub(" ", terminal_text(s))
    runs = [len(r) for r in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"
