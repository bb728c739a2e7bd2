"""Split queue_log bytes into numbered lines of ``|`` fields, in a DuckDB temp table.

Every reader here fills the same table, ``_ast_lines``::

    line BIGINT, c0 .. c23 VARCHAR, pre_code VARCHAR, pre_value VARCHAR

``line`` is the 1-based line number in the file (or the data-row's line in a CSV export);
``c0`` .. ``c23`` are the ``|`` fields (an empty field is ``''``, a field the line does not
have is NULL); ``pre_code``/``pre_value``
carry a reject found while splitting (``bad_encoding``, ``empty_line``, ``too_many_fields``,
``bad_timestamp`` for a CSV time that does not parse). Checking and typing the fields is done
once, in SQL, for all three readers (:mod:`contactkpi.sources.asterisk.check`).

Three readers:

- :func:`exact_lines` splits bytes in Python: exact for any input (CRLF, stray bytes, blank
  lines), used for small files, for ``--follow`` chunks and as the fallback;
- :func:`fast_relation` lets DuckDB's parallel CSV reader split a large file, read straight
  into the check (:func:`check.check_file`, no lines table); the check gives up on anything
  it cannot split the way :func:`exact_lines` would - an invalid byte, a stray ``\\r``, more
  than 12 fields, or a row count that differs from the number of newlines (DuckDB skips
  blank lines) - and the caller falls back to the exact reader;
- :func:`table_lines` reads the ``queue_log`` database table exported as CSV (header row;
  ``time, callid, queuename, agent, event`` and either ``data1``..``data5`` - Asterisk's
  ``queue_adaptive_realtime`` form - or the single ``data`` column with ``|``-separated
  parameters; both are re-joined and split on ``|``, so the 5-column form's last column that
  holds the rest of the parameters splits the same way as the file does).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from contactkpi.errors import SourceError
from contactkpi.model.validate_sql import drop_relation
from contactkpi.sources.asterisk.events import MAX_FIELDS

FIELDS = tuple(f"c{i}" for i in range(MAX_FIELDS))
LINES_TABLE = "_ast_lines"
_COLUMNS_SQL = ", ".join(f"{c} VARCHAR" for c in FIELDS)
_LOG_LINE = re.compile(rb"^\s*\d{1,12}\|")
_BLOCK = 1 << 24


def create_lines_table(db: Any) -> None:
    db.execute(f"CREATE OR REPLACE TEMP TABLE {LINES_TABLE} (line BIGINT, {_COLUMNS_SQL}, "
               "pre_code VARCHAR, pre_value VARCHAR)")


def insert_frame(db: Any, frame: pd.DataFrame) -> None:
    """Append a frame with the lines-table columns (any subset of c0..c23) to ``_ast_lines``."""
    if frame.empty:
        return
    cols = ["line", *[c for c in FIELDS if c in frame.columns], "pre_code", "pre_value"]
    db.register("_ast_incoming_lines", frame)
    try:
        db.execute(f"INSERT INTO {LINES_TABLE} ({', '.join(cols)}) "
                   f"SELECT {', '.join(cols)} FROM _ast_incoming_lines")
    finally:
        db.unregister("_ast_incoming_lines")


def sniff(head: bytes) -> str:
    """``log`` for the pipe file Asterisk writes, ``table`` for a CSV export of the table."""
    for raw in head.splitlines():
        if not raw.strip():
            continue
        if _LOG_LINE.match(raw):
            return "log"
        low = raw.decode("utf-8", "replace").lower()
        if "callid" in low and "event" in low:
            return "table"
        return "log"
    return "log"


#: Bytes the fast reader cannot take as the exact reader does: DuckDB's strict parser
#: fails on a ``\\r`` (and a failed statement would abort the load's transaction), and
#: ``\\x01`` is its null string.
_NOT_FAST = (b"\r", b"\x01")


def scan(path: Path, end: int) -> tuple[int, bool]:
    """Newlines in the first ``end`` bytes of ``path`` and whether the fast reader may
    read them (none of :data:`_NOT_FAST`), in one pass of blocks."""
    total = 0
    fast = True
    with path.open("rb") as f:
        left = end
        while left > 0:
            block = f.read(min(_BLOCK, left))
            if not block:
                break
            total += block.count(b"\n")
            fast = fast and not any(b in block for b in _NOT_FAST)
            left -= len(block)
    return total, fast


def _empty_frame() -> dict[str, list[Any]]:
    return {"line": [], **{c: [] for c in FIELDS}, "pre_code": [], "pre_value": []}


def exact_lines(data: bytes, first_line: int = 1) -> pd.DataFrame:
    """Split complete lines (``data`` ends with ``\\n`` or is empty) into the lines frame.

    A line may end with ``\\r\\n``; other bytes are kept as they are. Lines that are not valid
    UTF-8, blank, or have more than 24 fields get a ``pre_code`` and no fields.
    """
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    n = len(parts)
    cols: list[list[str | None]] = [[None] * n for _ in FIELDS]
    pre_code: list[str | None] = [None] * n
    pre_value: list[str | None] = [None] * n
    for i, raw in enumerate(parts):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            pre_code[i] = "bad_encoding"
            pre_value[i] = raw.decode("utf-8", "replace")[:200]
            continue
        if not text.strip():
            pre_code[i] = "empty_line"
            continue
        fields = text.split("|")
        if len(fields) > MAX_FIELDS:
            pre_code[i] = "too_many_fields"
            pre_value[i] = text[:200]
            continue
        for j, value in enumerate(fields):
            cols[j][i] = value
    frame = pd.DataFrame({c: pd.array(v, dtype="object") for c, v in zip(FIELDS, cols,
                                                                          strict=True)})
    frame.insert(0, "line", np.arange(first_line, first_line + n, dtype=np.int64))
    frame["pre_code"] = pd.array(pre_code, dtype="object")
    frame["pre_value"] = pd.array(pre_value, dtype="object")
    return frame


#: Fields the fast reader declares: Asterisk writes at most 11; a longer line is skipped, the
#: counts differ and the exact reader (24 fields) takes over, so both read every file alike.
FAST_FIELDS = tuple(f"c{i}" for i in range(12))
#: The CSV reader's buffer in bytes (None: DuckDB's default). Tests make it small so that a
#: small file is read by several threads at once.
FAST_BUFFER_BYTES: int | None = None


def fast_relation(path: Path) -> str:
    """SQL: DuckDB's parallel CSV reader of ``path`` (``c0`` .. ``c11``, in file order).

    Empty fields stay ``''`` (``nullstr`` is a byte :func:`scan` made sure the file does not
    hold) so that only the fields a line does not have are NULL, as with
    :func:`exact_lines`. A line it cannot split the way :func:`exact_lines` would (invalid
    UTF-8, more than 12 fields, a blank line) is skipped (``ignore_errors``), so the read
    does not fail inside the load's transaction: the caller
    (:func:`check.check_file`) compares the number of rows with the number of newlines and,
    when they differ, falls back to :func:`exact_lines`. Use it only on a file :func:`scan`
    found fast-readable.
    """
    columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in FAST_FIELDS) + "}"
    src = str(path).replace("'", "''")
    size = FAST_BUFFER_BYTES
    buffer = "" if size is None else f", buffer_size={size}, max_line_size={size // 4}"
    return (f"read_csv('{src}', delim='|', quote='', escape='', header=false, "
            f"columns={columns}, null_padding=true, auto_detect=false, new_line='\\n', "
            f"strict_mode=true, encoding='utf-8', nullstr='\x01', ignore_errors=true{buffer})")


def drop_lines(db: Any) -> None:
    """Drop ``_ast_lines``."""
    drop_relation(db, LINES_TABLE)


_TABLE_ALIASES = {"queue": "queuename", "queue_name": "queuename", "uniqueid": "callid",
                  "membername": "agent", "verb": "event", "timestamp": "time"}


def table_lines(data: bytes, timezone: str) -> pd.DataFrame:
    """Rows of a CSV export of the ``queue_log`` table as a lines frame (``c0`` = epoch µs).

    ``time`` may be epoch seconds, or a date-time: with an offset it is exact; without one it
    is read in ``timezone`` (Asterisk writes the server's local time unless
    ``queue_log_realtime_use_gmt`` is set). Lines are numbered as in the file (header = 1).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"the queue_log export is not UTF-8 (byte {exc.start})",
                          hint="re-export the table as UTF-8 CSV") from None
    first = text.split("\n", 1)[0]
    delim = max((",", ";", "\t", "|"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        return pd.DataFrame(_empty_frame())
    header = [_TABLE_ALIASES.get(h, h) for h in header]
    need = ("time", "callid", "queuename", "agent", "event")
    missing = [h for h in need if h not in header]
    if missing:
        raise SourceError(f"the queue_log export has no column {', '.join(missing)}",
                          where="header",
                          hint="export the queue_log table with its columns time, callid, "
                          "queuename, agent, event and data or data1..data5")
    pos = {h: header.index(h) for h in header}
    datacols = [pos[f"data{i}"] for i in range(1, 6) if f"data{i}" in pos]
    single = pos.get("data")
    rows: dict[str, list[Any]] = _empty_frame()
    times: list[str] = []
    width = len(header)
    prev_line = 1
    for rec in reader:
        start_line = prev_line + 1
        prev_line = reader.line_num
        if not rec or not any(f.strip() for f in rec):
            _append(rows, start_line, [], "empty_line", None)
            times.append("")
            continue
        if len(rec) < width:
            rec = rec + [""] * (width - len(rec))
        pieces = [rec[i] for i in datacols]
        while pieces and pieces[-1] == "":
            pieces.pop()
        params = "|".join(pieces)
        if not params and single is not None:
            params = rec[single]
        fields = ["", rec[pos["callid"]], rec[pos["queuename"]], rec[pos["agent"]],
                  rec[pos["event"]], *(params.split("|") if params else [])]
        if len(fields) > MAX_FIELDS:
            _append(rows, start_line, [], "too_many_fields", delim.join(rec)[:200])
            times.append("")
            continue
        _append(rows, start_line, fields, None, None)
        times.append(rec[pos["time"]].strip())
    frame = pd.DataFrame({k: pd.array(v, dtype="object") if k != "line" else
                          np.asarray(v, dtype=np.int64) for k, v in rows.items()})
    us = _epoch_us(pd.Series(times, dtype="object"), timezone)
    ok = us.notna()
    blank = frame["pre_code"].isna() & ~ok
    frame.loc[blank, "pre_code"] = "bad_timestamp"
    frame.loc[blank, "pre_value"] = pd.Series(times, dtype="object")[blank]
    frame["c0"] = us.map(lambda v: None if pd.isna(v) else str(int(v))).astype("object")
    return frame


def _append(rows: dict[str, list[Any]], line: int, fields: list[str], code: str | None,
            value: str | None) -> None:
    rows["line"].append(line)
    for j, c in enumerate(FIELDS):
        rows[c].append(fields[j] if j < len(fields) else None)
    rows["pre_code"].append(code)
    rows["pre_value"].append(value)


def _epoch_us(times: pd.Series, timezone: str) -> pd.Series:
    """Epoch microseconds of each time string; NA where it does not parse."""
    out = pd.Series(pd.NA, index=times.index, dtype="Int64")
    text = times.fillna("").astype(str).str.strip()
    digits = text.str.fullmatch(r"\d{1,12}(\.\d+)?")
    if digits.any():
        out[digits] = (pd.to_numeric(text[digits]) * 1_000_000).round().astype("int64")
    offset = text.str.contains(r"(?:Z|[+-]\d{2}(?::?\d{2})?)$", regex=True) & ~digits
    naive = ~digits & ~offset & (text != "")
    parsed = []
    if offset.any():
        parsed.append(pd.to_datetime(text[offset], errors="coerce", utc=True,
                                     format="ISO8601"))
    if naive.any():
        local = pd.to_datetime(text[naive], errors="coerce", format="ISO8601")
        if isinstance(local.dtype, pd.DatetimeTZDtype):  # pragma: no cover - defensive
            local = local.dt.tz_convert("UTC")
        else:
            local = local.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
        parsed.append(local.dt.tz_convert("UTC"))
    for part in parsed:
        good = part.notna()
        if good.any():
            ns = part[good].astype("datetime64[ns, UTC]").astype("int64")
            out[good[good].index] = (ns // 1000).astype("int64")
    return out
