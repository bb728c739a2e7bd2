"""Amazon Connect contact records (CTRs) into ``contacts``.

Reference: AWS, *Data model for Amazon Connect contact records* (admin guide page
``ctr-data-model``; quotes below are from it unless another page is named). A file holds one
record (``{...}``), a JSON array of records, JSON Lines, or records concatenated with no
separator as Kinesis Data Firehose writes them to S3; ``contactkpi.sources.json_stream`` reads
all four. A reject names the line on which its record starts, or, when records share a line
(a Firehose file has no newline at all), the record's 1-based position in the file.

Field by field (CTR field -> canonical column, or why it is not used):

============================================  =================================================
CTR field                                     canonical use
============================================  =================================================
ContactId                                     ``contact_id``
Channel VOICE / CHAT / TASK / EMAIL           ``channel`` voice / chat / task / email
InitiationMethod                              ``direction`` (table ``DIRECTIONS`` below);
                                              MONITOR records are a supervisor listening in,
                                              not a customer contact: rejected as
                                              ``ignored_monitor`` so that nothing vanishes
InitiationTimestamp                           ``arrived_at`` when the contact was not queued
                                              ("For INBOUND, this is when the contact arrived.
                                              For OUTBOUND, this is when the agent began
                                              dialing.")
Queue.EnqueueTimestamp                        ``arrived_at`` when queued: inbound contacts
                                              belong to the interval they entered the queue
Queue.Name (ARN if no name)                   ``queue``, when it was queued (has an
                                              EnqueueTimestamp): "If this contact was queued,
                                              this is information about the queue"
Queue.Duration (else Dequeue - Enqueue)       ``wait_s`` ("The difference in time, in whole
                                              seconds, between EnqueueTimestamp and
                                              DequeueTimestamp")
Queue.DequeueTimestamp                        used only when Duration is missing
Agent.Username (ARN if no username)           ``agent_id``
Agent.ConnectedToAgentTimestamp               ``answered_at`` (inbound; outbound chat/task)
ConnectedToSystemTimestamp                    ``answered_at`` of outbound voice ("For OUTBOUND,
                                              CALLBACK, and API, this is when the customer
                                              endpoint answers")
Agent.AgentInteractionDuration                ``talk_s``
Agent.CustomerHoldDuration                    ``hold_s`` (not part of AgentInteractionDuration:
                                              connected + interaction + hold = ACW start)
Agent.NumberOfHolds                           ``holds``
Agent.AfterContactWorkDuration                ``acw_s``
Agent.AfterContactWorkStart/EndTimestamp      not used: their difference is acw_s
Agent.LongestHoldDuration                     not used: no canonical column (a maximum)
Agent.AgentPauseDuration                      not used: task pause, neither talk nor hold
Agent.RoutingProfile, HierarchyGroups, ARN    not used: agent attributes live in ``roster``
AgentConnectionAttempts                       not used: ring-no-answer is an agent-state fact
DisconnectTimestamp                           ``ended_at``
DisconnectReason                              ``outcome`` of queued contacts that no agent took
CustomerEndpoint.Address (else CustomerId)    ``customer_id``
SystemEndpoint                                not used: dialled number has no column
PreviousContactId                             ``parent_contact_id``
NextContactId, TransferCompletedTimestamp     ``transfers`` = 1 when either is set, else 0
InitialContactId, RelatedContactId            not used: the chain is rebuilt from Previous ids
Attributes                                    ``reason``/``campaign``/``segment``/
                                              ``disposition``/``script`` by the mapping file
Campaign.CampaignId                           ``campaign`` unless the mapping names one
AnsweringMachineDetectionStatus               ``outcome`` of outbound calls (voicemail, busy,
                                              failed)
ChatMetrics.ChatContactMetrics
  .AgentFirstResponseTimestamp                ``first_response_at`` (chat)
LastUpdateTimestamp                           orders re-emitted copies of one ContactId
AWSAccountId, InstanceARN, format version,
MediaStreams, Recording(s), References,
ContactDetails, VoiceIdResult, Tags,
ScheduledTimestamp, TransferredToEndpoint     not used: no KPI reads them
============================================  =================================================

Outcome. AWS: "An abandoned contact refers to a contact that was disconnected by the customer
while in queue. This means that they weren't connected to an agent. The contact record for an
abandoned contact has a Queue, and an Enqueue Timestamp ... It won't have a
ConnectedToAgentTimestamp". So an inbound contact is ``answered`` when it has a
ConnectedToAgentTimestamp; a queued one without it is ``overflowed`` when a NextContactId
shows it left the queue for another contact (QUEUE_TRANSFER: "they were transferred into
another queue using a flow block", or a queued callback), ``timeout`` when the flow ended it
(DisconnectReason CONTACT_FLOW_DISCONNECT, or EXPIRED for tasks), and ``abandoned`` otherwise
(CUSTOMER_DISCONNECT, TELECOM_PROBLEM, OTHER, API or none). A contact that never reached a
queue (self-service) has no outcome. Outbound voice is ``answered`` when the customer endpoint
answered (ConnectedToSystemTimestamp), ``voicemail``/``busy``/``failed``/``no_answer`` from the
answering-machine status, ``failed`` on TELECOM_PROBLEM, else ``no_answer``; a CALLBACK that
sat in its queue and never reached an agent is ``timeout``.

Re-emitted records: "Amazon Connect delivers contact records at least once ... Use the
LastUpdateTimestamp property to determine if a copy contains new data than previous copies.
Then use the ContactId property for deduplication." Within a file the copies are ordered by
LastUpdateTimestamp so the newest is staged last and wins the store's keyed merge; across files
the file loaded last wins.

Mapping file (``ReadContext.mapping``, TOML, optional)::

    [connect.attributes]             # canonical column = contact attribute name
    reason = "ContactReason"
    disposition = "WrapUpCode"
    campaign = "$.Campaign.CampaignId"   # "$." = a dotted path in the record instead
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from contactkpi.errors import MappingError, SourceError
from contactkpi.model.validate import LINE, empty_rejects
from contactkpi.sources.base import (
    Batch,
    Problem,
    ReadContext,
    read_options,
    read_source_bytes,
    record_rejects,
)
from contactkpi.sources.json_stream import Found, numbered, read_records

__all__ = ["MAPPABLE", "AmazonConnectCtrSource", "AttributeMapping", "contact_row"]

CHANNELS = {"VOICE": "voice", "CHAT": "chat", "TASK": "task", "EMAIL": "email"}

#: InitiationMethod -> direction. API is outbound for VOICE (StartOutboundVoiceContact) and
#: inbound otherwise (StartChatContact, StartTaskContact); FLOW and AGENT_REPLY create e-mails
#: sent by the center; DISCONNECT continues a customer's contact in a disconnect flow.
DIRECTIONS = {
    "INBOUND": "inbound",
    "TRANSFER": "inbound",
    "QUEUE_TRANSFER": "inbound",
    "WEBRTC_API": "inbound",
    "DISCONNECT": "inbound",
    "OUTBOUND": "outbound",
    "EXTERNAL_OUTBOUND": "outbound",
    "CALLBACK": "outbound",
    "AGENT_REPLY": "outbound",
    "FLOW": "outbound",
    "CAMPAIGN_PREVIEW": "outbound",
}

#: AnsweringMachineDetectionStatus -> outcome (statuses not listed decide nothing).
AMD_OUTCOMES = {
    "ANSWERED": "answered",
    "HUMAN_ANSWERED": "answered",
    "VOICEMAIL_BEEP": "voicemail",
    "VOICEMAIL_NO_BEEP": "voicemail",
    "SIT_TONE_BUSY": "busy",
    "SIT_TONE_INVALID_NUMBER": "failed",
    "SIT_TONE_DETECTED": "failed",
    "FAX_MACHINE_DETECTED": "failed",
    "AMD_UNANSWERED": "no_answer",
}

#: Canonical columns the mapping file may fill from contact attributes.
MAPPABLE = ("reason", "campaign", "segment", "disposition", "script")

_RECORD_KEYS = frozenset({"ContactId", "AWSContactTraceRecordFormatVersion",
                          "InitiationTimestamp", "InitiationMethod"})


@dataclass(frozen=True)
class AttributeMapping:
    """Canonical column -> contact attribute name (or ``$.dotted.path`` in the record)."""

    columns: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None) -> AttributeMapping:
        """Read the ``[connect.attributes]`` table of a mapping TOML file (None: empty)."""
        if path is None:
            return cls()
        section = read_options(path, "connect", frozenset({"attributes"}),
                               '[connect.attributes] reason = "ContactReason"')
        table = section.get("attributes", {})
        if not isinstance(table, dict):
            raise MappingError("[connect.attributes] must be a table", where=str(path),
                               hint='write e.g. [connect.attributes] reason = "ContactReason"')
        for column, source in table.items():
            if column not in MAPPABLE:
                raise MappingError(f"[connect.attributes] {column}: not a mappable column",
                                   where=str(path), hint="map one of: " + ", ".join(MAPPABLE))
            if not isinstance(source, str) or not source.strip():
                raise MappingError(f"[connect.attributes] {column}: must be an attribute name",
                                   where=str(path), hint='e.g. reason = "ContactReason"')
        return cls(dict(table))


class _Record:
    """Typed access to one CTR that notes every structural problem it meets."""

    def __init__(self, rec: Mapping[str, Any]):
        self.rec = rec
        self.problems: list[Problem] = []

    def get(self, path: str) -> Any:
        """The value at a dotted path; None when absent. Intermediate non-objects are noted."""
        node: Any = self.rec
        parts = path.split(".")
        for i, part in enumerate(parts):
            if node is None:
                return None
            if not isinstance(node, dict):
                self.problems.append((".".join(parts[:i]), node, "bad_structure",
                                      f"{'.'.join(parts[:i])} must be a JSON object"))
                return None
            node = node.get(part)
        return node

    def text(self, path: str) -> str | None:
        """A text value (numbers are written as text); anything else is a problem."""
        return self.as_text(path, self.get(path))

    def as_text(self, path: str, v: Any) -> str | None:
        """``v`` as text, noting a problem when it is an object, a list or a boolean."""
        if v is None or isinstance(v, str):
            return v
        if isinstance(v, int | float) and not isinstance(v, bool):
            return str(v)
        self.problems.append((path, v, "bad_value", f"{path} must be a text value"))
        return None

    def stamp(self, path: str) -> tuple[Any, datetime | None]:
        """The raw value (for the model to check) and, if it parses, the instant."""
        v = self.get(path)
        if not isinstance(v, str):
            return v, None
        return v, _parse_instant(v)


def _parse_instant(text: str) -> datetime | None:
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _direction(method: str, channel: str | None) -> str | None:
    if method == "API":
        return "outbound" if channel == "VOICE" else "inbound"
    return DIRECTIONS.get(method)


def contact_row(rec: Any, mapping: AttributeMapping = AttributeMapping()
                ) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The canonical contacts row of one CTR, or the problems that keep it out.

    Values the model can check (timestamps, durations, codes) are passed through raw; the
    store's ``conform`` types and checks them.
    """
    if not isinstance(rec, dict):
        return None, [(None, rec, "not_an_object", "a contact record must be a JSON object")]
    r = _Record(rec)
    method_raw = r.text("InitiationMethod")
    channel_raw = r.text("Channel")
    method = method_raw.strip().upper() if method_raw else None
    channel = channel_raw.strip().upper() if channel_raw else None
    if method == "MONITOR":
        return None, [("InitiationMethod", method_raw, "ignored_monitor",
                       "a MONITOR record is a supervisor listening in, not a customer contact")]
    direction = None
    if method is None:
        r.problems.append(("InitiationMethod", None, "missing_field",
                           "InitiationMethod is required to tell inbound from outbound"))
    else:
        direction = _direction(method, channel)
        if direction is None:
            r.problems.append(("InitiationMethod", method_raw, "unknown_initiation_method",
                               "InitiationMethod must be one of " + ", ".join(
                                   sorted([*DIRECTIONS, "API", "MONITOR"]))))

    queue = r.get("Queue")
    queued = isinstance(queue, dict) and r.get("Queue.EnqueueTimestamp") is not None
    enqueue_raw, enqueue = r.stamp("Queue.EnqueueTimestamp")
    _, dequeue = r.stamp("Queue.DequeueTimestamp")
    initiation_raw, _ = r.stamp("InitiationTimestamp")
    agent_connected_raw, _ = r.stamp("Agent.ConnectedToAgentTimestamp")
    system_raw, _ = r.stamp("ConnectedToSystemTimestamp")
    agent_connected = agent_connected_raw is not None
    reason = r.text("DisconnectReason")
    reason = reason.strip().upper() if reason else None
    next_id = r.text("NextContactId")
    transferred_out = r.get("TransferCompletedTimestamp") is not None

    wait: Any = r.get("Queue.Duration") if queued else None
    if queued and wait is None and enqueue is not None and dequeue is not None:
        try:
            wait = (dequeue - enqueue).total_seconds()
        except OverflowError:  # offsets pushing a year-1 or year-9999 instant out of range
            wait = None

    outcome: str | None = None
    answered_raw: Any = None
    if direction == "inbound":
        if agent_connected:
            outcome, answered_raw = "answered", agent_connected_raw
        elif queued:
            if next_id:
                outcome = "overflowed"
            elif reason in ("CONTACT_FLOW_DISCONNECT", "EXPIRED"):
                outcome = "timeout"
            else:
                outcome = "abandoned"
    elif direction == "outbound":
        if channel == "VOICE":
            amd = r.text("AnsweringMachineDetectionStatus")
            outcome = AMD_OUTCOMES.get(amd.strip().upper()) if amd else None
            if outcome is None:
                if queued and not agent_connected:  # waited for an agent who never came
                    outcome = "abandoned" if system_raw is not None else "timeout"
                elif system_raw is not None:
                    outcome = "answered"
                elif reason == "TELECOM_PROBLEM":
                    outcome = "failed"
                else:
                    outcome = "no_answer"
            if outcome == "answered":
                answered_raw = system_raw
        elif agent_connected:
            outcome, answered_raw = "answered", agent_connected_raw

    attributes = r.get("Attributes")
    if attributes is not None and not isinstance(attributes, dict):
        r.problems.append(("Attributes", attributes, "bad_structure",
                           "Attributes must be a JSON object of names and values"))
    mapped: dict[str, Any] = {}
    for column, source in mapping.columns.items():
        if source.startswith("$."):
            mapped[column] = r.text(source[2:])
        else:
            v = attributes.get(source) if isinstance(attributes, dict) else None
            mapped[column] = r.as_text(f"Attributes.{source}", v)
    if "campaign" not in mapping.columns:
        mapped["campaign"] = r.text("Campaign.CampaignId")

    row = {
        "contact_id": r.text("ContactId"),
        "channel": CHANNELS.get(channel, channel.lower()) if channel else None,
        "direction": direction,
        "queue": (r.text("Queue.Name") or r.text("Queue.ARN")) if queued else None,
        "customer_id": r.text("CustomerEndpoint.Address") or r.text("CustomerId"),
        "agent_id": r.text("Agent.Username") or r.text("Agent.ARN"),
        "parent_contact_id": r.text("PreviousContactId"),
        "arrived_at": enqueue_raw if queued else initiation_raw,
        "answered_at": answered_raw,
        "first_response_at": r.get("ChatMetrics.ChatContactMetrics.AgentFirstResponseTimestamp")
        if channel == "CHAT" else None,
        "ended_at": r.get("DisconnectTimestamp"),
        "wait_s": wait,
        "talk_s": r.get("Agent.AgentInteractionDuration"),
        "hold_s": r.get("Agent.CustomerHoldDuration"),
        "acw_s": r.get("Agent.AfterContactWorkDuration"),
        "holds": r.get("Agent.NumberOfHolds"),
        "transfers": 1 if (next_id or transferred_out) else 0,
        "outcome": outcome,
        **mapped,
    }
    if row["contact_id"] is None and not any(p[0] == "ContactId" for p in r.problems):
        r.problems.append(("ContactId", None, "missing_field", "ContactId is required"))
    for col in ("wait_s", "talk_s", "hold_s", "acw_s", "holds", "arrived_at", "answered_at",
                "first_response_at", "ended_at"):
        v = row[col]
        if isinstance(v, dict | list | bool):
            r.problems.append((col, v, "bad_value", f"{col} must be a number or a timestamp"))
    if r.problems:
        unique = {(p[0], p[2]): p for p in r.problems}  # a bad object is noted once
        return None, list(unique.values())
    return row, []


