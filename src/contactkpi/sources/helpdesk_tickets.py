"""Helpdesk tickets (Zendesk-style exports) into ``contacts`` and ``surveys``.

Inputs, told apart by content:

- JSON as the Zendesk API and exports write it: a list page or incremental export
  (``{"tickets": [...]}``) with side-loads ``metric_sets`` (or ``ticket_metrics``), ``users``,
  ``groups``, plus optional ``audits`` and ``satisfaction_ratings`` arrays; a single ticket
  (``{"ticket": {...}}``); the "Full JSON export", which Zendesk writes as NDJSON ("Zendesk
  exports the data in 'NDJSON' or Newline Delimited JSON format", one ``{"ticket": ...}`` or
  bare ticket per line, possibly carrying ``metric_set`` and ``comments``); a satisfaction
  ratings list on its own. Each ticket and each rating is a record; a reject names the line on
  which the record starts, or, in a file whose records share a line (a minified API answer),
  the record's 1-based position counting every array element (tickets, metric sets, users,
  groups, audits, ratings) in file order.
- CSV as the Zendesk "CSV export" writes it (header row; columns matched case-insensitively;
  others ignored): ``Id``, ``Requester id``, ``Assignee``, ``Group``, ``Status``, ``Via``,
  ``Created at``, ``Updated at``, ``Solved at``, ``Satisfaction Score``, ``Group stations``,
  ``Reopens``, ``First reply time in minutes``, ``Full resolution time in minutes``. Only
  ``Id`` and ``Created at`` are required. Zendesk: "All date and time values are converted to
  the account's default time zone", so naive CSV times are read in the tenant's time zone
  (ambiguous autumn times take the first occurrence); ISO-8601 is expected unless the mapping
  file gives ``csv_time_format``. The CSV has no assignee id, so ``agent_id`` is the assignee
  name there (the JSON gives ids): do not mix the two for one tenant without expecting agent
  ids to change.

Ticket -> contacts:

==============================================  ===============================================
Zendesk field                                   canonical use
==============================================  ===============================================
id                                              ``contact_id`` (and ``survey_id``)
created_at                                      ``arrived_at``
status new/open/pending/hold/solved/closed      ``status`` (``deleted`` tickets are rejected as
                                                ``deleted_ticket``: there is nothing to count)
via.channel                                     ``channel`` is ``ticket`` unless the mapping
                                                says ``channel = "via"`` (then table ``VIA``);
                                                ``direction`` is outbound for outbound calls
                                                (``phone_call_outbound`` / source rel
                                                ``outbound``), else inbound
group_id (name from side-loaded groups)         ``queue``
assignee_id                                     ``agent_id``
requester_id                                    ``customer_id``
first public agent comment (comments/audits)    ``first_response_at``; without comments,
  else created_at + reply_time_in_seconds /     ``created_at`` + the metric's calendar time
  reply_time_in_minutes.calendar
metric solved_at, else created_at +             ``resolved_at`` and ``ended_at``, only when the
  full_resolution_time_in_minutes.calendar,     status is solved or closed (a reopened ticket
  else the last status change to solved         is back in the backlog)
metric reopens, else audit changes solved->x    ``reopens``
metric group_stations - 1                       ``transfers`` (Zendesk: "The initial assignment
                                                upon ticket creation also counts as a
                                                station")
updated_at                                      orders repeated copies of a ticket in a file
reply/resolution business minutes, wait and     not used: business-hours variants and waits
  on-hold times, replies, assignee_stations,    have no canonical column; the KPI engine works
  assigned_at, priority, type, subject, tags    from the instants above
==============================================  ===============================================

``outcome`` is ``answered`` once an agent replied or the ticket was solved, else ``open``.

First reply follows Zendesk's rule: "The duration between ticket creation and the first public
agent reply on the ticket ... If the ticket is created by an agent and the first comment is
public the second timestamp shifts to the second public agent comment." So the ticket's first
comment (its description) never counts, and the reply is the next public comment whose author
is an agent: ``role`` agent/admin in the side-loaded users, or, without users, anyone but the
requester.

Satisfaction -> surveys. The rating "score" is "offered", "unoffered", "good" or "bad" (Zendesk
API). Zendesk's score is the share of good ratings among good and bad ones, and on a 1-5 scale
Zendesk counts 4-5 as good and 1-3 as bad; so good is stored as ``csat`` 5 and bad as 1, which
keeps top-2-box CSAT (csat >= 4 among answers) equal to Zendesk's own score. ``offered`` is a
survey row with no answer (response-rate denominators count it); ``unoffered`` makes no row.
``survey_id`` is the ticket id (Zendesk rates per ticket), so a rating seen twice is one survey.
From a ratings list ``sent_at``/``responded_at`` are the rating's created_at/updated_at; a
rating embedded in a ticket (or a CSV score) has no time of its own, so ``responded_at`` is
the ticket's updated_at and ``sent_at`` stays empty.

Mapping file (``ReadContext.mapping``, TOML, optional)::

    [tickets]
    channel = "via"                   # default "ticket"
    csv_time_format = "%d-%m-%Y %H:%M"  # only for CSV files not in ISO 8601
    [tickets.fields]                  # canonical column = ticket field
    reason = "custom_field:360001234" # JSON custom field by id; "tags" joins tags with ","
    segment = "priority"              # a ticket key (JSON) or a column header (CSV)
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pandas as pd

from contactkpi.errors import MappingError, SourceError
from contactkpi.model.validate import LINE
from contactkpi.sources.base import (
    Batch,
    Problem,
    ReadContext,
    read_options,
    read_source_bytes,
    record_rejects,
)
from contactkpi.sources.json_stream import numbered, read_records

__all__ = ["MAPPABLE", "VIA", "HelpdeskTicketsSource", "TicketMapping"]

#: Zendesk via type -> canonical channel (used when the mapping says ``channel = "via"``);
#: anything else (api, rule, merge, import, ...) stays ``ticket``.
VIA = {
    **dict.fromkeys(("web", "web_form", "web_widget", "dropbox", "mobile", "mobile_sdk",
                     "help_center", "iphone", "android"), "web"),
    **dict.fromkeys(("email", "mail"), "email"),
    **dict.fromkeys(("chat", "chat_transcript", "chat_offline_message"), "chat"),
    **dict.fromkeys(("native_messaging", "messaging", "whatsapp", "line", "wechat",
                     "messenger", "instagram_dm", "telegram", "viber", "apple_business_chat",
                     "google_rcs", "kakaotalk"), "messaging"),
    **dict.fromkeys(("voice", "voicemail", "phone_call_inbound", "phone_call_outbound"),
                    "voice"),
    **dict.fromkeys(("sms", "text_message"), "sms"),
    **dict.fromkeys(("twitter", "twitter_dm", "twitter_favorite", "facebook",
                     "facebook_post", "facebook_message"), "social"),
}
#: Via ids (the API may give an integer) -> via type, from Zendesk's "Via types reference".
VIA_IDS = {0: "web_form", 4: "mail", 5: "web_service", 8: "rule", 17: "dropbox",
           23: "twitter_favorite", 26: "twitter_dm", 29: "chat", 30: "twitter",
           33: "voicemail", 34: "phone_call_inbound", 35: "phone_call_outbound",
           37: "text_message", 38: "facebook_post", 41: "facebook_message"}
#: CSV display names (lower-cased, non-letters as ``_``) that differ from the via type;
#: "Phone call (outbound)" already reads as ``phone_call_outbound``.
_VIA_NAMES = {"phone_call_incoming": "phone_call_inbound",
              "phone_call_outgoing": "phone_call_outbound", "web_service_api": "web_service",
              "api": "web_service"}

MAPPABLE = ("reason", "campaign", "segment", "disposition", "script")
_SOLVED = ("solved", "closed")
_ENVELOPE = frozenset({"tickets", "metric_sets", "ticket_metrics", "satisfaction_ratings",
                       "audits", "users", "groups"})
_CSV_COLUMNS = {  # canonical meaning -> header (lower case) of the Zendesk CSV export
    "id": "id", "requester": "requester id", "assignee": "assignee", "group": "group",
    "status": "status", "via": "via", "created": "created at", "updated": "updated at",
    "solved": "solved at", "score": "satisfaction score", "group_stations": "group stations",
    "reopens": "reopens", "reply_min": "first reply time in minutes",
    "resolution_min": "full resolution time in minutes",
}


@dataclass(frozen=True)
class TicketMapping:
    """Options from the ``[tickets]`` table of a mapping file."""

    channel: str = "ticket"  # "ticket" or "via"
    csv_time_format: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None) -> TicketMapping:
        """Read ``[tickets]`` from a mapping TOML file (None: the defaults)."""
        if path is None:
            return cls()
        section = read_options(path, "tickets",
                               frozenset({"channel", "csv_time_format", "fields"}),
                               '[tickets] channel = "via"')
        channel = section.get("channel", "ticket")
        if channel not in ("ticket", "via"):
            raise MappingError(f"[tickets] channel = {channel!r}", where=str(path),
                               hint='choose "ticket" (all tickets) or "via" (by via channel)')
        fmt = section.get("csv_time_format")
        if fmt is not None and (not isinstance(fmt, str) or "%" not in fmt):
            raise MappingError("[tickets] csv_time_format must be a strftime format",
                               where=str(path), hint='e.g. csv_time_format = "%d-%m-%Y %H:%M"')
        fields_ = section.get("fields", {})
        if not isinstance(fields_, dict):
            raise MappingError("[tickets.fields] must be a table", where=str(path),
                               hint='e.g. [tickets.fields] reason = "type"')
        for column, source in fields_.items():
            if column not in MAPPABLE:
                raise MappingError(f"[tickets.fields] {column}: not a mappable column",
                                   where=str(path), hint="map one of: " + ", ".join(MAPPABLE))
            if not isinstance(source, str) or not source.strip():
                raise MappingError(f"[tickets.fields] {column}: must name a ticket field",
                                   where=str(path), hint='e.g. reason = "custom_field:123"')
        return cls(channel=channel, csv_time_format=fmt, fields=dict(fields_))


# ---------------------------------------------------------------- small typed helpers

def _text(v: Any) -> str | None:
    """Ids and names as text (Zendesk ids are integers); None for objects and blanks."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else str(v)
    if isinstance(v, str):
        return v.strip() or None
    return None


