"""Check and type the split lines in SQL: one code path for every reader.

From ``_ast_lines`` (see :mod:`contactkpi.sources.asterisk.lines`) - or, on the fast path,
straight from DuckDB's CSV reader of the file (:func:`check_file`: one pass, lines numbered
by the reader's row order) - this builds

- the rejects: one row per bad line with its line number, reason code and sentence;
- ``_ast_ev``: the good events, one row per line, with the time as a UTC ``TIMESTAMP``, the
  parameters re-joined as ``data`` (trailing empty ones dropped) and the parameters the
  contacts and agent states need already typed:

  ``n_wait`` seconds waited (CONNECT/COMPLETE*/TRANSFER* holdtime, ABANDON/EXIT* waittime),
  ``n_talk`` seconds talked (COMPLETE*/TRANSFER* calltime), ``n_ring`` ring time (CONNECT:
  seconds; RINGNOANSWER/RINGCANCELED: milliseconds), ``n_pos`` position when leaving,
  ``n_opos`` original (entry) position, ``txt`` caller id (ENTERQUEUE), pause reason
  (PAUSE*/UNPAUSE*), ``PAUSED`` flag (ADDMEMBER), key (EXITWITHKEY) or logoff reason.

Where each of them is, per event, is data (:data:`TYPED`), as are the parameters that must be
numbers (``EventSpec.numeric``), so every line costs the same few casts whatever its event.

Reason codes (the sentence in the reject says what is wrong and what was expected):

``truncated_line``  the file ends in the middle of a line (batch mode; ``--follow`` waits)
``bad_encoding``    the line is not UTF-8
``empty_line``      a blank line
``too_many_fields`` more than 24 ``|`` fields
``bad_timestamp``   field 1 is not a UNIX time (file) / the time does not parse (export)
``missing_event``   no event name in field 5
``unknown_event``   an event this reader does not know (custom ``QueueLog()`` events)
``missing_callid``  a call event whose callid is empty or ``NONE``
``missing_agent``   a member event whose agent is empty or ``NONE``
``bad_number``      a parameter that must be a whole number is not (the field is named)
``late_event``      a line of a call that finished long before (see ``state``)

Each event also gets ``h``, its key within its second (:func:`event_key`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from contactkpi.model.validate import empty_rejects
from contactkpi.model.validate_sql import drop_relation, printable_edges, sql_literal
from contactkpi.sources.asterisk.events import EVENT_ENUM, EVENTS, KIND_ENUM, MAX_FIELDS, RANK
from contactkpi.sources.asterisk.lines import LINES_TABLE

#: Latest accepted UNIX time (2100-01-01); Asterisk writes ``time(NULL)``.
MAX_EPOCH_S = 4_102_444_800
#: Largest magnitude of a numeric parameter (seconds, ms or a position): keeps the date
#: arithmetic of the derivation in range whatever a corrupted line says.
MAX_NUMBER = 1_000_000_000
#: Parameters looked at (the typed ones are all among the first six).
_TYPED_PARAMS = 6

#: Where the typed columns are, per event: column -> 1-based parameter.
TYPED: dict[str, dict[str, int]] = {
    "ENTERQUEUE": {"n_opos": 3, "txt": 2},
    "CONNECT": {"n_wait": 1, "n_ring": 3},
    "COMPLETEAGENT": {"n_wait": 1, "n_talk": 2, "n_opos": 3},
    "COMPLETECALLER": {"n_wait": 1, "n_talk": 2, "n_opos": 3},
    "TRANSFER": {"n_wait": 3, "n_talk": 4, "n_opos": 5},
    "BLINDTRANSFER": {"n_wait": 3, "n_talk": 4, "n_opos": 5},
    "ATTENDEDTRANSFER": {"n_wait": 3, "n_talk": 4, "n_opos": 5},  # LINK: one further
    "ABANDON": {"n_pos": 1, "n_opos": 2, "n_wait": 3},
    "EXITEMPTY": {"n_pos": 1, "n_opos": 2, "n_wait": 3},
    "EXITWITHTIMEOUT": {"n_pos": 1, "n_opos": 2, "n_wait": 3},
    "EXITWITHKEY": {"txt": 1, "n_pos": 2, "n_opos": 3, "n_wait": 4},
    "RINGNOANSWER": {"n_ring": 1},
    "RINGCANCELED": {"n_ring": 1},
    "PAUSE": {"txt": 1}, "UNPAUSE": {"txt": 1}, "PAUSEALL": {"txt": 1},
    "UNPAUSEALL": {"txt": 1}, "ADDMEMBER": {"txt": 1},
    "AGENTCALLBACKLOGOFF": {"txt": 3},
}
_TYPED_COLS = ("n_wait", "n_talk", "n_ring", "n_pos", "n_opos", "txt")

REASONS = {
    "truncated_line": "the line is cut off at the end of the file (still being written?)",
    "bad_encoding": "the line is not valid UTF-8",
    "empty_line": "the line is blank",
    "too_many_fields": "the line has more than 24 '|' fields",
    "bad_timestamp": "field 1 must be the UNIX time of the event (seconds since 1970)",
    "missing_event": "field 5 must name the event (ENTERQUEUE, CONNECT, ...)",
    "unknown_event": "not a queue_log event this reader knows (see the Asterisk source "
                     "documentation for the list)",
    "missing_callid": "a call event needs the caller's uniqueid in field 2",
    "missing_agent": "a member event needs the member or agent in field 4",
    "bad_number": "this parameter must be a whole number (at most 10^9)",
    "late_event": "a line of a call that ended more than a day before the newest loaded "
                  "event, whose events are no longer kept: if it was not loaded before, it "
                  "came too late to change the call (load files in time order, or this one "
                  "into a new tenant)",
}


def _spec_frame() -> pd.DataFrame:
    """One row per event, in the order of :data:`EVENT_ENUM`: kind, rank, numeric masks,
    parameter names, typed positions.

    ATTENDEDTRANSFER via LINK names two channels where the others name one: its ``l*``
    columns are the same shifted one parameter to the right.
    """
    rows = []
    for name in sorted(EVENTS):  # EVENT_ENUM's order: an event's ENUM code is its index
        spec = EVENTS[name]
        shift = 1 if name == "ATTENDEDTRANSFER" else 0
        names = list(spec.params) + [""] * (_TYPED_PARAMS - len(spec.params))
        lnames = (["method", "channel", "channel", *spec.params[2:]] if shift else names)
        lnames = (lnames + [""] * _TYPED_PARAMS)[:_TYPED_PARAMS]
        row = {"event": name, "kind": spec.kind, "rank": RANK.get(name, 4),
               "mask": sum(1 << (i - 1) for i in spec.numeric),
               "lmask": sum(1 << (i - 1 + shift) for i in spec.numeric),
               "names": names[:_TYPED_PARAMS], "lnames": lnames}
        for col in _TYPED_COLS:
            pos = TYPED.get(name, {}).get(col, 0)
            row[f"{col}_at"] = pos
            row[f"{col}_lat"] = pos + shift if pos else 0
        rows.append(row)
    return pd.DataFrame(rows)


_SPEC = _spec_frame()


def _literal(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return sql_literal(value) if isinstance(value, str) else str(int(value))


def _spec(column: str, event: str, sql_type: str) -> str:
    """SQL: ``column`` of :func:`_spec_frame` for the ENUM ``event`` (NULL when NULL): a
    look-up in a constant list by the ENUM's code, so no join reorders the rows."""
    values = ", ".join(_literal(v) for v in _SPEC[column].tolist())
    return f"CAST([{values}] AS {sql_type}[])[enum_code({event}) + 1]"


