"""What the Asterisk source keeps in the warehouse between loads (its bookkeeping tables).

All of it is written inside the load's transaction (the loader hands the connection to the
source's ``derive`` step), so a load that fails leaves no trace here either.

``asterisk_events``
    Every good queue_log event ever loaded, once (a repeated line, a re-loaded file or an
    overlapping export adds nothing): ``tenant, ts, callid, queue, agent, event, data`` is
    the identity of an event; ``kind`` and the typed parameters
    (``n_wait`` ...) are derived from it. A call whose end has not arrived yet is simply a
    callid whose last visit has no terminal event here: it is *pending*, and the load that
    brings its end derives the contact from all its stored events. Re-deriving from the
    stored events is what makes a call that spans two files or two days, or lines out of
    order, come out the same as one file in order.

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

from contactkpi.model.validate_sql import drop_relation
from contactkpi.sources.asterisk.events import EVENTS

EVENTS_TABLE = "asterisk_events"
MEMBER_EVENTS_TABLE = "asterisk_member_events"
INTERVALS_TABLE = "asterisk_agent_intervals"
FOLLOW_TABLE = "asterisk_follow"

#: Event names and kinds are closed sets (a line with another event is rejected): stored as
#: ENUMs, which cost a third of a VARCHAR to write. Tables made by an earlier version with
#: VARCHAR columns keep working (values are cast on insert).
_EVENT_ENUM = "ENUM(" + ", ".join(f"'{name}'" for name in sorted(EVENTS)) + ")"
_KIND_ENUM = "ENUM(" + ", ".join(f"'{k}'" for k in sorted({e.kind for e in EVENTS.values()})) + ")"
_EVENT_COLUMNS = f"""(
        tenant VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, callid VARCHAR NOT NULL,
        queue VARCHAR NOT NULL, agent VARCHAR NOT NULL, event {_EVENT_ENUM} NOT NULL,
        data VARCHAR NOT NULL, kind {_KIND_ENUM} NOT NULL, rank UTINYINT NOT NULL,
        n_wait BIGINT, n_talk BIGINT, n_ring BIGINT, n_pos BIGINT, n_opos BIGINT,
        txt VARCHAR)"""

_DDL = (
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
_DERIVED = ("kind", "rank", "n_wait", "n_talk", "n_ring", "n_pos", "n_opos", "txt")
_COLUMNS = (*_IDENTITY, *_DERIVED)


def ensure_state_tables(db: Any) -> None:
    for ddl in _DDL:
        db.execute(ddl)


def store_new_events(db: Any, tenant: str, call_span_s: int) -> int:
    """Store the events of ``_ast_ev`` not stored yet for ``tenant``; return how many.

    Before storing, the callids and agents this load touches are listed with the first line
    of the load that names each (``_ast_tc``, ``_ast_ta``: the ``_line`` of derived rows),
    and the events earlier loads stored for them are read (calls within ``call_span_s`` of
    the load's events). Afterwards two views hold *all* stored events of those callids and
    agents: ``_ast_calls`` and ``_ast_members``. Member events are kept in their own table
    (an agent's membership may reach back months, so they are read without a time window).
    Repeats inside the load are looked for only when a cheap hash count finds some, and
    stored events are compared only over the time span of the new ones.
    """
    lo, hi = db.execute("SELECT min(ts), max(ts) FROM _ast_ev").fetchone()
    cols = ", ".join(_COLUMNS)
    ident = ", ".join(_IDENTITY)
    span = timedelta(seconds=call_span_s)
    # the callids and agents this load touches, with the first line naming each
    db.execute("""
        CREATE OR REPLACE TEMP TABLE _ast_tc AS
        SELECT callid, min(line) AS line FROM _ast_ev WHERE kind = 'call' GROUP BY callid""")
    db.execute("""
        CREATE OR REPLACE TEMP TABLE _ast_ta AS
        SELECT agent, min(line) AS line FROM _ast_ev WHERE kind = 'member' GROUP BY agent""")
    db.execute(f"""
        CREATE OR REPLACE TEMP TABLE _ast_old AS
        SELECT {cols}, CAST(NULL AS BIGINT) AS line FROM {EVENTS_TABLE}
        WHERE tenant = ? AND kind = 'call' AND ts BETWEEN ? AND ?
          AND callid IN (SELECT callid FROM _ast_tc)""",
               [tenant, None if lo is None else lo - span, None if hi is None else hi + span])
    db.execute(f"""
        CREATE OR REPLACE TEMP TABLE _ast_mold AS
        SELECT {cols}, CAST(NULL AS BIGINT) AS line FROM {MEMBER_EVENTS_TABLE}
        WHERE tenant = ? AND agent IN (SELECT agent FROM _ast_ta)""", [tenant])
    (repeats,) = db.execute(f"SELECT count(*) FROM (SELECT hash({ident}) AS h FROM _ast_ev "
                            "GROUP BY h HAVING count(*) > 1)").fetchone()
    stored = 0
    if lo is not None:
        for table in (EVENTS_TABLE, MEMBER_EVENTS_TABLE):
            stored += db.execute(f"SELECT count(*) FROM {table} WHERE tenant = ? "
                                 "AND ts BETWEEN ? AND ?", [tenant, lo, hi]).fetchone()[0]
    source = (f"(SELECT {ident}, {', '.join(f'any_value({c}) AS {c}' for c in _DERIVED)}, "
              f"min(line) AS line FROM _ast_ev GROUP BY {ident})" if repeats else "_ast_ev")
    if not stored and not repeats:
        db.execute(f"CREATE OR REPLACE TEMP VIEW _ast_new AS SELECT {cols}, line FROM _ast_ev")
    else:
        on = " AND ".join(f"s.{c} = n.{c}" for c in _IDENTITY)
        new_only = "" if not stored else " AND ".join(
            f"NOT EXISTS (SELECT 1 FROM {table} s WHERE s.tenant = ? AND s.ts BETWEEN ? "
            f"AND ? AND {on})" for table in (EVENTS_TABLE, MEMBER_EVENTS_TABLE))
        db.execute(f"""
            CREATE OR REPLACE TEMP TABLE _ast_new AS SELECT {cols}, line FROM {source} n
            {"WHERE " + new_only if new_only else ""}""",
                   [tenant, lo, hi] * 2 if stored else [])
    added = 0
    for table, kinds in ((EVENTS_TABLE, "kind <> 'member'"),
                         (MEMBER_EVENTS_TABLE, "kind = 'member'")):
        before = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        db.execute(f"INSERT INTO {table} (tenant, {cols}) SELECT ?, {cols} FROM _ast_new "
                   f"WHERE {kinds}", [tenant])
        added += db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] - before
    db.execute(f"""
        CREATE OR REPLACE TEMP VIEW _ast_calls AS
        SELECT {cols}, line FROM _ast_old
        UNION ALL SELECT {cols}, line FROM _ast_new WHERE kind = 'call'""")
    db.execute(f"""
        CREATE OR REPLACE TEMP VIEW _ast_members AS
        SELECT {cols}, line FROM _ast_mold
        UNION ALL SELECT {cols}, line FROM _ast_new WHERE kind = 'member'""")
    return int(added)


def drop_scratch(db: Any) -> None:
    """Drop what :func:`store_new_events` left for the derivation."""
    for view in ("_ast_calls", "_ast_members"):
        db.execute(f"DROP VIEW IF EXISTS {view}")
    drop_relation(db, "_ast_new")
    for table in ("_ast_old", "_ast_mold"):
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