def _instant(v: Any) -> datetime | None:
    if not isinstance(v, str):
        return None
    try:
        t = datetime.fromisoformat(v.strip())
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _iso(t: datetime | None) -> str | None:
    if t is None:
        return None
    try:
        return t.astimezone(UTC).isoformat()
    except OverflowError:  # year 1 or 9999 shifted past the calendar by its offset
        return t.isoformat()


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int | float):
        return float(v) if v == v and abs(v) != float("inf") else None
    if isinstance(v, str) and v.strip():
        try:
            f = float(v.strip())
        except ValueError:
            return None
        return f if f == f and abs(f) != float("inf") else None
    return None


def _plus(t: datetime | None, seconds: float | None) -> datetime | None:
    if t is None or seconds is None or seconds < 0 or seconds > 1e10:
        return None
    try:
        return t + timedelta(seconds=seconds)
    except OverflowError:
        return None


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _via_type(v: Any) -> str | None:
    if isinstance(v, int) and not isinstance(v, bool):
        return VIA_IDS.get(v)
    if isinstance(v, str) and v.strip():
        key = re.sub(r"[^a-z0-9]+", "_", v.strip().lower()).strip("_")
        if key.isdigit():
            return VIA_IDS.get(int(key))
        return _VIA_NAMES.get(key, key)
    return None