def _pick(position: str, prefix: str) -> str:
    whens = " ".join(f"WHEN {i} THEN {prefix}{i}" for i in range(1, _TYPED_PARAMS + 1))
    return f"CASE {position} {whens} END"


#: The event name as written (upper case, no spaces around it) costs one look-up; any
#: other spelling is upper-cased and trimmed (NULL: not an event this reader knows).
_EVENT = (f"coalesce(TRY_CAST(c4 AS {EVENT_ENUM}), "
          f"TRY_CAST(upper(trim(coalesce(c4, ''))) AS {EVENT_ENUM}))")


def _none(col: str) -> str:
    """``col`` is empty or ``NONE`` once trimmed; only a short value or one with a space
    (or any non-ASCII character) at an end can be, so the others skip the trim."""
    return (f"((strlen({col}) <= 4 OR NOT {printable_edges(col)}) "
            f"AND upper(trim({col})) IN ('', 'NONE'))")


def _params(field: Callable[[int], str]) -> str:
    """``p1..p6`` (text, NULL when empty or missing) and ``i1..i6`` (whole numbers) of the
    parameters; ``field(i)`` is the SQL of the i-th (1-based)."""
    text = ", ".join(f"nullif({field(i)}, '') AS p{i}" for i in range(1, _TYPED_PARAMS + 1))
    ints = ", ".join(f"TRY_CAST(nullif({field(i)}, '') AS BIGINT) AS i{i}"
                     for i in range(1, _TYPED_PARAMS + 1))
    return f"{text}, {ints}"