def _looks_like_ctr(value: Any) -> bool:
    return isinstance(value, dict) and not _RECORD_KEYS.isdisjoint(value)


def _decode(raw: bytes) -> tuple[str, bool]:
    """The file's text and whether bytes had to be replaced (invalid UTF-8)."""
    try:
        return raw.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        return raw.decode("utf-8-sig", errors="replace"), True


_OLDEST = datetime(1, 1, 1, tzinfo=UTC)


def _version(rec: Any) -> datetime:
    v = rec.get("LastUpdateTimestamp") if isinstance(rec, dict) else None
    t = _parse_instant(v) if isinstance(v, str) else None
    return t if t is not None else _OLDEST


class AmazonConnectCtrSource:
    """Amazon Connect contact records (JSON, JSON Lines, array or Firehose) -> contacts."""

    kind: ClassVar[str] = "connect"
    description: ClassVar[str] = "Amazon Connect contact records (CTR JSON / Firehose files)"
    needs_mapping: ClassVar[bool] = False

    def read(self, path: Path, ctx: ReadContext) -> Iterator[Batch]:
        """Yield the contacts of one CTR file; see the module docstring."""
        mapping = AttributeMapping.load(ctx.mapping)
        raw = read_source_bytes(path)
        text, replaced = _decode(raw)
        if not text.strip():
            raise SourceError("the file is empty", where=str(path),
                              hint="pass a file of Amazon Connect contact records")
        rows: list[dict[str, Any]] = []
        versions: list[datetime] = []
        bad: list[tuple[int, Problem]] = []
        records = 0
        for found in numbered(list(read_records(text, _looks_like_ctr))):
            records += 1
            rows_added, problems = self._one(found, mapping, replaced)
            if problems:
                bad.extend((found.line, p) for p in problems)
                continue
            assert rows_added is not None
            rows_added["tenant"] = ctx.tenant.name
            rows_added[LINE] = found.line
            rows.append(rows_added)
            versions.append(_version(found.value))
        order = sorted(range(len(rows)), key=lambda i: versions[i])  # newest copy staged last
        rows = [rows[i] for i in order]
        rejects = record_rejects(bad)
        chunk = max(1, ctx.chunk_rows)
        if not rows:
            ctx.report(len(raw))
            yield Batch(tables={}, rejects=rejects, lines=records)
            return
        for start in range(0, len(rows), chunk):
            part = rows[start:start + chunk]
            first = start == 0
            yield Batch(
                tables={"contacts": pd.DataFrame(part)},
                rejects=rejects if first else empty_rejects(),
                lines=len(part) + (records - len(rows) if first else 0),
            )
            ctx.report(int(len(raw) * min(1.0, (start + len(part)) / len(rows))))

    @staticmethod
    def _one(found: Found, mapping: AttributeMapping, replaced: bool
             ) -> tuple[dict[str, Any] | None, list[Problem]]:
        if found.error is not None:
            return None, [(None, None, "bad_json", found.error)]
        if replaced and "\ufffd" in repr(found.value):
            return None, [(None, None, "bad_encoding",
                           "the record holds bytes that are not UTF-8")]
        return contact_row(found.value, mapping)