def _score(v: Any) -> str | None:
    """good / bad / offered / unoffered from an API score or a CSV "Satisfaction Score"."""
    s = _text(v)
    if s is None:
        return None
    s = s.lower().replace(" ", "_")
    for score in ("unoffered", "not_offered", "offered", "good", "bad"):
        if s.startswith(score):
            return "unoffered" if score == "not_offered" else score
    return "?" + s


# ---------------------------------------------------------------- one ticket


@dataclass
class _Facts:
    """What one ticket says, whatever file shape it came from."""

    contact_id: Any
    created: Any  # raw, for the model to check
    created_at: datetime | None
    updated_at: datetime | None
    status: Any
    via: str | None
    via_rel: str | None
    queue: str | None
    agent: str | None
    customer: str | None
    first_response_at: datetime | None
    solved_at: datetime | None
    reopens: Any
    group_stations: float | None
    score: str | None
    comment: str | None
    mapped: dict[str, Any]


def _rows(f: _Facts, mapping: TicketMapping, tenant: str, line: int
          ) -> tuple[dict[str, Any] | None, dict[str, Any] | None, list[Problem]]:
    problems: list[Problem] = []
    status = f.status.strip().lower() if isinstance(f.status, str) else f.status
    if isinstance(status, str):
        status = {"on-hold": "hold", "on_hold": "hold", "on hold": "hold"}.get(status, status)
    if status == "deleted":
        return None, None, [("status", f.status, "deleted_ticket",
                             "a deleted ticket is not counted in any KPI")]
    if f.contact_id is None:
        problems.append(("id", None, "missing_field", "the ticket id is required"))
    if f.score is not None and f.score.startswith("?"):
        problems.append(("satisfaction_rating.score", f.score[1:], "unknown_score",
                         "score must be offered, unoffered, good or bad"))
    if problems:
        return None, None, problems
    solved = status in _SOLVED
    resolved = f.solved_at if solved else None
    channel = VIA.get(f.via or "", "ticket") if mapping.channel == "via" else "ticket"
    outbound = f.via == "phone_call_outbound" or f.via_rel == "outbound"
    transfers = None if f.group_stations is None else max(int(f.group_stations) - 1, 0)
    contact = {
        "tenant": tenant,
        "contact_id": f.contact_id,
        "channel": channel,
        "direction": "outbound" if outbound else "inbound",
        "queue": f.queue,
        "customer_id": f.customer,
        "agent_id": f.agent,
        "arrived_at": f.created,
        "first_response_at": _iso(f.first_response_at),
        "resolved_at": _iso(resolved),
        "ended_at": _iso(resolved),
        "status": status,
        "reopens": f.reopens,
        "transfers": transfers,
        "outcome": "answered" if (f.first_response_at is not None or solved) else "open",
        **f.mapped,
        LINE: line,
    }
    survey = None
    if f.score in ("good", "bad", "offered"):
        answered = f.score in ("good", "bad")
        survey = {
            "tenant": tenant,
            "survey_id": f.contact_id,
            "contact_id": f.contact_id,
            "customer_id": f.customer,
            "agent_id": f.agent,
            "responded_at": _iso(f.updated_at) if answered else None,
            "csat": {"good": 5, "bad": 1}.get(f.score),
            "comment": f.comment,
            LINE: line,
        }
    return contact, survey, []