def _positions(event: str, link: str) -> str:
    """SQL: where each typed column is for this line (``link``: ATTENDEDTRANSFER via LINK)."""
    return ", ".join(f"CASE WHEN {link} THEN {_spec(f'{c}_lat', event, 'UTINYINT')} "
                     f"ELSE {_spec(f'{c}_at', event, 'UTINYINT')} END AS {c}_at"
                     for c in _TYPED_COLS)


#: The typed columns, picked from ``p*``/``i*`` at those positions.
_TYPED_SELECT = ", ".join(f"{_pick(f'{c}_at', 'p' if c == 'txt' else 'i')} AS {c}"
                          for c in _TYPED_COLS)


def typed_from_data(relation: str) -> str:
    """SQL: the events of ``relation`` (``ts, callid, queue, agent, event, data, kind,
    rank``) with the typed columns parsed again from ``data``, the way :func:`check_lines`
    parses a line's fields (stored events keep only ``data``)."""
    return f"""
        SELECT ts, callid, queue, agent, event, data, kind, rank, {_TYPED_SELECT}
        FROM (SELECT x.*, {_positions("x.ev", "x.link")}
              FROM (SELECT *, event = 'ATTENDEDTRANSFER' AND upper(parts[1]) = 'LINK' AS link,
                      TRY_CAST(event AS {EVENT_ENUM}) AS ev,
                      {_params(lambda i: f"parts[{i}]")}
                    FROM (SELECT *, string_split(data, '|') AS parts FROM {relation})) x)"""


def event_key(alias: str = "") -> str:
    """SQL: the key of an event within its second, ``h``: DuckDB's 64-bit ``hash`` of its
    queue_log line without the time (``callid, queue, agent, event, data``).

    Two events are the same when their time and line are; two different lines of one
    second sharing 64 bits of hash is beyond any real log. DuckDB may change ``hash``
    between versions (MD5 would not, at five times the cost): keys written by another
    version then match nothing, which can never count an event twice - an open call's
    events are also compared whole, and a line of a closed call that matches no key is a
    ``late_event`` reject. ``alias`` qualifies the columns."""
    a = f"{alias}." if alias else ""
    return f"hash({a}callid, {a}queue, {a}agent, CAST({a}event AS VARCHAR), {a}data)"


def _bad(i: int) -> str:
    return f"(p{i} IS NOT NULL AND coalesce(abs(i{i}) > {MAX_NUMBER}, true))"


def _checked(relation: str, fields: int, ts_scale: int) -> str:
    """SQL: every line of ``relation`` (``line, c0.., pre_code, pre_value``) with its fields
    named and typed, its event's spec and ``code``, the reason it is rejected (NULL: good).
    No join: the rows keep the order of ``relation`` (the fast path numbers them by it)."""
    params = ", ".join(f"c{i}" for i in range(5, fields))
    bad_any = " OR ".join(f"(m & {1 << (i - 1)} <> 0 AND {_bad(i)})"
                          for i in range(1, _TYPED_PARAMS + 1))
    max_ts = MAX_EPOCH_S * 1_000_000 // ts_scale
    return f"""
        SELECT *,
          CASE WHEN pre_code IS NOT NULL THEN pre_code
               WHEN ts_num IS NULL OR ts_num <= 0 OR ts_num >= {max_ts} THEN 'bad_timestamp'
               WHEN event_e IS NULL AND trim(coalesce(c4, '')) = '' THEN 'missing_event'
               WHEN event_e IS NULL THEN 'unknown_event'
               WHEN kind = 'call' AND {_none('callid')} THEN 'missing_callid'
               WHEN kind = 'member' AND {_none('agent')} THEN 'missing_agent'
               WHEN {bad_any} THEN 'bad_number'
          END AS code
        FROM (
          SELECT x.*, {_spec("kind", "event_e", KIND_ENUM)} AS kind,
            {_spec("rank", "event_e", "UTINYINT")} AS rank,
            coalesce(x.link, false) AS is_link,
            CASE WHEN x.link THEN {_spec("lmask", "event_e", "INTEGER")}
                 ELSE {_spec("mask", "event_e", "INTEGER")} END AS m,
            {_positions("event_e", "x.link")}
          FROM (
            SELECT line, pre_code, pre_value, c0, c4,
              TRY_CAST(c0 AS BIGINT) AS ts_num,
              coalesce(c1, '') AS callid, coalesce(c2, '') AS queue,
              coalesce(c3, '') AS agent, event_e,
              CASE WHEN ends_with(data, '|') THEN rtrim(data, '|') ELSE data END AS data,
              event_e = 'ATTENDEDTRANSFER' AND upper(c5) = 'LINK' AS link,
              {_params(lambda i: f"c{4 + i}")}
            FROM (SELECT *, {_EVENT} AS event_e, concat_ws('|', {params}) AS data
                  FROM {relation})) x)"""


