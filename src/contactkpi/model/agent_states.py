"""The ``agent_states`` table: what each agent was doing, as time intervals.

``logged_in`` rows are sessions; the other states are intervals inside a session, so a
minute of an agent's day appears once under ``logged_in`` and once under one other state.
"""

from __future__ import annotations

from contactkpi.model.columns import Column, Kind, Table, not_before, tenant_column

AGENT_STATES = frozenset(
    {"logged_in", "available", "ringing", "on_contact", "acw", "paused", "outbound"}
)

AGENT_STATE_TABLE = Table(
    name="agent_states",
    description="Agent state intervals: sessions, available, on contact, wrap-up, pauses.",
    primary_key=("tenant", "agent_id", "state", "started_at"),
    columns=(
        tenant_column(),
        Column("agent_id", Kind.STRING, "Agent.", required=True),
        Column("state", Kind.CODE, "State of the interval.", required=True, allowed=AGENT_STATES),
        Column("reason", Kind.STRING, "Pause reason (break, lunch, coaching, ...)."),
        Column("queue", Kind.STRING, "Queue the state relates to, when known."),
        Column("contact_id", Kind.STRING, "Contact handled in an on_contact/acw interval."),
        Column("started_at", Kind.TIMESTAMP, "Start of the interval.", required=True),
        Column("ended_at", Kind.TIMESTAMP, "End of the interval (missing: still open)."),
    ),
    rules=(not_before("ended_at", "started_at"),),
)