def _first_agent_reply(comments: list[tuple[datetime, str | None, bool]], requester: str | None,
                       roles: Mapping[str, str]) -> datetime | None:
    """Zendesk's first reply: the first public agent comment after the ticket's first one."""
    ordered = sorted(comments, key=lambda c: c[0])
    for at, author, public in ordered[1:]:
        if not public or author is None:
            continue
        role = roles.get(author)
        is_agent = role in ("agent", "admin") if role is not None else author != requester
        if is_agent:
            return at
    return None


@dataclass
class _Side:
    """Side-loaded lookups of a JSON file."""

    groups: dict[str, str] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    audits: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _json_facts(t: dict[str, Any], side: _Side, mapping: TicketMapping) -> _Facts:
    tid = _text(t.get("id"))
    created_at = _instant(t.get("created_at"))
    requester = _text(t.get("requester_id"))
    metrics = t.get("metric_set") if isinstance(t.get("metric_set"), dict) else (
        side.metrics.get(tid or "", {}))
    via = t.get("via") if isinstance(t.get("via"), dict) else {}
    source = via.get("source") if isinstance(via.get("source"), dict) else {}

    comments: list[tuple[datetime, str | None, bool]] = []
    solved_changes: list[datetime] = []
    reopen_changes = 0
    for c in _list(t.get("comments")):
        at = _instant(c.get("created_at")) if isinstance(c, dict) else None
        if at is not None:
            comments.append((at, _text(c.get("author_id")), c.get("public") is True))
    for audit in side.audits.get(tid or "", []):
        at = _instant(audit.get("created_at"))
        events = audit.get("events")
        if at is None or not isinstance(events, list):
            continue
        for e in events:
            if not isinstance(e, dict):
                continue
            if e.get("type") == "Comment":
                author = _text(e.get("author_id")) or _text(audit.get("author_id"))
                comments.append((at, author, e.get("public") is True))
            elif e.get("type") in ("Change", "Create") and e.get("field_name") == "status":
                if e.get("value") == "solved":
                    solved_changes.append(at)
                if e.get("previous_value") == "solved" and e.get("value") not in _SOLVED:
                    reopen_changes += 1
    first = _first_agent_reply(comments, requester, side.roles) if comments else None
    if first is None:
        seconds = _number((metrics.get("reply_time_in_seconds") or {}).get("calendar")
                          if isinstance(metrics.get("reply_time_in_seconds"), dict) else None)
        minutes = _number((metrics.get("reply_time_in_minutes") or {}).get("calendar")
                          if isinstance(metrics.get("reply_time_in_minutes"), dict) else None)
        first = _plus(created_at, seconds if seconds is not None else (
            None if minutes is None else minutes * 60))
    solved_at = _instant(metrics.get("solved_at"))
    if solved_at is None:
        full = metrics.get("full_resolution_time_in_minutes")
        minutes = _number(full.get("calendar")) if isinstance(full, dict) else None
        solved_at = _plus(created_at, None if minutes is None else minutes * 60)
    if solved_at is None and solved_changes:
        solved_at = max(solved_changes)
    reopens = metrics.get("reopens", reopen_changes if side.audits.get(tid or "") else None)
    rating = t.get("satisfaction_rating")
    rating = rating if isinstance(rating, dict) else {}
    group = _text(t.get("group_id"))
    mapped = {}
    for column, src in mapping.fields.items():
        if src.startswith("custom_field:"):
            want = src.split(":", 1)[1].strip()
            found = [cf.get("value") for cf in _list(t.get("custom_fields"))
                     if isinstance(cf, dict) and _text(cf.get("id")) == want]
            value = found[0] if found else None
        else:
            value = t.get(src)
        if isinstance(value, list):
            value = ",".join(str(x) for x in value if isinstance(x, str | int)) or None
        mapped[column] = _text(value)
    return _Facts(
        contact_id=tid,
        created=t.get("created_at") if not isinstance(t.get("created_at"), dict | list) else None,
        created_at=created_at,
        updated_at=_instant(t.get("updated_at")),
        status=t.get("status"),
        via=_via_type(via.get("channel")),
        via_rel=_text(source.get("rel")),
        queue=side.groups.get(group, group) if group is not None else None,
        agent=_text(t.get("assignee_id")),
        customer=requester,
        first_response_at=first,
        solved_at=solved_at,
        reopens=reopens if not isinstance(reopens, dict | list) else None,
        group_stations=_number(metrics.get("group_stations")),
        score=_score(rating.get("score")),
        comment=_text(rating.get("comment")),
        mapped=mapped,
    )