def _events(ts_scale: int, callid_prefix: str) -> str:
    """SQL: the ``_ast_ev`` columns (but ``line``) of a line of :func:`_checked` (the time
    only for a good line: a bad one's may be out of range)."""
    prefix = callid_prefix.replace("'", "''")
    return f"""SELECT *, {event_key()} AS h FROM (
          SELECT make_timestamp(CASE WHEN code IS NULL THEN ts_num * {int(ts_scale)} END) AS ts,
            CASE WHEN kind IN ('call', 'info') AND '{prefix}' <> ''
                 THEN '{prefix}' || callid ELSE callid END AS callid,
            queue, agent, event_e AS event, kind, rank, data, {_TYPED_SELECT}"""


def _reject_columns() -> str:
    """SQL: ``field`` and ``value`` of a line of :func:`_checked` (NULL on a good one)."""
    bad_at = "CASE " + " ".join(f"WHEN m & {1 << (i - 1)} <> 0 AND {_bad(i)} THEN {i}"
                                for i in range(1, _TYPED_PARAMS + 1)) + " END"
    names = (f"CASE WHEN is_link THEN {_spec('lnames', 'event_e', 'VARCHAR[]')} "
             f"ELSE {_spec('names', 'event_e', 'VARCHAR[]')} END")
    return f"""
          CASE code WHEN 'bad_timestamp' THEN 'time' WHEN 'missing_event' THEN 'event'
                    WHEN 'unknown_event' THEN 'event' WHEN 'missing_callid' THEN 'callid'
                    WHEN 'missing_agent' THEN 'agent'
                    WHEN 'bad_number' THEN ({names})[{bad_at}]
          END AS field,
          CASE WHEN pre_code IS NOT NULL THEN pre_value
               WHEN code = 'bad_timestamp' THEN c0
               WHEN code IN ('missing_event', 'unknown_event') THEN c4
               WHEN code = 'missing_callid' THEN callid
               WHEN code = 'missing_agent' THEN agent
               WHEN code = 'bad_number' THEN {_pick(bad_at, "p")} END AS value"""


def check_lines(db: Any, ts_scale: int, callid_prefix: str = "",
                last_line: int | None = None, fields: int = MAX_FIELDS) -> pd.DataFrame:
    """Split ``_ast_lines`` into ``_ast_ev`` (good events) and the returned rejects.

    Args:
        db: a DuckDB connection holding ``_ast_lines``.
        ts_scale: microseconds per unit of ``c0`` (1_000_000 for the file's UNIX seconds,
            1 for the epoch microseconds of a table export).
        callid_prefix: prepended to call ids (several Asterisk servers in one tenant).
        last_line: lines after this one are ignored (a truncated last line; the caller
            reports it).
        fields: how many ``c*`` columns ``_ast_lines`` has.

    Returns:
        The rejects (read only when some line of ``_ast_lines`` did not become an event).
    """
    db.execute(f"CREATE OR REPLACE TEMP VIEW _ast_chk AS "
               f"{_checked(LINES_TABLE, fields, ts_scale)}")
    keep = "" if last_line is None else f" AND line <= {int(last_line)}"
    (rows,) = db.execute(f"SELECT count(*) FROM {LINES_TABLE}").fetchone()
    db.execute(f"""
        CREATE OR REPLACE TEMP TABLE _ast_ev AS
        {_events(ts_scale, callid_prefix)}, line FROM _ast_chk WHERE code IS NULL{keep})""")
    (good,) = db.execute("SELECT count(*) FROM _ast_ev").fetchone()
    considered = rows if last_line is None else min(rows, last_line)
    rejects = pd.DataFrame() if good == considered else db.execute(f"""
        SELECT line, code, {_reject_columns()}
        FROM _ast_chk WHERE code IS NOT NULL{keep} ORDER BY line""").df()
    db.execute("DROP VIEW IF EXISTS _ast_chk")
    return as_rejects(rejects)


