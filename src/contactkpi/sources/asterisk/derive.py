"""Derive ``contacts`` and ``agent_states`` from the stored events, in SQL (DuckDB).

Only what a load touched is derived again: every callid that has an event in this load
(from *all* of its stored events, earlier loads included) and every agent that has a member
event in it (from all of the agent's stored member events). Rows that did not change come
out identical and the loader counts them as duplicates; that is what makes re-loading a file
change nothing.

A caller's events are ordered by time, then by :data:`events.RANK` (Asterisk stamps whole
seconds, so an ENTERQUEUE and its ABANDON often share one), then by the rest of the event
(its text), so the order never depends on the order of lines or files. Each ENTERQUEUE
starts a *visit*; the first visit is contact ``callid``, the n-th ``callid#n`` with
``parent_contact_id`` the visit before (a caller who times out of one queue and is sent to
another keeps its uniqueid). Events before the first ENTERQUEUE belong to the first visit
(its ENTERQUEUE may arrive in a later load). A visit becomes a contact when its terminal
event (COMPLETE*, *TRANSFER, ABANDON, EXIT*) is stored; until then it is pending and
produces no contact. Within a visit the first CONNECT and the first terminal event count
(two different ones in the same second - only in a damaged log - are taken in no set order).

The derived row's ``_line`` (used by rejects) is the first line of this load that names its
callid (call-derived rows) or its agent (member-derived rows).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from contactkpi.model.validate_sql import sql_literal
from contactkpi.sources.asterisk.events import ANSWERED, TERMINAL, TRANSFERS
from contactkpi.sources.asterisk.state import (
    EVENTS_TABLE,
    INTERVALS_TABLE,
    VISIT,
    closed_sql,
    stored_events,
    table_exists,
    visits_sql,
)
from contactkpi.sources.asterisk.state import sql_in as _in

#: A call's events are read within this many seconds of the load's events (a week: no
#: caller waits or talks that long; it keeps the read of a large event store short).
MAX_CALL_SPAN_S = 7 * 86_400
_ID = "CASE WHEN visit = 1 THEN callid ELSE callid || '#' || visit END"


def _blank(col: str) -> str:
    return f"nullif(nullif({col}, ''), 'NONE')"


#: Temp views of the derived rows, for the loader (``SqlRows``; naive UTC times): the
#: relations below them plus the columns that are the same on every row (the tenant, ...).
#: The contacts are a view too (of the visits: the loader's insert is their one full read);
#: the agent states a table (late lines settle their keys in it).
CONTACTS_OUT = "_ast_out_contacts"
STATES_OUT = "_ast_out_states"
CONTACTS_ROWS = "_ast_rows_contacts"
#: What the contacts view reads, for the loader to drop after it (in this order).
CONTACTS_UNDER = (CONTACTS_ROWS, "_ast_visit2", "_ast_visit")
STATES_ROWS = "_ast_rows_states"


def _visits(events: str, multi: bool) -> str:
    """SQL: one row per visit of ``events`` (``callid, visit, seq, line`` and the event
    columns): the first ENTERQUEUE (``e``), CONNECT (``c``) and terminal event (``t``) as
    one struct aggregate each (not one per field), the transfers, the last event's time, a
    queue named by any event, the first line, the ENTERQUEUE count; ``multi`` is carried."""
    return f"""
        SELECT callid, visit,
          arg_min_null({{'at': ts, 'queue': queue, 'txt': txt, 'opos': n_opos}}, seq)
            FILTER (WHERE event = 'ENTERQUEUE') AS e,
          arg_min_null({{'at': ts, 'agent': agent, 'wait': n_wait, 'ring': n_ring}}, seq)
            FILTER (WHERE event = 'CONNECT') AS c,
          arg_min_null({{'event': event, 'at': ts, 'agent': agent, 'queue': queue,
                         'wait': n_wait, 'talk': n_talk, 'pos': n_pos, 'opos': n_opos}}, seq)
            FILTER (WHERE event IN {_in(TERMINAL)}) AS t,
          count(*) FILTER (WHERE event IN {_in(TRANSFERS)}) AS transfers, max(ts) AS last_at,
          arg_min(queue, seq) FILTER (WHERE queue NOT IN ('', 'NONE')) AS any_queue,
          min(line) AS line, count(*) FILTER (WHERE event = 'ENTERQUEUE') AS enters,
          {str(multi).lower()} AS multi
        FROM {events} GROUP BY callid, visit"""


def derive_calls(db: Any, tenant: str) -> bool:
    """Contacts of the finished visits, and on_contact/ringing intervals, of touched calls.

    Reads ``_ast_calls``: every stored event of the callids this load touched. Makes
    :data:`CONTACTS_ROWS` (a view over the visits), :data:`STATES_ROWS` (a table), the
    views over them, :data:`CONTACTS_OUT` and :data:`STATES_OUT`, and ``_ast_open``.

    Returns whether the contact ids are unique (``SqlRows.keys_unique``): each is made of a
    distinct (callid, visit) - ``callid`` or ``callid#visit`` -, which cannot repeat unless
    some callid itself holds a ``#`` (then the loader looks).
    """
    cols = ("callid, ts, queue, agent, event, n_wait, n_talk, n_ring, n_pos, n_opos, txt, "
            "epoch_us(ts) * 8 + rank AS seq")
    # Most callids enter one queue once: every callid is first aggregated as one visit (which
    # also counts its ENTERQUEUEs); only the others get the running count and are
    # aggregated again per visit. ``line`` is the first line of this load naming the callid
    # (NULL on stored events).
    db.execute(f"CREATE OR REPLACE TEMP TABLE _ast_visit AS "
               f"{_visits(f'(SELECT {cols}, line, 1 AS visit FROM _ast_calls)', False)}")
    db.execute("CREATE OR REPLACE TEMP TABLE _ast_multi AS "
               "SELECT callid FROM _ast_visit WHERE enters > 1")
    db.execute(f"""
        CREATE OR REPLACE TEMP TABLE _ast_vm AS
        SELECT {cols}, min(line) OVER (PARTITION BY callid) AS line, {VISIT} AS visit
        FROM _ast_calls WHERE callid IN (SELECT callid FROM _ast_multi)""")
    (multi,) = db.execute("SELECT count(*) FROM _ast_multi").fetchone()
    if multi:
        db.execute("DELETE FROM _ast_visit WHERE callid IN (SELECT callid FROM _ast_multi)")
        db.execute(f"INSERT INTO _ast_visit {_visits('_ast_vm', True)}")
    # _ast_v: the events with their visit number (a view: single-visit callids are not copied)
    db.execute(f"""
        CREATE OR REPLACE TEMP VIEW _ast_v AS
        SELECT {cols}, line, 1 AS visit FROM _ast_calls
        WHERE callid NOT IN (SELECT callid FROM _ast_multi)
        UNION ALL SELECT * FROM _ast_vm""")
    # the calls that stay open (their events are stored): see state.plan_new_events; a
    # callid of one visit is its one row (no grouping)
    closed = ("t IS NOT NULL", "visit = 1 AND e IS NOT NULL", "last_at")
    db.execute(f"""
        CREATE OR REPLACE TEMP TABLE _ast_open AS
        SELECT callid FROM _ast_visit WHERE NOT multi
          AND NOT ({closed_sql(*closed, over_visits=False)})
        UNION ALL
        SELECT callid FROM _ast_visit WHERE multi
        GROUP BY callid HAVING NOT ({closed_sql(*closed)})""")
    # the fields of each visit's first ENTERQUEUE (e), CONNECT (c) and terminal event (t)
    db.execute(f"""
        CREATE OR REPLACE TEMP VIEW _ast_visit2 AS
        SELECT *,
          CASE WHEN answered THEN coalesce(con_at, term_at - to_seconds(term_talk)) END
            AS answered_at,
          CASE WHEN answered THEN coalesce(con_wait, term_wait) ELSE term_wait END AS w
        FROM (SELECT callid, visit, transfers, any_queue, line,
                e.at AS enter_at, e.queue AS enter_queue, e.txt AS callerid,
                e.opos AS enter_opos, c.at AS con_at, c.agent AS con_agent,
                c.wait AS con_wait, c.ring AS con_ring, t.event AS term_event,
                t.at AS term_at, t.agent AS term_agent, t.queue AS term_queue,
                t.wait AS term_wait, t.talk AS term_talk, t.pos AS term_pos,
                t.opos AS term_opos,
                coalesce(t.event IN {_in(ANSWERED)}, false) AS answered
              FROM _ast_visit v)""")
    db.execute(f"""
        CREATE OR REPLACE TEMP VIEW {CONTACTS_ROWS} AS
        SELECT {_ID} AS contact_id,
          coalesce({_blank('enter_queue')}, {_blank('term_queue')}, any_queue) AS queue,
          nullif(callerid, '') AS customer_id,
          CASE WHEN answered THEN coalesce({_blank('con_agent')}, {_blank('term_agent')})
          END AS agent_id,
          CASE WHEN visit = 2 THEN callid WHEN visit > 2 THEN callid || '#' || (visit - 1)
          END AS parent_contact_id,
          arrived_at, answered_at, term_at AS ended_at,
          CAST(coalesce(w, epoch(coalesce(answered_at, term_at) - arrived_at)) AS DOUBLE)
            AS wait_s,
          CASE WHEN answered THEN CAST(coalesce(term_talk, epoch(term_at - answered_at))
            AS DOUBLE) END AS talk_s,
          CASE WHEN answered THEN CAST(con_ring AS DOUBLE) END AS ring_s,
          CASE term_event WHEN 'ABANDON' THEN 'abandoned' WHEN 'EXITWITHTIMEOUT' THEN 'timeout'
            WHEN 'EXITWITHKEY' THEN 'overflowed' WHEN 'EXITEMPTY' THEN 'overflowed'
            ELSE 'answered' END AS outcome,
          transfers, term_pos AS queue_position, coalesce(enter_opos, term_opos)
            AS entry_position,
          line AS _line
        FROM (SELECT *, coalesce(enter_at, coalesce(answered_at, term_at) - to_seconds(w))
                AS arrived_at FROM _ast_visit2) v
        WHERE term_event IS NOT NULL""")
    db.execute(f"""
        CREATE OR REPLACE TEMP VIEW {CONTACTS_OUT} AS
        SELECT {sql_literal(tenant)} AS tenant, contact_id, 'voice' AS channel,
          'inbound' AS direction, * EXCLUDE (contact_id) FROM {CONTACTS_ROWS}""")
    db.execute(f"""
        CREATE OR REPLACE TEMP TABLE _ast_cs AS
        SELECT con_agent AS agent_id, 'on_contact' AS state,
          CAST(NULL AS VARCHAR) AS reason, coalesce({_blank('enter_queue')},
          {_blank('term_queue')}, any_queue) AS queue, {_ID} AS contact_id,
          con_at AS started_at, term_at AS ended_at, line AS _line
        FROM _ast_visit2 v
        WHERE con_at IS NOT NULL AND {_blank('con_agent')} IS NOT NULL
        UNION ALL
        SELECT agent, 'ringing',
          CASE event WHEN 'RINGNOANSWER' THEN 'no_answer' ELSE 'canceled' END,
          {_blank('r.queue')}, {_ID.replace('visit', 'r.visit').replace('callid', 'r.callid')},
          r.ts - to_milliseconds(coalesce(r.n_ring, 0)), r.ts, v.line
        FROM _ast_v r JOIN _ast_visit2 v USING (callid, visit)
        WHERE r.event IN ('RINGNOANSWER', 'RINGCANCELED') AND {_blank('r.agent')} IS NOT NULL
        """)
    _one_per_key(db, tenant)
    (hashes,) = db.execute("SELECT count(*) FROM _ast_visit "
                           "WHERE contains(callid, '#')").fetchone()
    # the contacts are a view over _ast_visit2 and _ast_visit: the loader reads them once
    # to insert (no copy) and drops them after (CONTACTS_UNDER)
    db.execute("DROP VIEW IF EXISTS _ast_v")
    for name in ("_ast_vm", "_ast_cs", "_ast_multi"):
        db.execute(f"DROP TABLE IF EXISTS {name}")
    return not hashes


def _one_per_key(db: Any, tenant: str) -> None:
    """The call-derived intervals of ``_ast_cs``, one per ``agent_states`` key.

    Two calls can give one agent an interval starting at the same instant (a member that
    cannot be reached gets ``RINGNOANSWER|0`` from every waiting caller in the same second);
    the key keeps one of them: the one with the smallest contact id among those derived now
    and the one stored, so the result never depends on how the lines were split in files.
    """
    lo, hi = db.execute("SELECT coalesce(epoch_us(min(started_at)), 0), "
                        "coalesce(epoch_us(max(started_at)), 0) FROM _ast_cs").fetchone()
    stored_sql = f"""
        SELECT agent_id, state, epoch_us(started_at) AS at, contact_id FROM agent_states
        WHERE tenant = ? AND state IN ('on_contact', 'ringing')
          AND started_at BETWEEN make_timestamptz({int(lo)}) AND make_timestamptz({int(hi)})"""
    (stored,) = db.execute(f"SELECT count(*) FROM ({stored_sql})", [tenant]).fetchone()
    # the few repeated keys keep their row of the smallest contact id; then a stored
    # interval of the same key wins when its contact id is smaller; the rest stay as they are
    db.execute("CREATE OR REPLACE TEMP TABLE _ast_rk AS SELECT agent_id, state, started_at "
               "FROM _ast_cs GROUP BY agent_id, state, started_at HAVING count(*) > 1")
    (repeated,) = db.execute("SELECT count(*) FROM _ast_rk").fetchone()
    if repeated:
        db.execute("""
            DELETE FROM _ast_cs WHERE rowid IN (
              SELECT rowid FROM (
                SELECT c.rowid, row_number() OVER (PARTITION BY c.agent_id, c.state,
                  c.started_at ORDER BY c.contact_id, c.ended_at, c.reason) AS k
                FROM _ast_cs c SEMI JOIN _ast_rk r USING (agent_id, state, started_at))
              WHERE k > 1)""")
    if stored:
        db.execute(f"""
            DELETE FROM _ast_cs n USING ({stored_sql}) a
            WHERE a.agent_id = n.agent_id AND a.state = n.state
              AND a.at = epoch_us(n.started_at) AND a.contact_id < n.contact_id""", [tenant])
    db.execute("DROP TABLE _ast_rk")
    db.execute(f"DROP TABLE IF EXISTS {STATES_ROWS}")
    db.execute(f"ALTER TABLE _ast_cs RENAME TO {STATES_ROWS}")
    _states_out(db, tenant)


def _states_out(db: Any, tenant: str) -> None:
    db.execute(f"""
        CREATE OR REPLACE TEMP VIEW {STATES_OUT} AS
        SELECT {sql_literal(tenant)} AS tenant, * FROM {STATES_ROWS}""")


_SESSION_ON = "('ADDMEMBER', 'AGENTLOGIN', 'AGENTCALLBACKLOGIN')"
_SESSION_EVENTS = ("('ADDMEMBER', 'REMOVEMEMBER', 'AGENTLOGIN', 'AGENTLOGOFF', "
                   "'AGENTCALLBACKLOGIN', 'AGENTCALLBACKLOGOFF')")
_AGENT_LOGIN = "('AGENTLOGIN', 'AGENTLOGOFF', 'AGENTCALLBACKLOGIN', 'AGENTCALLBACKLOGOFF')"
_M_ORDER = "ts, rank, slot, event, queue, callid, data"


def _intervals(state: str, value_sql: str, events_sql: str, reason_sql: str) -> str:
    """SQL of the ``state`` intervals of each agent: while the sum of per-slot flags > 0.

    Each event sets its slot's flag to ``value_sql`` (0/1); a slot is a queue (membership,
    pause) or ``#agent`` (AgentLogin). An interval starts when the agent's count of set flags
    leaves 0 and ends when it returns to 0; repeated events change nothing.
    """
    return f"""
        SELECT agent AS agent_id, '{state}' AS state, reason, started_at, ended_at FROM (
          SELECT agent, tr, ts AS started_at, reason,
            lead(ts) OVER (PARTITION BY agent ORDER BY {_M_ORDER}) AS ended_at
          FROM (
            SELECT *, CASE WHEN cnt - delta = 0 AND cnt > 0 THEN 'start'
                           WHEN cnt - delta > 0 AND cnt = 0 THEN 'end' END AS tr
            FROM (
              SELECT *, sum(delta) OVER (PARTITION BY agent ORDER BY {_M_ORDER}
                                         ROWS UNBOUNDED PRECEDING) AS cnt
              FROM (
                SELECT *, v - coalesce(lag(v) OVER (PARTITION BY agent, slot
                                                    ORDER BY {_M_ORDER}), 0) AS delta
                FROM (SELECT *, {value_sql} AS v, {reason_sql} AS reason FROM _ast_m
                      WHERE event IN {events_sql}))))
          WHERE tr IS NOT NULL)
        WHERE tr = 'start'"""


def derive_agents(db: Any, tenant: str) -> bool:
    """``logged_in`` and ``paused`` intervals of the agents touched by this load, appended
    to :data:`STATES_ROWS` (:func:`derive_calls` creates it).

    Returns whether the ``agent_states`` keys of :data:`STATES_ROWS` are unique
    (``SqlRows.keys_unique``): the call-derived ones are made so by :func:`_one_per_key`,
    the states differ from these, and the few member-derived ones are checked here.

    Also lists the intervals this source wrote before that are no longer derived (their
    start moved because a late line arrived) in ``_ast_stale``, for
    :func:`apply_agent_intervals`. Reads the warehouse only.
    """
    db.execute(f"""
        CREATE OR REPLACE TEMP TABLE _ast_m AS
        SELECT agent, ts, rank, event, queue, callid, data, txt,
          CASE WHEN event IN {_AGENT_LOGIN} THEN '#agent' ELSE queue END AS slot
        FROM _ast_members""")
    sessions = _intervals("logged_in", f"CASE WHEN event IN {_SESSION_ON} THEN 1 ELSE 0 END",
                          _SESSION_EVENTS, "CAST(NULL AS VARCHAR)")
    pauses = _intervals(
        "paused",
        "CASE event WHEN 'PAUSE' THEN 1 WHEN 'ADDMEMBER' THEN "
        "CASE WHEN upper(coalesce(txt, '')) = 'PAUSED' THEN 1 ELSE 0 END ELSE 0 END",
        "('PAUSE', 'UNPAUSE', 'ADDMEMBER', 'REMOVEMEMBER')",
        "CASE WHEN event = 'PAUSE' THEN nullif(txt, '') END")
    db.execute(f"CREATE OR REPLACE TEMP TABLE _ast_int AS {sessions} UNION ALL {pauses}")
    if table_exists(db, INTERVALS_TABLE):
        db.execute(f"""
            CREATE OR REPLACE TEMP TABLE _ast_stale AS
            SELECT l.agent_id, l.state, l.started_at FROM {INTERVALS_TABLE} l
            WHERE l.tenant = ? AND l.agent_id IN (SELECT agent FROM _ast_ta)
              AND NOT EXISTS (SELECT 1 FROM _ast_int n WHERE {_SAME_INTERVAL})""", [tenant])
    else:
        db.execute("CREATE OR REPLACE TEMP TABLE _ast_stale AS "
                   "SELECT agent_id, state, started_at FROM _ast_int WHERE false")
    db.execute(f"""
        INSERT INTO {STATES_ROWS}
        SELECT i.agent_id, i.state, i.reason, CAST(NULL AS VARCHAR) AS queue,
          CAST(NULL AS VARCHAR) AS contact_id, i.started_at, i.ended_at, t.line AS _line
        FROM _ast_int i JOIN _ast_ta t ON t.agent = i.agent_id""")
    db.execute("DROP TABLE IF EXISTS _ast_m")
    (repeats,) = db.execute("SELECT count(*) FROM (SELECT 1 FROM _ast_int GROUP BY agent_id, "
                            "state, started_at HAVING count(*) > 1)").fetchone()
    return not repeats


_SAME_INTERVAL = ("l.agent_id = n.agent_id AND l.state = n.state "
                  "AND l.started_at = n.started_at")


def apply_agent_intervals(db: Any, tenant: str) -> None:
    """Inside the load's transaction: delete the stale intervals :func:`derive_agents`
    found (from ``agent_states`` and the interval keys) and record the new keys."""
    (stale,) = db.execute("SELECT count(*) FROM _ast_stale").fetchone()
    if stale:
        db.execute("""
            DELETE FROM agent_states a USING _ast_stale s
            WHERE a.tenant = ? AND a.agent_id = s.agent_id AND a.state = s.state
              AND a.started_at = timezone('UTC', s.started_at)""", [tenant])
        db.execute(f"""
            DELETE FROM {INTERVALS_TABLE} l USING _ast_stale s
            WHERE l.tenant = ? AND l.agent_id = s.agent_id AND l.state = s.state
              AND l.started_at = s.started_at""", [tenant])
    db.execute(f"""
        INSERT INTO {INTERVALS_TABLE}
        SELECT DISTINCT ?, n.agent_id, n.state, n.started_at FROM _ast_int n
        WHERE NOT EXISTS (SELECT 1 FROM {INTERVALS_TABLE} l
                          WHERE l.tenant = ? AND {_SAME_INTERVAL})""", [tenant, tenant])
    for name in ("_ast_int", "_ast_stale"):
        db.execute(f"DROP TABLE IF EXISTS {name}")


def pending_calls(wh: Any, tenant: str) -> pd.DataFrame:
    """Visits whose terminal event has not been loaded yet: ``callid, visit, first_at``.

    ``wh`` is a warehouse (or its DuckDB connection).
    """
    db = wh.raw_duckdb() if hasattr(wh, "raw_duckdb") else wh
    stored = stored_events(db, EVENTS_TABLE, tenant)
    if stored is None:
        return pd.DataFrame({"callid": [], "visit": [], "first_at": []})
    return db.execute(f"""
        SELECT callid, visit, first_at FROM ({visits_sql(stored)}) WHERE NOT ended
        ORDER BY first_at, callid, visit""").df()