def _rating_survey(r: dict[str, Any], tenant: str, line: int
                   ) -> tuple[dict[str, Any] | None, list[Problem]]:
    """A survey row from one satisfaction rating record (None for ``unoffered``)."""
    tid = _text(r.get("ticket_id"))
    score = _score(r.get("score"))
    if tid is None:
        return None, [("ticket_id", r.get("ticket_id"), "missing_field",
                       "a satisfaction rating needs the ticket_id it rates")]
    if score is None or score.startswith("?"):
        return None, [("score", r.get("score"), "unknown_score",
                       "score must be offered, unoffered, good or bad")]
    if score == "unoffered":
        return None, []
    answered = score in ("good", "bad")
    return {
        "tenant": tenant,
        "survey_id": tid,
        "contact_id": tid,
        "customer_id": _text(r.get("requester_id")),
        "agent_id": _text(r.get("assignee_id")),
        "sent_at": r.get("created_at") if isinstance(r.get("created_at"), str) else None,
        "responded_at": (r.get("updated_at") if isinstance(r.get("updated_at"), str) else None)
        if answered else None,
        "csat": {"good": 5, "bad": 1}.get(score),
        "comment": _text(r.get("comment")),
        LINE: line,
    }, []


# ---------------------------------------------------------------- file readers


