"""Dimensions a KPI can be cut by, and how each canonical table reaches them.

A dimension is native when its column is in the table (``queue`` in ``contacts``); tables
that point at a contact (``surveys``, ``qa_evaluations``) reach the contact's columns by a
left join on ``(tenant, contact_id)``; tables with an ``agent_id`` reach the agent's ``team``
and ``site`` by a left join on the ``roster``. ``hour_of_day`` and ``weekday`` are computed
from the KPI's time dimension in local time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import ibis

from contactkpi.errors import QueryError
from contactkpi.model import TABLES


@dataclass(frozen=True)
class Dimension:
    """A way to cut KPIs: its name in queries and outputs, and its canonical column."""

    name: str
    column: str
    description: str


DIMENSIONS: dict[str, Dimension] = {
    d.name: d
    for d in (
        Dimension("tenant", "tenant", "Client business."),
        Dimension("queue", "queue", "Queue, skill or helpdesk group."),
        Dimension("channel", "channel", "voice, chat, email, ticket, ..."),
        Dimension("direction", "direction", "inbound or outbound."),
        Dimension("agent", "agent_id", "Agent (agent_id)."),
        Dimension("team", "team", "Agent's team, from the roster."),
        Dimension("site", "site", "Agent's site, from the roster."),
        Dimension("campaign", "campaign", "Outbound campaign or marketing list."),
        Dimension("script", "script", "Call script or offer (bank data: the line type)."),
        Dimension("reason", "reason", "Contact reason; for agent states the pause reason."),
        Dimension("disposition", "disposition", "Business result code."),
        Dimension("segment", "segment", "Customer segment or previous outcome."),
        Dimension("state", "state", "Agent state (agent_states only)."),
        Dimension("kind", "kind", "QA evaluation kind: regular, mystery, ..."),
        Dimension("category", "category", "Training category (trainings only)."),
        Dimension("cost_type", "cost_type", "Cost type (costs only)."),
        Dimension("hour_of_day", "hour_of_day", "Local hour 0-23 of the time dimension."),
        Dimension("weekday", "weekday", "Local weekday, 0 = Monday ... 6 = Sunday."),
    )
}

TIME_DERIVED = frozenset({"hour_of_day", "weekday"})
#: Columns of ``contacts`` that tables pointing at a contact can reach by a join.
CONTACT_COLUMNS = ("queue", "channel", "direction", "campaign", "script", "reason",
                   "disposition", "segment")
ROSTER_COLUMNS = ("team", "site")

#: Default time dimension of each canonical table.
DEFAULT_TIME = {
    "contacts": "arrived_at",
    "agent_states": "started_at",
    "surveys": "responded_at",
    "qa_evaluations": "evaluated_at",
    "roster": "hired_on",
    "schedules": "starts_at",
    "absences": "date",
    "trainings": "started_at",
    "costs": "period_start",
    "forecasts": "interval_start_at",
    "targets": "valid_from",
}


def dimension(name: str) -> Dimension:
    """The dimension called ``name`` or a QueryError listing them."""
    if name in DIMENSIONS:
        return DIMENSIONS[name]
    by_column = {d.column: d for d in DIMENSIONS.values()}
    if name in by_column:
        return by_column[name]
    raise QueryError(f"unknown dimension {name!r}", where="--by",
                     hint="choose from: " + ", ".join(DIMENSIONS))


def joinable(table: str) -> dict[str, str]:
    """Column -> how ``table`` reaches it when not native (``contacts`` or ``roster``)."""
    cols = set(TABLES[table].column_names)
    out: dict[str, str] = {}
    if "contact_id" in cols and table != "contacts":
        out.update({c: "contacts" for c in CONTACT_COLUMNS if c not in cols})
    if "agent_id" in cols and table != "roster":
        out.update({c: "roster" for c in ROSTER_COLUMNS if c not in cols})
    return out


def reachable_columns(table: str) -> frozenset[str]:
    """Every column name a filter or dimension on ``table`` may use (plus dimension names)."""
    cols = set(TABLES[table].column_names) | set(joinable(table)) | set(TIME_DERIVED)
    names = {d.name for d in DIMENSIONS.values() if d.column in cols}
    return frozenset(cols | names)


def enrich(t: ibis.Table, table: str, needed: Iterable[str],
           source: Callable[[str], ibis.Table]) -> ibis.Table:
    """Add the joined columns among ``needed`` to ``t`` (left joins, rows are kept)."""
    via = joinable(table)
    wanted = {DIMENSIONS[n].column if n in DIMENSIONS else n for n in needed}
    from_contacts = sorted(c for c in wanted if via.get(c) == "contacts" and c not in t.columns)
    from_roster = sorted(c for c in wanted if via.get(c) == "roster" and c not in t.columns)
    if from_contacts:
        c = source("contacts")
        right = c.select("tenant", "contact_id", *from_contacts).rename(
            {"_j_tenant": "tenant", "_j_contact_id": "contact_id"})
        t = t.left_join(right, [t.tenant == right._j_tenant,
                                t.contact_id == right._j_contact_id])
        t = t.select(*[x for x in t.columns if not x.startswith("_j_")])
    if from_roster:
        r = source("roster")
        right = r.select("tenant", "agent_id", *from_roster).rename(
            {"_r_tenant": "tenant", "_r_agent_id": "agent_id"})
        t = t.left_join(right, [t.tenant == right._r_tenant, t.agent_id == right._r_agent_id])
        t = t.select(*[x for x in t.columns if not x.startswith("_r_")])
    return t


def check_dimensions(table: str, dims: Iterable[str], metric: str) -> None:
    """A QueryError when ``metric`` (over ``table``) cannot be cut by one of ``dims``."""
    reach = reachable_columns(table)
    for d in dims:
        col = dimension(d).column
        if col not in reach:
            raise QueryError(f"{metric} cannot be cut by {d}: table {table} has no {col}",
                             where="--by", hint="drop that dimension or query this KPI apart")


def metric_dimensions(tables: Iterable[str]) -> list[str]:
    """Dimensions every one of ``tables`` can reach (a KPI over them can be cut by these)."""
    names = list(DIMENSIONS)
    for table in tables:
        reach = reachable_columns(table)
        names = [n for n in names if DIMENSIONS[n].column in reach]
    return names
