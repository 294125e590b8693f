"""SQL statement normalisation: the same query with different literals is one statement.

``SELECT * FROM book WHERE author_id = 42`` and ``… = 7`` both become
``SELECT * FROM book WHERE author_id = ?``. Literals (strings, numbers, hex blobs), driver
placeholders (``?``, ``%s``, ``%(name)s``, ``:name``, ``$1``) and comments are replaced or
removed, ``IN (…)`` lists and multi-row ``VALUES`` collapse to one element, and whitespace
is collapsed. Keywords keep their case: the point is grouping, not pretty-printing.
"""

from __future__ import annotations

import re

__all__ = ["is_transaction_control", "normalize"]

_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_STRING = re.compile(r"(?:\b[EeNnXxBb])?'(?:[^']|'')*'")
_DOLLAR_QUOTE = re.compile(r"\$(\w*)\$.*?\$\1\$", re.S)
_PLACEHOLDER = re.compile(r"%\(\w+\)s|%s|(?<![:\w]):[A-Za-z_]\w*|\$\d+|\?")
_NUMBER = re.compile(r"(?<![\w.\"])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w\"])")
_IN_LIST = re.compile(r"\b(IN)\s*\(\s*\?(?:\s*,\s*\?)+\s*\)", re.I)
_VALUES_ROWS = re.compile(r"(\(\s*\?(?:\s*,\s*\?)*\s*\))(?:\s*,\s*\(\s*\?(?:\s*,\s*\?)*\s*\))+")
_SPACE = re.compile(r"\s+")
_TX = re.compile(
    r"^\s*(BEGIN|COMMIT|ROLLBACK|END|START\s+TRANSACTION|SAVEPOINT|RELEASE)\b", re.I
)


def normalize(sql: str) -> str:
    """The statement with literals and placeholders as ``?`` and whitespace collapsed."""
    s = _COMMENT.sub(" ", sql)
    s = _DOLLAR_QUOTE.sub("?", s)
    s = _STRING.sub("?", s)
    s = _PLACEHOLDER.sub("?", s)
    s = _NUMBER.sub("?", s)
    s = _VALUES_ROWS.sub(r"\1", s)
    s = _IN_LIST.sub(r"\1 (?)", s)
    s = _SPACE.sub(" ", s).strip()
    return s.rstrip(";").rstrip()


def is_transaction_control(sql: str) -> bool:
    """BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE …: not counted as queries."""
    return _TX.match(sql) is not None