@dataclass
class _Out:
    contacts: list[dict[str, Any]] = field(default_factory=list)
    versions: list[datetime] = field(default_factory=list)
    surveys: list[dict[str, Any]] = field(default_factory=list)
    bad: list[tuple[int, Problem]] = field(default_factory=list)
    records: int = 0

    def reject(self, line: int, problems: list[Problem]) -> None:
        self.bad.extend((line, p) for p in problems)

    def add(self, facts: _Facts, mapping: TicketMapping, tenant: str, line: int) -> None:
        """The ticket's contact (and survey) rows, or its problems as rejects."""
        contact, survey, problems = _rows(facts, mapping, tenant, line)
        if problems:
            self.reject(line, problems)
            return
        assert contact is not None
        self.contacts.append(contact)
        self.versions.append(facts.updated_at or _OLDEST)
        if survey is not None:
            self.surveys.append(survey)


_OLDEST = datetime(1, 1, 1, tzinfo=UTC)


def _kind(key: str | None, v: Any) -> str:
    """What a JSON record is: ticket, metrics, rating, audit, user, group or unknown."""
    if key is not None:
        return {"tickets": "ticket", "metric_sets": "metrics", "ticket_metrics": "metrics",
                "satisfaction_ratings": "rating", "audits": "audit", "users": "user",
                "groups": "group"}[key]
    if not isinstance(v, dict):
        return "unknown"
    if "ticket" in v:
        return "ticket"
    if "ticket_id" in v:
        if "score" in v:
            return "rating"
        if "events" in v:
            return "audit"
        return "metrics"
    if "id" in v and ("created_at" in v or "status" in v):
        return "ticket"
    return "unknown"


def _looks_like_record(v: Any) -> bool:
    return isinstance(v, dict) and (("id" in v and ("created_at" in v or "status" in v))
                                    or "ticket_id" in v or "ticket" in v
                                    or not _ENVELOPE.isdisjoint(v))


