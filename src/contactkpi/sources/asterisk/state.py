"""What the Asterisk source keeps in the warehouse between loads (its bookkeeping tables).

All of it is written inside the load's transaction (the loader hands the connection to the
source's ``derive`` step), so a load that fails leaves no trace here either. It is *read*
just before (``Batch.prepare``: DuckDB is about twice as fast outside a transaction); the
loader prepares again inside the transaction if another load committed in between.

``asterisk_events``
    Every good queue_log event ever loaded, once (a repeated line, a re-loaded file or an
    overlapping export adds nothing): ``ts, callid, queue, agent, event, data`` is the
    identity of an event within its tenant (``tenant_id``, numbered in
    ``asterisk_tenants``); ``kind`` and ``rank`` are derived from it, and the typed
    parameters (``n_wait`` ...) are parsed again from ``data`` when it is read. A call whose
    end has not arrived yet is simply a callid whose last visit has no terminal event here:
    it is *pending*, and the load that brings its end derives the contact from all its
    stored events. Re-deriving from the stored events is what makes a call that spans two
    files or two days, or lines out of order, come out the same as one file in order.
    Events stored by an earlier version (the tenant's name and the typed parameters in
    columns) are read as they are and moved to this layout by the next load.

``asterisk_member_events``
    The same for member events (ADDMEMBER, PAUSE, AGENTLOGIN, ...), kept apart because an
    agent's intervals are derived from all of its member events, however old.

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

from contactkpi.model.validate_sql import drop_relation, sql_literal
from contactkpi.sources.asterisk.check import typed_from_data
from contactkpi.sources.asterisk.events import EVENT_ENUM, KIND_ENUM

EVENTS_TABLE = "asterisk_events"
MEMBER_EVENTS_TABLE = "asterisk_member_events"
TENANTS_TABLE = "asterisk_tenants"
INTERVALS_TABLE = "asterisk_agent_intervals"
FOLLOW_TABLE = "asterisk_follow"

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
    "tenant_id INTEGER NOT NULL)",
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
    """Make the bookkeeping tables (inside the load's transaction); move events stored by
    an earlier version (a ``tenant`` text column and the typed parameters) to this layout."""
    for table in (EVENTS_TABLE, MEMBER_EVENTS_TABLE):
        if _has_tenant_text(db, table):
            db.execute(f"ALTER TABLE {table} RENAME TO {table}_v1")
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


#: The warehouse's own tables (not temp tables, not another attached database).
_MAIN = "database_name = current_database() AND schema_name = 'main'"


def _has_tenant_text(db: Any, table: str) -> bool:
    (n,) = db.execute(f"SELECT count(*) FROM duckdb_columns() WHERE {_MAIN} "
                      "AND table_name = ? AND column_name = 'tenant'", [table]).fetchone()
    return bool(n)


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
        db.execute(f"INSERT INTO {TENANTS_TABLE} SELECT ?, coalesce(max(tenant_id), 0) + 1 "
                   f"FROM {TENANTS_TABLE}", [tenant])
        return tenant_id(db, tenant)
    return None if row is None else int(row[0])


def stored_events(db: Any, table: str, tenant: str) -> str | None:
    """SQL of ``tenant``'s events stored in ``table`` (``ts, callid, queue, agent, event,
    data, kind, rank``), or None when there are none. Reads an earlier version's layout
    too (it is moved by the next load's :func:`ensure_state_tables`)."""
    if not table_exists(db, table):
        return None
    cols = ", ".join(_STORED)
    if _has_tenant_text(db, table):
        return f"(SELECT {cols} FROM {table} WHERE tenant = {sql_literal(tenant)})"
    number = tenant_id(db, tenant)
    return None if number is None else (f"(SELECT {cols} FROM {table} "
                                         f"WHERE tenant_id = {number})")


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


def plan_new_events(db: Any, tenant: str, call_span_s: int) -> None:
    """Find the events of ``_ast_ev`` not stored yet for ``tenant`` (``_ast_new``) and the
    stored events of everything they touch; write nothing but temp tables.

    The agents this load touches are listed with the first line of the load that names
    each (``_ast_ta``: the ``_line`` of agent-derived rows), and the events earlier loads
    stored for the load's callids and agents are read (calls within ``call_span_s`` of the
    load's events). Two views then hold *all* events of those callids and agents once this
    load is stored: ``_ast_calls`` and ``_ast_members``. Member events are kept in their own
    table (an agent's membership may reach back months, so they are read without a time
    window). Repeats inside the load are looked for only when a cheap hash count finds some,
    and stored events are compared only over the time span of the new ones.

    It only reads the warehouse, so it can run before the load's transaction (see
    ``Batch.prepare``: the loader runs it again inside if another load committed since).
    """
    lo, hi = db.execute("SELECT min(ts), max(ts) FROM _ast_ev").fetchone()
    cols = ", ".join(_COLUMNS)
    ident = ", ".join(_IDENTITY)
    span = timedelta(seconds=call_span_s)
    calls = stored_events(db, EVENTS_TABLE, tenant)
    members = stored_events(db, MEMBER_EVENTS_TABLE, tenant)
    db.execute("""
        CREATE OR REPLACE TEMP TABLE _ast_ta AS
        SELECT agent, min(line) AS line FROM _ast_ev WHERE kind = 'member' GROUP BY agent""")
    _read_stored(db, "_ast_old", calls,
                 "kind = 'call' AND ts BETWEEN ? AND ? "
                 "AND callid IN (SELECT callid FROM _ast_ev WHERE kind = 'call')",
                 [None if lo is None else lo - span, None if hi is None else hi + span])
    _read_stored(db, "_ast_mold", members, "agent IN (SELECT agent FROM _ast_ta)", [])
    (repeats,) = db.execute(f"SELECT count(*) FROM (SELECT hash({ident}) AS h FROM _ast_ev "
                            "GROUP BY h HAVING count(*) > 1)").fetchone()
    spans = [f"(SELECT * FROM {rel} WHERE ts BETWEEN ? AND ?)"
             for rel in (calls, members) if rel is not None]
    stored = 0 if lo is None else sum(
        db.execute(f"SELECT count(*) FROM {rel}", [lo, hi]).fetchone()[0] for rel in spans)
    source = (f"(SELECT {ident}, {', '.join(f'any_value({c}) AS {c}' for c in _DERIVED)}, "
              f"min(line) AS line FROM _ast_ev GROUP BY {ident})" if repeats else "_ast_ev")
    if not stored and not repeats:
        db.execute(f"CREATE OR REPLACE TEMP VIEW _ast_new AS SELECT {cols}, line FROM _ast_ev")
    else:
        on = " AND ".join(f"s.{c} = n.{c}" for c in _IDENTITY)
        new_only = "" if not stored else " AND ".join(
            f"NOT EXISTS (SELECT 1 FROM {rel} s WHERE {on})" for rel in spans)
        db.execute(f"""
            CREATE OR REPLACE TEMP TABLE _ast_new AS SELECT {cols}, line FROM {source} n
            {"WHERE " + new_only if new_only else ""}""",
                   [lo, hi] * len(spans) if stored else [])
    db.execute(f"""
        CREATE OR REPLACE TEMP VIEW _ast_calls AS
        SELECT {cols}, line FROM _ast_old
        UNION ALL SELECT {cols}, line FROM _ast_new WHERE kind = 'call'""")
    db.execute(f"""
        CREATE OR REPLACE TEMP VIEW _ast_members AS
        SELECT {cols}, line FROM _ast_mold
        UNION ALL SELECT {cols}, line FROM _ast_new WHERE kind = 'member'""")


def store_new_events(db: Any, tenant: str) -> int:
    """Store the events :func:`plan_new_events` found new (``_ast_new``); return how many.

    Runs inside the load's transaction (it makes the tables on the first load)."""
    ensure_state_tables(db)
    number = tenant_id(db, tenant, create=True)
    cols = ", ".join(_STORED)
    added = 0
    for table, kinds in ((EVENTS_TABLE, "kind <> 'member'"),
                         (MEMBER_EVENTS_TABLE, "kind = 'member'")):
        (n,) = db.execute(f"INSERT INTO {table} (tenant_id, {cols}) SELECT {number}, {cols} "
                          f"FROM _ast_new WHERE {kinds}").fetchone()
        added += int(n)
    return added


def drop_scratch(db: Any) -> None:
    """Drop what :func:`plan_new_events` made for the derivation."""
    for view in ("_ast_calls", "_ast_members"):
        db.execute(f"DROP VIEW IF EXISTS {view}")
    drop_relation(db, "_ast_new")
    for table in ("_ast_old", "_ast_mold", "_ast_ta"):
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
