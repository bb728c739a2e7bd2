"""What the Asterisk source keeps in the warehouse between loads (its bookkeeping tables).

All of it is written inside the load's transaction (the loader hands the connection to the
source's ``derive`` step), so a load that fails leaves no trace here either. It is *read*
just before (``Batch.prepare``: DuckDB is about twice as fast outside a transaction); the
loader prepares again inside the transaction if another load committed in between.

``asterisk_event_keys``
    Every good queue_log event ever loaded other than member events, once, as its time and
    the key of its line (``tenant_id, ts, h``: :func:`check.event_key`): a repeated line, a
    re-loaded file or an overlapping export adds nothing, because its events' keys are
    already here. ``asterisk_tenants`` numbers the tenants and keeps each one's newest
    event time (``newest``).

``asterisk_events``
    The events (``ts, callid, queue, agent, event, data, kind, rank``; the typed parameters
    are parsed again from ``data`` when they are read) of every call that is still *open*:
    a call is open until every visit of it has its terminal event, its first visit has its
    ENTERQUEUE, and its last event is more than :data:`KEEP_FINISHED_S` (a day) older than
    the tenant's newest event. The load that brings a new event of an open call derives it
    again from all its events, which is what makes a call that spans two files or two days,
    or lines out of order, come out the same as one file in order; a call whose end has not
    arrived yet is *pending* (:func:`derive.pending_calls`). A finished call's events are
    dropped a day later (its contacts and agent states are derived and stored; its keys
    stay): a *new* line of such a call (a late line by more than a day, or an older file
    loaded after newer ones that shares a call with them - a call missing its ENTERQUEUE
    stays open for that) is rejected as ``late_event`` rather than changing a contact it
    cannot derive again. DID/INFO lines change no contact and are simply keyed.
    Tables of earlier versions (every event kept; before that, the tenant's name and the
    typed parameters in columns) are read as they are and moved by the next load.

``asterisk_member_events``
    Every member event (ADDMEMBER, PAUSE, AGENTLOGIN, ...), whole and for good: an agent's
    intervals are derived from all of its member events, however old. A repeated one is
    found by comparing it whole (they are few; they have no keys).

``asterisk_agent_intervals``
    The keys of the ``logged_in``/``paused`` intervals this source wrote to ``agent_states``
    (``tenant, agent_id, state, started_at``). When a late line moves the start of an
    interval, the interval written before is deleted, so nothing is counted twice.

``asterisk_follow``
    Where ``--follow`` stopped in a file (``path, inode, offset, line``), updated in the
    same transaction as each load, so a restart resumes exactly after the last loaded line.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd

from contactkpi.model.validate import empty_rejects
from contactkpi.model.validate_sql import drop_relation, sql_literal
from contactkpi.sources.asterisk.check import as_rejects, event_key, typed_from_data
from contactkpi.sources.asterisk.events import EVENT_ENUM, KIND_ENUM, TERMINAL

EVENTS_TABLE = "asterisk_events"
KEYS_TABLE = "asterisk_event_keys"
MEMBER_EVENTS_TABLE = "asterisk_member_events"
TENANTS_TABLE = "asterisk_tenants"
INTERVALS_TABLE = "asterisk_agent_intervals"
FOLLOW_TABLE = "asterisk_follow"

#: A finished call's events are kept until the tenant's newest event is this much later
#: (seconds); a new line of the call after that is a ``late_event`` reject.
KEEP_FINISHED_S = 86_400
#: Events stamped further ahead of the clock than this do not move the tenant's newest
#: event time (a corrupted time must not end every open call at once).
_CLOCK_SLACK = "INTERVAL 1 DAY"

#: Event names and kinds are closed sets (a line with another event is rejected): stored as
#: ENUMs. Tables made by an earlier version with VARCHAR columns keep working (values are
#: cast on insert).
#: The tenant is a number (writing a text column of 10 M equal values costs more than a
#: second); the typed parameters are parsed again from ``data`` when a stored event is read.
_EVENT_COLUMNS = f"""(
        tenant_id INTEGER NOT NULL, ts TIMESTAMP NOT NULL, callid VARCHAR NOT NULL,
        queue VARCHAR NOT NULL, agent VARCHAR NOT NULL, event {EVENT_ENUM} NOT NULL,
        data VARCHAR NOT NULL, kind {KIND_ENUM} NOT NULL, rank UTINYINT NOT NULL)"""

_DDL = (
    f"CREATE TABLE IF NOT EXISTS {TENANTS_TABLE} (tenant VARCHAR NOT NULL, "
    "tenant_id INTEGER NOT NULL, newest TIMESTAMP)",
    f"CREATE TABLE IF NOT EXISTS {KEYS_TABLE} (tenant_id INTEGER NOT NULL, "
    "ts TIMESTAMP NOT NULL, h UBIGINT NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {EVENTS_TABLE} {_EVENT_COLUMNS}",
    f"CREATE TABLE IF NOT EXISTS {MEMBER_EVENTS_TABLE} {_EVENT_COLUMNS}",
    f"""CREATE TABLE IF NOT EXISTS {INTERVALS_TABLE} (
        tenant VARCHAR NOT NULL, agent_id VARCHAR NOT NULL, state VARCHAR NOT NULL,
        started_at TIMESTAMP NOT NULL)""",
    f"""CREATE TABLE IF NOT EXISTS {FOLLOW_TABLE} (
        tenant VARCHAR NOT NULL, path VARCHAR NOT NULL, inode BIGINT NOT NULL,
        "offset" BIGINT NOT NULL, line BIGINT NOT NULL, updated_at TIMESTAMP NOT NULL)""",
)

_IDENTITY = ("ts", "callid", "queue", "agent", "event", "data")
_STORED = (*_IDENTITY, "kind", "rank")
_DERIVED = ("kind", "rank", "n_wait", "n_talk", "n_ring", "n_pos", "n_opos", "txt")
_COLUMNS = (*_IDENTITY, *_DERIVED)


def ensure_state_tables(db: Any) -> None:
    """Make the bookkeeping tables (inside the load's transaction) and move what an earlier
    version stored: events with a ``tenant`` text column and the typed parameters are
    moved to this layout; where every event was kept, their keys are written and the
    events other than call events dropped (the call events of finished calls go with the
    load's closing of finished calls, see :func:`plan_new_events`)."""
    for table in (EVENTS_TABLE, MEMBER_EVENTS_TABLE):
        if _has_column(db, table, "tenant"):
            db.execute(f"ALTER TABLE {table} RENAME TO {table}_v1")
    every_event = not table_exists(db, KEYS_TABLE) and (
        table_exists(db, EVENTS_TABLE) or table_exists(db, f"{EVENTS_TABLE}_v1"))
    if table_exists(db, TENANTS_TABLE) and not _has_column(db, TENANTS_TABLE, "newest"):
        db.execute(f"ALTER TABLE {TENANTS_TABLE} ADD COLUMN newest TIMESTAMP")
    for ddl in _DDL:
        db.execute(ddl)
    for table in (EVENTS_TABLE, MEMBER_EVENTS_TABLE):
        if table_exists(db, f"{table}_v1"):
            for (name,) in db.execute(f"SELECT DISTINCT tenant FROM {table}_v1").fetchall():
                tenant_id(db, name, create=True)
            db.execute(f"""
                INSERT INTO {table} SELECT t.tenant_id, {", ".join(f"v.{c}" for c in _STORED)}
                FROM {table}_v1 v JOIN {TENANTS_TABLE} t USING (tenant)""")
            db.execute(f"DROP TABLE {table}_v1")
    if every_event:
        db.execute(f"INSERT INTO {KEYS_TABLE} SELECT tenant_id, ts, {event_key()} "
                   f"FROM {EVENTS_TABLE}")
        db.execute(f"DELETE FROM {EVENTS_TABLE} WHERE kind <> 'call'")
        db.execute(f"""
            UPDATE {TENANTS_TABLE} t SET newest = m.newest
            FROM (SELECT tenant_id, max(ts) AS newest FROM {KEYS_TABLE}
                  WHERE ts <= {_clock()} GROUP BY tenant_id) m
            WHERE t.tenant_id = m.tenant_id""")


#: The warehouse's own tables (not temp tables, not another attached database).
_MAIN = "database_name = current_database() AND schema_name = 'main'"


def _has_column(db: Any, table: str, column: str) -> bool:
    (n,) = db.execute(f"SELECT count(*) FROM duckdb_columns() WHERE {_MAIN} "
                      "AND table_name = ? AND column_name = ?", [table, column]).fetchone()
    return bool(n)


def _clock() -> str:
    """SQL: the latest event time that may move a tenant's newest event time (UTC)."""
    return f"(CAST(timezone('UTC', now()) AS TIMESTAMP) + {_CLOCK_SLACK})"


def table_exists(db: Any, table: str) -> bool:
    (n,) = db.execute(f"SELECT count(*) FROM duckdb_tables() WHERE {_MAIN} "
                      "AND table_name = ?", [table]).fetchone()
    return bool(n)


def tenant_id(db: Any, tenant: str, create: bool = False) -> int | None:
    """The number ``tenant``'s events are stored under (made when ``create``)."""
    if not table_exists(db, TENANTS_TABLE):
        return None
    row = db.execute(f"SELECT tenant_id FROM {TENANTS_TABLE} WHERE tenant = ?",
                     [tenant]).fetchone()
    if row is None and create:
        db.execute(f"INSERT INTO {TENANTS_TABLE} (tenant, tenant_id) "
                   f"SELECT ?, coalesce(max(tenant_id), 0) + 1 FROM {TENANTS_TABLE}", [tenant])
        return tenant_id(db, tenant)
    return None if row is None else int(row[0])


def stored_events(db: Any, table: str, tenant: str) -> str | None:
    """SQL of ``tenant``'s events stored in ``table`` (``ts, callid, queue, agent, event,
    data, kind, rank``), or None when there are none. Reads an earlier version's layout
    too (it is moved by the next load's :func:`ensure_state_tables`)."""
    if not table_exists(db, table):
        return None
    cols = ", ".join(_STORED)
    if _has_column(db, table, "tenant"):
        return f"(SELECT {cols} FROM {table} WHERE tenant = {sql_literal(tenant)})"
    number = tenant_id(db, tenant)
    return None if number is None else (f"(SELECT {cols} FROM {table} "
                                         f"WHERE tenant_id = {number})")


def stored_keys(db: Any, tenant: str) -> str | None:
    """SQL of the ``ts, h`` of ``tenant``'s stored events other than member events, or None
    when there are none (keyed from the stored events where an earlier version kept them
    all and no load has moved them yet)."""
    if table_exists(db, KEYS_TABLE):
        number = tenant_id(db, tenant)
        return None if number is None else (f"(SELECT ts, h FROM {KEYS_TABLE} "
                                             f"WHERE tenant_id = {number})")
    events = stored_events(db, EVENTS_TABLE, tenant)
    return None if events is None else f"(SELECT ts, {event_key()} AS h FROM {events})"


def _stored_newest(db: Any, tenant: str, keys: str | None) -> Any:
    """The tenant's newest event time as the warehouse has it (None before its first
    load)."""
    if table_exists(db, TENANTS_TABLE) and _has_column(db, TENANTS_TABLE, "newest"):
        row = db.execute(f"SELECT newest FROM {TENANTS_TABLE} WHERE tenant = ?",
                         [tenant]).fetchone()
        if row is not None and row[0] is not None:
            return row[0]
    if keys is None:
        return None
    return db.execute(f"SELECT max(ts) FROM {keys} k WHERE ts <= {_clock()}").fetchone()[0]


def _read_stored(db: Any, name: str, stored: str | None, where: str,
                 params: list[Any]) -> None:
    """Temp table ``name``: the stored events matching ``where``, typed as ``_ast_ev``."""
    cols = ", ".join(_COLUMNS)
    if stored is None:
        db.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {cols}, "
                   "CAST(NULL AS BIGINT) AS line FROM _ast_ev WHERE false")
        return
    db.execute(f"""
        CREATE OR REPLACE TEMP TABLE {name} AS SELECT {cols}, CAST(NULL AS BIGINT) AS line
        FROM ({typed_from_data(f"(SELECT * FROM {stored} s WHERE {where})")})""", params)


def plan_new_events(db: Any, tenant: str, call_span_s: int) -> pd.DataFrame:
    """Find the events of ``_ast_ev`` not stored yet for ``tenant`` (``_ast_new``) and the
    stored events of everything they touch; write nothing but temp tables. Returns the
    ``late_event`` rejects (new lines of calls closed long ago; left out of ``_ast_new``).

    An event is new when its key (``ts, h``) is not stored (member events: when no stored
    member event is the same); repeats inside the load are looked for only when a count of
    the keys finds some, and stored keys are compared only over the time span of the load.
    The agents this load touches are listed with the first line of the load that names
    each (``_ast_ta``: the ``_line`` of agent-derived rows), and the stored events of the
    callids with new events (within ``call_span_s`` of the load) and of the agents are read.
    Two views then hold *all* events of those callids and agents once this load is stored:
    ``_ast_calls`` and ``_ast_members``. Member events are kept in their own table (an
    agent's membership may reach back months, so they are read without a time window).
    ``_ast_clock`` holds the tenant's newest event time after this load and the cutoff
    before which finished calls are closed; ``_ast_stale_calls`` lists the stored open calls
    this load does not touch that are finished and older than the cutoff (their events go;
    :func:`derive.derive_calls` decides for the touched ones).

    It only reads the warehouse, so it can run before the load's transaction (see
    ``Batch.prepare``: the loader runs it again inside if another load committed since).
    """
    lo, hi, newest = db.execute(f"SELECT min(ts), max(ts), max(ts) FILTER (WHERE ts <= "
                                f"{_clock()}) FROM _ast_ev").fetchone()
    cols = ", ".join(_COLUMNS)
    ident = ", ".join(_IDENTITY)
    span = timedelta(seconds=call_span_s)
    calls = stored_events(db, EVENTS_TABLE, tenant)
    members = stored_events(db, MEMBER_EVENTS_TABLE, tenant)
    keys = stored_keys(db, tenant)
    newest_sql = "greatest(CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP))"
    db.execute(f"CREATE OR REPLACE TEMP TABLE _ast_clock AS SELECT {newest_sql} AS newest, "
               f"{newest_sql} - INTERVAL {int(KEEP_FINISHED_S)} SECOND AS cutoff",
               [newest, _stored_newest(db, tenant, keys)] * 2)
    db.execute("""
        CREATE OR REPLACE TEMP TABLE _ast_ta AS
        SELECT agent, min(line) AS line FROM _ast_ev WHERE kind = 'member' GROUP BY agent""")
    (repeats,) = db.execute("SELECT count(*) FROM (SELECT 1 FROM _ast_ev GROUP BY ts, h "
                            "HAVING count(*) > 1)").fetchone()
    window = [lo, hi]
    key_span, call_span, member_span = (
        None if rel is None else f"(SELECT * FROM {rel} r WHERE ts BETWEEN ? AND ?)"
        for rel in (keys, calls, members))
    stored_keyed, stored_calls, stored_members = (
        0 if lo is None or rel is None else
        db.execute(f"SELECT count(*) FROM {rel}", window).fetchone()[0]
        for rel in (key_span, call_span, member_span))
    source = (f"(SELECT {ident}, h, {', '.join(f'any_value({c}) AS {c}' for c in _DERIVED)}, "
              f"min(line) AS line FROM _ast_ev GROUP BY {ident}, h)" if repeats else "_ast_ev")
    if not stored_keyed and not stored_calls and not stored_members and not repeats:
        db.execute(f"CREATE OR REPLACE TEMP VIEW _ast_new AS "
                   f"SELECT {cols}, h, line FROM _ast_ev")
    else:
        same = " AND ".join(f"s.{c} = n.{c}" for c in _IDENTITY)
        # an open call's stored events are compared whole too (see check.event_key)
        keyed_new = "".join(
            f" AND NOT EXISTS (SELECT 1 FROM {rel} s WHERE {on})"
            for rel, on, stored in ((key_span, "s.ts = n.ts AND s.h = n.h", stored_keyed),
                                    (call_span, same, stored_calls)) if stored)
        member_new = (f" AND NOT EXISTS (SELECT 1 FROM {member_span} s WHERE {same})"
                      if stored_members else "")
        db.execute(f"""
            CREATE OR REPLACE TEMP TABLE _ast_new AS
            SELECT {cols}, h, line FROM {source} n WHERE kind <> 'member'{keyed_new}
            UNION ALL
            SELECT {cols}, h, line FROM {source} n WHERE kind = 'member'{member_new}""",
                   window * ((stored_keyed > 0) + (stored_calls > 0) + (stored_members > 0)))
    _read_stored(db, "_ast_old", calls,
                 "kind = 'call' AND ts BETWEEN ? AND ? "
                 "AND callid IN (SELECT callid FROM _ast_new WHERE kind = 'call')",
                 [None if lo is None else lo - span, None if hi is None else hi + span])
    _read_stored(db, "_ast_mold", members, "agent IN (SELECT agent FROM _ast_ta)", [])
    late = _late_events(db, tenant, lo, hi, span) if keys is not None else empty_rejects()
    db.execute(f"""
        CREATE OR REPLACE TEMP VIEW _ast_calls AS
        SELECT {cols}, line FROM _ast_old
        UNION ALL SELECT {cols}, line FROM _ast_new WHERE kind = 'call'""")
    db.execute(f"""
        CREATE OR REPLACE TEMP VIEW _ast_members AS
        SELECT {cols}, line FROM _ast_mold
        UNION ALL SELECT {cols}, line FROM _ast_new WHERE kind = 'member'""")
    _stale_calls(db, calls)
    return late


def _late_events(db: Any, tenant: str, lo: Any, hi: Any, span: timedelta) -> pd.DataFrame:
    """Take the new events of closed calls out of ``_ast_new``; return them as rejects.

    A call is closed when none of its events is stored any more but its contact is (its
    first visit's contact id is its callid); contacts are looked for within ``span`` before
    the load's events."""
    if lo is None:
        return empty_rejects()
    window = "tenant = ? AND arrived_at BETWEEN timezone('UTC', ?) AND timezone('UTC', ?)"
    params = [tenant, lo - span, hi]
    (stored,) = db.execute(f"SELECT count(*) FROM contacts WHERE {window}", params).fetchone()
    if not stored:
        return empty_rejects()
    found = db.execute(f"""
        SELECT line, 'late_event' AS code, 'callid' AS field, callid AS value
        FROM _ast_new n
        WHERE kind = 'call' AND callid NOT IN (SELECT callid FROM _ast_old)
          AND callid IN (SELECT contact_id FROM contacts WHERE {window})
        ORDER BY line""", params).df()
    if found.empty:
        return as_rejects(found)
    db.register("_ast_late_df", found[["line"]])
    try:
        db.execute("CREATE OR REPLACE TEMP TABLE _ast_new2 AS SELECT * FROM _ast_new "
                   "WHERE line NOT IN (SELECT line FROM _ast_late_df)")
    finally:
        db.unregister("_ast_late_df")
    drop_relation(db, "_ast_new")
    db.execute("ALTER TABLE _ast_new2 RENAME TO _ast_new")
    return as_rejects(found)


def _stale_calls(db: Any, calls: str | None) -> None:
    """``_ast_stale_calls``: the stored open calls this load does not touch that are now
    closed (finished, entered, and last seen before ``_ast_clock.cutoff``)."""
    if calls is None:
        db.execute("CREATE OR REPLACE TEMP TABLE _ast_stale_calls (callid VARCHAR)")
        return
    old = (f"(SELECT * FROM {calls} e WHERE callid IN (SELECT callid FROM {calls} o "
           "WHERE ts < (SELECT cutoff FROM _ast_clock)) "
           "AND callid NOT IN (SELECT callid FROM _ast_old))")
    db.execute(f"""
        CREATE OR REPLACE TEMP TABLE _ast_stale_calls AS
        SELECT callid FROM ({visits_sql(old)}) GROUP BY callid
        HAVING {closed_sql("ended", "visit = 1 AND entered", "last_at")}""")


#: A caller's events in order: by time, then by :data:`events.RANK` (Asterisk stamps whole
#: seconds, so an ENTERQUEUE and its ABANDON often share one), then by the rest of the
#: event, so the order never depends on the order of lines or files.
EVENT_ORDER = "ts, rank, event, queue, agent, data"
#: SQL: the visit an event of a caller belongs to - the number of its ENTERQUEUEs so far
#: (events before the first one belong to the first visit). The derivation, the closing of
#: calls and :func:`derive.pending_calls` all number visits with it.
VISIT = ("greatest(1, sum(CASE WHEN event = 'ENTERQUEUE' THEN 1 ELSE 0 END) OVER ("
         f"PARTITION BY callid ORDER BY {EVENT_ORDER} ROWS UNBOUNDED PRECEDING))")


def sql_in(names: tuple[str, ...]) -> str:
    """SQL list of names: ``('A', 'B')``."""
    return "(" + ", ".join(f"'{n}'" for n in names) + ")"


def visits_sql(events: str) -> str:
    """SQL: each visit of the calls in ``events`` (stored events): ``callid, visit,
    entered`` (has its ENTERQUEUE), ``ended`` (has its terminal event), ``first_at``,
    ``last_at``. Visits are numbered by :data:`VISIT`, as :func:`derive.derive_calls` does."""
    return f"""
        SELECT callid, visit, bool_or(event = 'ENTERQUEUE') AS entered,
          bool_or(event IN {sql_in(TERMINAL)}) AS ended, min(ts) AS first_at, max(ts) AS last_at
        FROM (
          SELECT callid, ts, event, {VISIT} AS visit
          FROM {events} e WHERE kind = 'call')
        GROUP BY callid, visit"""


def closed_sql(ended: str, entered: str, last_at: str, over_visits: bool = True) -> str:
    """SQL: the call is closed - every visit ``ended``, the first one ``entered``, and its
    last event before the cutoff. An aggregate over the call's visits, or (``over_visits``
    false) over its one visit's row."""
    if not over_visits:
        return (f"({ended}) AND ({entered}) "
                f"AND coalesce({last_at} < (SELECT cutoff FROM _ast_clock), false)")
    return (f"bool_and({ended}) AND bool_or({entered}) "
            f"AND coalesce(max({last_at}) < (SELECT cutoff FROM _ast_clock), false)")


def store_new_events(db: Any, tenant: str) -> int:
    """Store what :func:`plan_new_events` found new (``_ast_new``): the keys of the events
    other than member events, the events of the calls still open (``_ast_open``, from
    :func:`derive.derive_calls`) and the member events; drop the stored events of the calls
    closed now; keep the tenant's newest event time. Return how many events were new.

    Runs inside the load's transaction (it makes the tables on the first load)."""
    ensure_state_tables(db)
    number = tenant_id(db, tenant, create=True)
    cols = ", ".join(_STORED)
    (added,) = db.execute(f"INSERT INTO {KEYS_TABLE} SELECT {number}, ts, h FROM _ast_new "
                          "WHERE kind <> 'member'").fetchone()
    db.execute(f"INSERT INTO {EVENTS_TABLE} (tenant_id, {cols}) SELECT {number}, {cols} "
               "FROM _ast_new WHERE kind = 'call' "
               "AND callid IN (SELECT callid FROM _ast_open)")
    (members,) = db.execute(f"INSERT INTO {MEMBER_EVENTS_TABLE} (tenant_id, {cols}) "
                            f"SELECT {number}, {cols} FROM _ast_new "
                            "WHERE kind = 'member'").fetchone()
    closing = """
        SELECT callid FROM _ast_old WHERE callid NOT IN (SELECT callid FROM _ast_open)
        UNION SELECT callid FROM _ast_stale_calls
          WHERE callid NOT IN (SELECT callid FROM _ast_open)"""
    (closed,) = db.execute(f"SELECT count(*) FROM ({closing})").fetchone()
    if closed:
        db.execute(f"DELETE FROM {EVENTS_TABLE} WHERE tenant_id = {number} "
                   f"AND callid IN ({closing})")
    db.execute(f"UPDATE {TENANTS_TABLE} SET newest = (SELECT newest FROM _ast_clock) "
               f"WHERE tenant_id = {number} AND (SELECT newest FROM _ast_clock) IS NOT NULL")
    return int(added) + int(members)


def drop_scratch(db: Any) -> None:
    """Drop what :func:`plan_new_events` and the derivation made."""
    for view in ("_ast_calls", "_ast_members"):
        db.execute(f"DROP VIEW IF EXISTS {view}")
    drop_relation(db, "_ast_new")
    for table in ("_ast_old", "_ast_mold", "_ast_ta", "_ast_clock", "_ast_stale_calls",
                  "_ast_open"):
        db.execute(f"DROP TABLE IF EXISTS {table}")


def save_follow_position(db: Any, tenant: str, path: str, inode: int, offset: int,
                         line: int) -> None:
    db.execute(f"DELETE FROM {FOLLOW_TABLE} WHERE tenant = ? AND path = ?", [tenant, path])
    db.execute(f"INSERT INTO {FOLLOW_TABLE} VALUES (?, ?, ?, ?, ?, (now() AT TIME ZONE 'UTC'))",
               [tenant, path, inode, offset, line])


def follow_position(db: Any, tenant: str, path: str) -> tuple[int, int, int] | None:
    """``(inode, offset, line)`` where following ``path`` stopped, if it was followed."""
    ensure_state_tables(db)
    row = db.execute(f'SELECT inode, "offset", line FROM {FOLLOW_TABLE} '
                     "WHERE tenant = ? AND path = ?", [tenant, path]).fetchone()
    return None if row is None else (int(row[0]), int(row[1]), int(row[2]))