def _read_json(text: str, replaced: bool, mapping: TicketMapping, tenant: str) -> _Out:
    out = _Out()
    side = _Side()
    tickets: list[tuple[int, Any]] = []
    ratings: list[tuple[int, Any]] = []
    metric_lines: dict[str, int] = {}
    audit_lines: dict[str, int] = {}
    for found in numbered(list(read_records(text, _looks_like_record, _ENVELOPE))):
        if found.error is not None:
            out.records += 1
            out.reject(found.line, [(None, None, "bad_json", found.error)])
            continue
        v = found.value
        if replaced and "\ufffd" in repr(v):
            out.records += 1
            out.reject(found.line, [(None, None, "bad_encoding",
                                     "the record holds bytes that are not UTF-8")])
            continue
        kind = _kind(found.key, v)
        if kind in ("user", "group"):
            if isinstance(v, dict) and _text(v.get("id")) is not None:
                if kind == "user" and isinstance(v.get("role"), str):
                    side.roles[_text(v["id"]) or ""] = v["role"]
                elif kind == "group" and _text(v.get("name")) is not None:
                    side.groups[_text(v["id"]) or ""] = _text(v["name"]) or ""
            continue
        if kind in ("metrics", "audit"):
            tid = _text(v.get("ticket_id")) if isinstance(v, dict) else None
            if tid is None:
                out.records += 1
                out.reject(found.line, [("ticket_id", None, "missing_field",
                                         f"a {'metric set' if kind == 'metrics' else 'audit'}"
                                         " needs the ticket_id it belongs to")])
            elif kind == "metrics":
                side.metrics[tid] = v
                metric_lines[tid] = found.line
            else:
                side.audits.setdefault(tid, []).append(v)
                audit_lines.setdefault(tid, found.line)
            continue
        if kind == "ticket":
            inner = v.get("ticket") if isinstance(v, dict) and "ticket" in v else v
            tickets.append((found.line, inner))
        elif kind == "rating":
            ratings.append((found.line, v))
        else:
            out.records += 1
            out.reject(found.line, [(None, None, "unknown_record",
                                     "not a ticket, metric set, audit, user, group or rating")])
    seen: set[str] = set()
    for line, t in tickets:
        out.records += 1
        if not isinstance(t, dict):
            out.reject(line, [("ticket", None, "not_an_object", "a ticket must be an object")])
            continue
        facts = _json_facts(t, side, mapping)
        if facts.contact_id is not None:
            seen.add(facts.contact_id)
        out.add(facts, mapping, tenant, line)
    for tid, line in {**metric_lines, **audit_lines}.items():
        if tid not in seen:
            out.records += 1
            out.reject(line, [("ticket_id", tid, "orphan_side_record",
                               f"metrics or audits of ticket {tid}, which is not in the file: "
                               "export them with their tickets (include=metric_sets)")])
    for line, r in ratings:
        survey, problems = _rating_survey(r, tenant, line) if isinstance(r, dict) else (
            None, [(None, None, "not_an_object", "a rating must be an object")])
        if problems:
            out.records += 1
            out.reject(line, problems)
        elif survey is not None:
            out.records += 1
            out.surveys.append(survey)
    return out


_OFFSET = re.compile(r"^(.*\d)\s*(Z|UTC|[+-]\d{2}:?\d{2})$", re.IGNORECASE)


def _local_instant(text: str, zone: ZoneInfo, fmt: str | None) -> datetime | None:
    """A CSV time: with an offset as written, else in the account's (tenant's) time zone."""
    s = text.strip()
    if not s:
        return None
    try:
        if fmt is not None:
            t = datetime.strptime(s, fmt)
        else:
            m = _OFFSET.match(s)
            if m:
                off = m.group(2).upper()
                off = "+00:00" if off in ("Z", "UTC") else off
                s = f"{m.group(1)}{off}"
            t = datetime.fromisoformat(s)
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=zone)


