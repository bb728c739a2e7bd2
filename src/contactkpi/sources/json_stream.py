"""Read JSON exports record by record, keeping the line each record starts on.

Exports come in several shapes and this module reads all of them the same way:

- one JSON value per file (``{...}``), or a top-level array of records (``[{...}, {...}]``);
- JSON Lines / NDJSON (one record per line);
- records concatenated with no separator at all (``{...}{...}``), as Kinesis Data Firehose
  writes them to S3;
- *envelopes*: an object whose listed keys hold arrays of records, as REST list endpoints
  answer (``{"tickets": [...], "metric_sets": [...], "next_page": ...}``); each element of an
  envelope array is a record of its own, tagged with the key it came from.

Every record is reported with the 1-based line on which its first character stands, so a
reject can name it. When two records start on the same line (a Firehose file or a minified API
answer is one long line), ``numbered`` gives every record of the file its 1-based position in
the file instead, counting records of every kind in file order.

A record that cannot be decoded is reported with its error, and reading resumes at the next
place a record can start (``_resync``): a ``{`` at the start of a line, or right after ``}``,
``,`` or ``[``, from which a value decodes that ``looks_like_record``. One corrupted record
therefore costs one reject, never the rest of the file.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Found", "numbered", "read_records"]

_WS = " \t\n\r\ufeff"
_DECODER = json.JSONDecoder()
_BAD = (ValueError, RecursionError)  # what raw_decode raises on bad or absurdly deep input


@dataclass(frozen=True)
class Found:
    """One record of a JSON export, or the place where one could not be read."""

    line: int
    value: Any = None
    error: str | None = None
    key: str | None = None  # the envelope key the record came from (None: top level)


class _Text:
    """The text plus a line index."""

    def __init__(self, text: str):
        self.text = text
        self.newlines = [m.start() for m in re.finditer("\n", text)]

    def line(self, pos: int) -> int:
        return bisect.bisect_right(self.newlines, pos - 1) + 1

    def skip(self, pos: int) -> int:
        text = self.text
        n = len(text)
        while pos < n and text[pos] in _WS:
            pos += 1
        return pos


def _decode(t: _Text, pos: int) -> tuple[Any, int]:
    return _DECODER.raw_decode(t.text, pos)


def _candidate(t: _Text, q: int) -> bool:
    """Whether a ``{`` at ``q`` may start a record (line start, or after ``}``, ``,``, ``[``)."""
    text = t.text
    p = q - 1
    while p >= 0 and text[p] in " \t\r\ufeff":
        p -= 1
    if p < 0 or text[p] == "\n":
        return True
    return text[p] in "},["


def _resync(t: _Text, start: int, looks_like_record: Callable[[Any], bool]) -> int:
    """The next position after ``start`` where a record decodes, or the end of the text."""
    text = t.text
    q = start
    while True:
        q = text.find("{", q + 1)
        if q < 0:
            return len(text)
        if not _candidate(t, q):
            continue
        try:
            value, _ = _decode(t, q)
        except _BAD:
            continue
        if looks_like_record(value):
            return q


def _error(exc: Exception) -> str:
    msg = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
    return f"not valid JSON: {msg}"[:200]


def _array(t: _Text, pos: int, key: str | None, looks_like_record: Callable[[Any], bool]
           ) -> tuple[list[Found], int]:
    """Records of the array whose ``[`` is at ``pos``; returns them and the position after."""
    text = t.text
    n = len(text)
    out: list[Found] = []
    pos = t.skip(pos + 1)
    if pos < n and text[pos] == "]":
        return out, pos + 1
    while pos < n:
        start = pos
        try:
            value, pos = _decode(t, start)
        except _BAD as exc:
            out.append(Found(line=t.line(start), error=_error(exc), key=key))
            pos = _resync(t, start, looks_like_record)
            continue
        out.append(Found(line=t.line(start), value=value, key=key))
        pos = t.skip(pos)
        if pos < n and text[pos] == ",":
            pos = t.skip(pos + 1)
        elif pos < n and text[pos] == "]":
            return out, pos + 1
        elif pos < n:
            out.append(Found(line=t.line(pos), error="not valid JSON: expected ',' or ']'",
                             key=key))
            pos = _resync(t, pos, looks_like_record)
    return out, pos


def _envelope(t: _Text, pos: int, keys: frozenset[str],
              looks_like_record: Callable[[Any], bool]) -> tuple[list[Found], int] | None:
    """The records of an envelope object at ``pos``; None when it is not an envelope.

    The object is walked member by member; members named in ``keys`` whose value is an array
    are streamed element by element, other members are decoded and dropped.
    """
    text = t.text
    n = len(text)
    out: list[Found] = []
    found_key = False
    p = t.skip(pos + 1)
    if p < n and text[p] == "}":
        return None
    while p < n:
        if text[p] != '"':
            return None if not found_key else (out, p)
        try:
            name, p = _decode(t, p)
        except _BAD:
            return None if not found_key else (out, p)
        p = t.skip(p)
        if p >= n or text[p] != ":":
            return None if not found_key else (out, p)
        p = t.skip(p + 1)
        if name in keys and p < n and text[p] == "[":
            found_key = True
            records, p = _array(t, p, name, looks_like_record)
            out.extend(records)
        else:
            try:
                _, p = _decode(t, p)
            except _BAD:
                return None if not found_key else (out, p)
        p = t.skip(p)
        if p < n and text[p] == ",":
            p = t.skip(p + 1)
        elif p < n and text[p] == "}":
            return (out, p + 1) if found_key else None
        else:
            return None if not found_key else (out, p)
    return (out, p) if found_key else None


def read_records(text: str, looks_like_record: Callable[[Any], bool],
                 envelope_keys: frozenset[str] = frozenset()) -> Iterator[Found]:
    """Every record of a JSON export, in file order; see the module docstring.

    Args:
        text: the whole file, decoded.
        looks_like_record: True for a decoded value that can start a record; used only to
            find where to resume after a corrupted record.
        envelope_keys: member names whose arrays hold records (``tickets``, ...).
    """
    t = _Text(text)
    n = len(text)
    pos = t.skip(0)
    while pos < n:
        ch = text[pos]
        if ch == ",":  # stray separators between concatenated records are tolerated
            pos = t.skip(pos + 1)
            continue
        start = pos
        if ch == "[":
            records, pos = _array(t, pos, None, looks_like_record)
            yield from records
        else:
            env = _envelope(t, pos, envelope_keys, looks_like_record) if (
                ch == "{" and envelope_keys) else None
            if env is not None:
                records, pos = env
                yield from records
            else:
                try:
                    value, pos = _decode(t, start)
                except _BAD as exc:
                    yield Found(line=t.line(start), error=_error(exc))
                    pos = _resync(t, start, looks_like_record)
                else:
                    yield Found(line=t.line(start), value=value)
        pos = t.skip(pos)


def numbered(records: list[Found]) -> list[Found]:
    """``records`` as read, or renumbered by position when two of them share a line."""
    lines = [r.line for r in records]
    if len(set(lines)) == len(lines):
        return records
    return [Found(line=i, value=r.value, error=r.error, key=r.key)
            for i, r in enumerate(records, start=1)]
