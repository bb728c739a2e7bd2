"""Write canonical ticket contacts (and their surveys) as a Zendesk-style export.

The inverse of ``contactkpi.sources.helpdesk_tickets``, for round-trip tests and demos:

- ``ticket_export(contacts, surveys)`` builds the JSON the Zendesk API answers for a list or
  incremental export with side-loads: ``tickets``, ``metric_sets``, ``groups``, ``users``,
  ``satisfaction_ratings`` and, with ``audits=True``, ``audits`` holding the requester's first
  comment, the first public agent reply and the status changes.
- ``write_tickets_json`` saves it as one envelope document or as NDJSON (one
  ``{"ticket": ...}`` per line carrying its ``metric_set``, like the Full JSON export).
- ``write_tickets_csv`` writes the CSV export's columns, times in the account's time zone.

Representable rows only; anything else raises ``ValueError``: ``reopens`` and ``transfers``
come from the metric set (``group_stations`` = transfers + 1); without audits (and always in
CSV) the first reply is a whole number of minutes after creation, as Zendesk's
``reply_time_in_minutes`` is; ``resolved_at`` only on solved/closed tickets; csat 5 (good) or
1 (bad) or none (offered).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pandas as pd

__all__ = ["ticket_export", "write_tickets_csv", "write_tickets_json"]

#: canonical channel -> a via type that reads back as it (see ``helpdesk_tickets.VIA``)
_VIA = {"ticket": "web_service", "web": "web_form", "email": "email", "chat": "chat",
        "messaging": "native_messaging", "voice": "voice", "sms": "sms", "social": "twitter"}
_CSV_VIA = {"web_service": "Web service", "web_form": "Web form", "email": "Mail",
            "chat": "Chat", "native_messaging": "Native messaging", "voice": "Voice",
            "sms": "Sms", "twitter": "Twitter", "phone_call_outbound": "Phone call (outgoing)"}
_CSV_HEADER = ["Id", "Requester", "Requester id", "Submitter", "Assignee", "Group", "Subject",
               "Tags", "Status", "Priority", "Via", "Ticket type", "Created at", "Updated at",
               "Solved at", "Satisfaction Score", "Group stations", "Assignee stations",
               "Reopens", "Replies", "First reply time in minutes",
               "First resolution time in minutes", "Full resolution time in minutes"]


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def _ts(v: Any) -> pd.Timestamp | None:
    if _missing(v):
        return None
    t = pd.Timestamp(v)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def _z(t: pd.Timestamp | None) -> str | None:
    if t is None:
        return None
    if t != t.floor("s"):
        raise ValueError(f"{t}: Zendesk writes whole seconds")
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _minutes(start: pd.Timestamp, end: pd.Timestamp | None, what: str) -> int | None:
    if end is None:
        return None
    seconds = (end - start).total_seconds()
    if seconds % 60:
        raise ValueError(f"{what} is {seconds} s after creation: a metric holds whole minutes")
    return int(seconds // 60)


def _id(v: Any) -> int | str:
    s = str(v)
    return int(s) if s.isdigit() else s


def _int(v: Any) -> int | None:
    return None if _missing(v) else int(v)


class _Ticket:
    """One canonical row checked and split into the pieces of an export."""

    def __init__(self, seq: int, row: Mapping[str, Any], survey: Mapping[str, Any] | None,
                 group_ids: dict[str, int]):
        self.seq = seq
        self.id = _id(row["contact_id"])
        self.created = _ts(row.get("arrived_at"))
        if self.created is None:
            raise ValueError(f"ticket {self.id}: arrived_at (created_at) is required")
        self.status = str(row.get("status") or "open")
        self.first = _ts(row.get("first_response_at"))
        self.resolved = _ts(row.get("resolved_at"))
        if self.resolved is not None and self.status not in ("solved", "closed"):
            raise ValueError(f"ticket {self.id}: resolved_at on a {self.status} ticket")
        if self.resolved is None and self.status in ("solved", "closed"):
            raise ValueError(f"ticket {self.id}: a {self.status} ticket needs resolved_at")
        channel = str(row.get("channel") or "ticket")
        outbound = row.get("direction") == "outbound"
        if outbound and channel not in ("voice", "ticket"):
            raise ValueError(f"ticket {self.id}: only calls are outbound tickets")
        self.via = "phone_call_outbound" if outbound else _VIA.get(channel)
        if self.via is None:
            raise ValueError(f"ticket {self.id}: channel {channel!r} has no via type")
        self.requester = None if _missing(row.get("customer_id")) else _id(row["customer_id"])
        self.assignee = None if _missing(row.get("agent_id")) else _id(row["agent_id"])
        self.queue = None if _missing(row.get("queue")) else str(row["queue"])
        self.group_id = None if self.queue is None else group_ids.setdefault(
            self.queue, int(self.queue) if self.queue.isdigit() else 360000 + len(group_ids))
        self.reopens = _int(row.get("reopens"))
        transfers = _int(row.get("transfers"))
        self.group_stations = None if transfers is None else transfers + 1
        self.survey = survey
        self.score: str | None = None
        if survey is not None:
            csat = _int(survey.get("csat"))
            if csat not in (None, 1, 5):
                raise ValueError(f"ticket {self.id}: csat {csat} is neither good (5) nor bad (1)")
            self.score = {5: "good", 1: "bad", None: "offered"}[csat]
        responded = _ts(survey.get("responded_at")) if survey is not None else None
        self.updated = max(t for t in (self.created, self.first, self.resolved, responded) if t)

    def metric_set(self, *, with_reply: bool) -> dict[str, Any]:
        reply = _minutes(self.created, self.first, "first_response_at") if with_reply else None
        full = _minutes(self.created, self.resolved, "resolved_at") if (
            self.resolved is not None and (self.resolved - self.created).total_seconds() % 60 == 0
        ) else None
        return {
            "id": 900000 + self.seq,
            "ticket_id": self.id,
            "created_at": _z(self.created),
            "updated_at": _z(self.updated),
            "group_stations": self.group_stations,
            "assignee_stations": 1 if self.assignee is not None else 0,
            "reopens": self.reopens,
            "replies": 0 if self.first is None else 1,
            "solved_at": _z(self.resolved),
            "reply_time_in_minutes": {"calendar": reply, "business": reply},
            "first_resolution_time_in_minutes": {"calendar": full, "business": full},
            "full_resolution_time_in_minutes": {"calendar": full, "business": full},
        }

    def ticket(self) -> dict[str, Any]:
        rating: dict[str, Any] = {"score": self.score or "unoffered"}
        if self.survey is not None and not _missing(self.survey.get("comment")):
            rating["comment"] = str(self.survey["comment"])
        source_rel = "outbound" if self.via == "phone_call_outbound" else None
        return {
            "id": self.id,
            "url": f"https://example.zendesk.com/api/v2/tickets/{self.id}.json",
            "created_at": _z(self.created),
            "updated_at": _z(self.updated),
            "type": "question",
            "subject": f"Ticket {self.id}",
            "priority": "normal",
            "status": self.status,
            "requester_id": self.requester,
            "submitter_id": self.requester,
            "assignee_id": self.assignee,
            "group_id": self.group_id,
            "via": {"channel": self.via, "source": {"from": {}, "to": {}, "rel": source_rel}},
            "tags": [],
            "custom_fields": [],
            "satisfaction_rating": rating,
        }

    def audits(self, agent_user: int) -> list[dict[str, Any]]:
        first = {"id": 1, "type": "Comment", "public": True, "author_id": self.requester,
                 "body": "Hello, I need help."}
        out = [{"id": 700000 + 2 * self.seq, "ticket_id": self.id,
                "created_at": _z(self.created), "author_id": self.requester,
                "events": [first, {"id": 2, "type": "Create", "field_name": "status",
                                   "value": "new"}]}]
        if self.first is not None:
            author = self.assignee if self.assignee is not None else agent_user
            out.append({"id": out[0]["id"] + 1, "ticket_id": self.id,
                        "created_at": _z(self.first), "author_id": author,
                        "events": [{"id": 3, "type": "Comment", "public": True,
                                    "author_id": author, "body": "Thanks, on it."}]})
        return out

    def rating(self) -> dict[str, Any] | None:
        if self.survey is None:
            return None
        return {
            "id": 350000 + self.seq,
            "ticket_id": self.id,
            "score": self.score,
            "requester_id": self.requester,
            "assignee_id": self.assignee,
            "group_id": self.group_id,
            "created_at": _z(_ts(self.survey.get("sent_at")) or self.resolved or self.updated),
            "updated_at": _z(_ts(self.survey.get("responded_at")) or self.updated),
            "comment": None if _missing(self.survey.get("comment")) else str(
                self.survey["comment"]),
        }


def _tickets(contacts: pd.DataFrame, surveys: pd.DataFrame | None
             ) -> tuple[list[_Ticket], dict[str, int]]:
    by_ticket: dict[str, dict[str, Any]] = {}
    if surveys is not None:
        for s in surveys.to_dict("records"):
            by_ticket[str(s["contact_id"])] = s
    group_ids: dict[str, int] = {}
    tickets = [_Ticket(i, row, by_ticket.get(str(row["contact_id"])), group_ids)
               for i, row in enumerate(contacts.to_dict("records"))]
    return tickets, group_ids


def ticket_export(contacts: pd.DataFrame, surveys: pd.DataFrame | None = None, *,
                  audits: bool = False) -> dict[str, Any]:
    """The side-loaded JSON of a ticket list / incremental export for ``contacts``.

    Args:
        contacts: canonical contacts of the ticket channel.
        surveys: canonical surveys about them (contact_id = ticket id), optional.
        audits: also write audits; the first reply is then exact to the second.
    """
    tickets, group_ids = _tickets(contacts, surveys)
    agent_user = 999
    users: dict[Any, dict[str, Any]] = {agent_user: {"id": agent_user, "name": "Agent",
                                                     "role": "agent"}}
    for t in tickets:
        if t.requester is not None:
            users.setdefault(t.requester, {"id": t.requester, "name": f"User {t.requester}",
                                           "role": "end-user"})
        if t.assignee is not None:
            users[t.assignee] = {"id": t.assignee, "name": f"Agent {t.assignee}",
                                 "role": "agent"}
    doc: dict[str, Any] = {
        "tickets": [t.ticket() for t in tickets],
        "metric_sets": [t.metric_set(with_reply=not audits) for t in tickets],
        "groups": [{"id": gid, "name": name} for name, gid in group_ids.items()],
        "users": list(users.values()),
        "satisfaction_ratings": [r for t in tickets if (r := t.rating()) is not None],
    }
    if audits:
        doc["audits"] = [a for t in tickets for a in t.audits(agent_user)]
    doc["count"] = len(tickets)
    doc["end_of_stream"] = True
    return doc


def write_tickets_json(contacts: pd.DataFrame, path: Path, surveys: pd.DataFrame | None = None,
                       *, shape: Literal["envelope", "ndjson"] = "envelope",
                       audits: bool = False) -> Path:
    """Write an export: one envelope document, or NDJSON tickets with their metric sets.

    NDJSON has no side-loaded groups, so a queue reads back as its group id: give such
    contacts numeric queue names (they are written as the group id itself).
    """
    doc = ticket_export(contacts, surveys, audits=audits)
    if shape == "envelope":
        path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
        return path
    if shape != "ndjson":
        raise ValueError(f"unknown shape {shape!r}")
    if audits:
        raise ValueError("NDJSON tickets carry no audits here; use the envelope")
    metrics = {m["ticket_id"]: m for m in doc["metric_sets"]}
    lines = [json.dumps({"ticket": dict(t, metric_set=metrics[t["id"]])})
             for t in doc["tickets"]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_tickets_csv(contacts: pd.DataFrame, path: Path, surveys: pd.DataFrame | None = None,
                      *, timezone: str = "UTC") -> Path:
    """Write the Zendesk CSV export's columns; times are local to ``timezone``, no offset."""
    tickets, _ = _tickets(contacts, surveys)

    def local(t: pd.Timestamp | None) -> str:
        return "" if t is None else t.tz_convert(timezone).strftime("%Y-%m-%d %H:%M:%S")

    rows = []
    for t in tickets:
        reply = _minutes(t.created, t.first, "first_response_at")
        score = {"good": "Good", "bad": "Bad", "offered": "Offered"}.get(
            t.score or "", "Not Offered")
        row = {
            "Id": t.id, "Requester": f"User {t.requester}", "Requester id": t.requester,
            "Submitter": f"User {t.requester}", "Assignee": t.assignee or "",
            "Group": t.queue or "",
            "Subject": f"Ticket {t.id}", "Tags": "", "Status": t.status.capitalize()
            if t.status != "hold" else "On-hold",
            "Priority": "Normal", "Via": _CSV_VIA[t.via or "web_service"],
            "Ticket type": "Question", "Created at": local(t.created),
            "Updated at": local(t.updated), "Solved at": local(t.resolved),
            "Satisfaction Score": score,
            "Group stations": "" if t.group_stations is None else t.group_stations,
            "Assignee stations": 1 if t.assignee is not None else 0,
            "Reopens": "" if t.reopens is None else t.reopens,
            "Replies": 0 if t.first is None else 1,
            "First reply time in minutes": "" if reply is None else reply,
            "First resolution time in minutes": "", "Full resolution time in minutes": "",
        }
        rows.append([row[h] for h in _CSV_HEADER])
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(_CSV_HEADER)
        w.writerows(rows)
    return path