def _read_csv(text: str, mapping: TicketMapping, tenant: str, zone: ZoneInfo, where: str
              ) -> _Out:
    out = _Out()
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise SourceError("the CSV file has no header row", where=where,
                          hint="export tickets as CSV from Zendesk (Admin Center > Reports)"
                          ) from None
    except csv.Error as exc:
        raise SourceError(f"the CSV header cannot be read: {exc}", where=where,
                          hint="check the file is a CSV export") from None
    names = [h.strip().lower() for h in header]
    pos = {name: i for i, name in reversed(list(enumerate(names)))}
    missing = [c for c in ("id", "created at") if c not in pos]
    if missing:
        raise SourceError(f"the CSV has no {' / '.join(missing)} column", where=where,
                          hint="a Zendesk ticket CSV export has Id and Created at columns")
    col = {k: pos.get(v) for k, v in _CSV_COLUMNS.items()}
    mapped_cols = {c: pos.get(src.strip().lower()) for c, src in mapping.fields.items()}
    last = reader.line_num
    while True:
        line = last + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            last = reader.line_num
            out.records += 1
            out.reject(line, [(None, None, "bad_csv_row", f"not a valid CSV row: {exc}")])
            continue
        last = reader.line_num
        if not values or (len(values) == 1 and not values[0].strip()):
            continue
        out.records += 1
        if len(values) != len(names):
            out.reject(line, [(None, None, "bad_csv_row",
                               f"{len(values)} fields where the header has {len(names)}")])
            continue
        if any("\udc80" <= ch <= "\udcff" for v in values for ch in v):
            out.reject(line, [(None, None, "bad_encoding", "the row holds bytes that are not "
                               "UTF-8")])
            continue

        def get(key: str, row: list[str] = values) -> str | None:
            i = col[key]
            return row[i].strip() or None if i is not None else None

        problems: list[Problem] = []
        stamps: dict[str, datetime | None] = {}
        for key in ("created", "updated", "solved"):
            raw = get(key)
            stamps[key] = _local_instant(raw, zone, mapping.csv_time_format) if raw else None
            if raw and stamps[key] is None:
                problems.append((_CSV_COLUMNS[key], raw, "bad_timestamp",
                                 f"{_CSV_COLUMNS[key]} must be a date and time "
                                 f"({mapping.csv_time_format or 'ISO 8601'})"))
        numbers: dict[str, float | None] = {}
        for key in ("group_stations", "reply_min", "resolution_min"):
            raw = get(key)
            numbers[key] = _number(raw)
            if raw and numbers[key] is None:
                problems.append((_CSV_COLUMNS[key], raw, "not_a_number",
                                 f"{_CSV_COLUMNS[key]} must be a number"))
        if problems:
            out.reject(line, problems)
            continue
        created = stamps["created"]
        reply = numbers["reply_min"]
        resolution = numbers["resolution_min"]
        solved = stamps["solved"] or _plus(created, None if resolution is None
                                           else resolution * 60)
        facts = _Facts(
            contact_id=get("id"),
            created=_iso(created),
            created_at=created,
            updated_at=stamps["updated"],
            status=get("status"),
            via=_via_type(get("via")),
            via_rel=None,
            queue=get("group"),
            agent=get("assignee"),
            customer=get("requester"),
            first_response_at=_plus(created, None if reply is None else reply * 60),
            solved_at=solved,
            reopens=get("reopens"),
            group_stations=numbers["group_stations"],
            score=_score(get("score")),
            comment=None,
            mapped={c: (values[i].strip() or None) if i is not None else None
                    for c, i in mapped_cols.items()},
        )
        out.add(facts, mapping, tenant, line)
    return out


class HelpdeskTicketsSource:
    """Zendesk-style ticket exports (JSON, NDJSON or CSV) -> contacts and surveys."""

    kind: ClassVar[str] = "tickets"
    description: ClassVar[str] = "Helpdesk tickets: Zendesk JSON/NDJSON API or export, or CSV"
    needs_mapping: ClassVar[bool] = False

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Batch]:
        """Yield the contacts and surveys of one ticket file; see the module docstring."""
        mapping = TicketMapping.load(ctx.mapping)
        raw = read_source_bytes(path)
        try:
            text, replaced = raw.decode("utf-8-sig"), False
        except UnicodeDecodeError:
            text, replaced = raw.decode("utf-8-sig", errors="surrogateescape"), True
        if not text.strip():
            raise SourceError("the file is empty", where=str(path),
                              hint="pass a Zendesk ticket export (JSON or CSV)")
        if text.lstrip()[:1] in ("{", "["):
            if replaced:
                text = raw.decode("utf-8-sig", errors="replace")
            out = _read_json(text, replaced, mapping, ctx.tenant.name)
        else:
            out = _read_csv(text, mapping, ctx.tenant.name, ctx.tenant.zone, str(path))
        order = sorted(range(len(out.contacts)), key=lambda i: out.versions[i])
        contacts = [out.contacts[i] for i in order]  # the newest copy of a ticket is staged last
        tables: dict[str, pd.DataFrame] = {}
        if contacts:
            tables["contacts"] = pd.DataFrame(contacts)
        if out.surveys:
            tables["surveys"] = pd.DataFrame(out.surveys)
        ctx.report(len(raw))
        yield Batch(tables=tables, rejects=record_rejects(out.bad), lines=out.records)