def check_file(db: Any, relation: str, lines: int, ts_scale: int, callid_prefix: str = "",
               last_line: int | None = None,
               fields: int = MAX_FIELDS) -> pd.DataFrame | None:
    """The fast path of :func:`check_lines`: read, check and type the rows of ``relation``
    (DuckDB's CSV reader of the file: ``c0..``) in one pass into ``_ast_ev``; return the
    rejects, or None (nothing made) when it did not give ``lines`` rows - the caller then
    splits the file with the exact reader.

    Every row is kept, good or bad, so that DuckDB's ``rowid`` - the reader's order, which
    ``CREATE TABLE AS`` keeps for a query without joins or grouping - numbers the lines; the
    bad ones are read out as rejects and deleted (deleting keeps the others' ``rowid``).
    ``_ast_ev`` is then a view numbering the rest.
    """
    source = (f"(SELECT CAST(NULL AS BIGINT) AS line, *, CAST(NULL AS VARCHAR) AS pre_code, "
              f"CAST(NULL AS VARCHAR) AS pre_value FROM {relation})")
    db.execute(f"""
        CREATE OR REPLACE TEMP TABLE _ast_ev0 AS
        {_events(ts_scale, callid_prefix)}, code, {_reject_columns()}
        FROM ({_checked(source, fields, ts_scale)}))""")
    # rows appended inside a transaction are numbered from 2**62 (DuckDB's local storage),
    # in insertion order: the line is the distance from the first
    rows, first, bad = db.execute("SELECT count(*), min(rowid), count(code) "
                                  "FROM _ast_ev0").fetchone()
    if rows != lines:
        db.execute("DROP TABLE _ast_ev0")
        return None
    line = f"(rowid - {int(first or 0) - 1})"
    after = "false" if last_line is None else f"{line} > {int(last_line)}"
    rejects = pd.DataFrame() if not bad else db.execute(f"""
        SELECT {line} AS line, code, field, value FROM _ast_ev0
        WHERE code IS NOT NULL AND NOT {after} ORDER BY line""").df()
    if bad or last_line is not None:
        db.execute(f"DELETE FROM _ast_ev0 WHERE code IS NOT NULL OR {after}")
    db.execute(f"CREATE OR REPLACE TEMP VIEW _ast_ev AS SELECT {line} AS line, "
               "* EXCLUDE (code, field, value) FROM _ast_ev0")
    return as_rejects(rejects)


def drop_events(db: Any) -> None:
    """Drop ``_ast_ev`` (a table, or a view over ``_ast_ev0`` after :func:`check_file`)."""
    drop_relation(db, "_ast_ev")
    db.execute("DROP TABLE IF EXISTS _ast_ev0")


def as_rejects(found: pd.DataFrame) -> pd.DataFrame:
    """Rejects from ``line, code, field, value`` rows (the sentence is the code's)."""
    if found.empty:
        return empty_rejects()
    reason = found["code"].map(REASONS)
    return pd.DataFrame({
        "line": found["line"].astype("int64").to_numpy(),
        "table_name": None,
        "field": found["field"].astype("object").where(found["field"].notna(), None),
        "value": found["value"].astype("object").where(found["value"].notna(), None)
        .map(lambda v: None if v is None else str(v)[:200]),
        "reason_code": found["code"].astype("object"),
        "reason": reason.astype("object"),
    })


def truncated_reject(line: int, tail: bytes) -> pd.DataFrame:
    """The reject of a last line without its newline (batch mode)."""
    return pd.DataFrame({
        "line": [line], "table_name": [None], "field": [None],
        "value": [tail.decode("utf-8", "replace")[:200]],
        "reason_code": ["truncated_line"], "reason": [REASONS["truncated_line"]],
    })
