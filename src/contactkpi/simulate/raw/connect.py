"""Write canonical contacts as Amazon Connect contact records (CTR JSON).

The inverse of ``contactkpi.sources.amazon_connect_ctr``: ``ctr_records(contacts)`` turns each
row into the record Amazon Connect would have written for it, following the AWS contact
record data model, and ``write_ctr`` saves them in one of the four file shapes the source
reads. Used by round-trip tests (frames -> CTR file -> ingest -> the same frames) and demos.

What a CTR can carry is narrower than the canonical model, so rows it cannot express raise
``ValueError`` instead of being written wrong: timestamps and durations in whole seconds
(the data model's own precision), at most one transfer per record (one NextContactId),
channels voice/chat/task/email, and reason/segment/disposition/script only through an
attribute mapping (campaign falls back to ``Campaign.CampaignId``). Outcome ``callback`` is not
written: a record alone cannot tell a callback from a queue transfer (both leave a
NextContactId), and the source reads both as ``overflowed``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pandas as pd

__all__ = ["ctr_records", "write_ctr"]

_ACCOUNT = "123456789012"
_INSTANCE = f"arn:aws:connect:us-east-1:{_ACCOUNT}:instance/11111111-2222-3333-4444-555555555555"
_CHANNELS = {"voice": "VOICE", "chat": "CHAT", "task": "TASK", "email": "EMAIL"}
_INBOUND_END = {  # outcome -> DisconnectReason of an inbound contact
    "answered": "CUSTOMER_DISCONNECT",
    "abandoned": "CUSTOMER_DISCONNECT",
    "timeout": "CONTACT_FLOW_DISCONNECT",
    "overflowed": None,
    None: None,
}
_OUTBOUND_AMD = {"voicemail": "VOICEMAIL_BEEP", "busy": "SIT_TONE_BUSY",
                 "failed": "SIT_TONE_INVALID_NUMBER"}

Shape = Literal["firehose", "jsonl", "array", "single"]


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def _stamp(v: Any, what: str) -> str | None:
    if _missing(v):
        return None
    t = pd.Timestamp(v)
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    if t != t.floor("s"):
        raise ValueError(f"{what} {t} has fractions of a second; a CTR holds whole seconds")
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(v: Any, what: str) -> int | None:
    if _missing(v):
        return None
    f = float(v)
    if f != int(f):
        raise ValueError(f"{what}={f}: a CTR holds whole seconds")
    return int(f)


def _text(v: Any) -> str | None:
    return None if _missing(v) else str(v)


def _record(row: Mapping[str, Any], next_id: str | None,
            attributes: Mapping[str, str]) -> dict[str, Any]:
    cid = str(row["contact_id"])
    channel = _CHANNELS.get(str(row.get("channel")))
    if channel is None:
        raise ValueError(f"{cid}: channel {row.get('channel')!r} has no CTR Channel")
    direction = row.get("direction")
    outcome = _text(row.get("outcome"))
    parent = _text(row.get("parent_contact_id"))
    transfers = _seconds(row.get("transfers"), "transfers") or 0
    if transfers > 1:
        raise ValueError(f"{cid}: a CTR records at most one transfer (NextContactId)")
    if outcome == "overflowed" and transfers != 1:
        raise ValueError(f"{cid}: an overflowed contact leaves by a NextContactId (transfers=1)")
    if outcome == "callback":
        raise ValueError(f"{cid}: a callback cannot be told from a queue transfer in one CTR")
    arrived = _stamp(row.get("arrived_at"), "arrived_at")
    answered_at = row.get("answered_at")
    answered = _stamp(answered_at, "answered_at")
    talk = _seconds(row.get("talk_s"), "talk_s")
    hold = _seconds(row.get("hold_s"), "hold_s")
    acw = _seconds(row.get("acw_s"), "acw_s")
    wait = _seconds(row.get("wait_s"), "wait_s")
    queue = _text(row.get("queue"))
    agent = _text(row.get("agent_id"))
    ended = _stamp(row.get("ended_at"), "ended_at")

    rec: dict[str, Any] = {
        "AWSAccountId": _ACCOUNT,
        "AWSContactTraceRecordFormatVersion": "2017-03-10",
        "Agent": None,
        "AgentConnectionAttempts": 0,
        "AnsweringMachineDetectionStatus": None,
        "Attributes": {},
        "Campaign": {"CampaignId": None},
        "Channel": channel,
        "ConnectedToSystemTimestamp": None,
        "ContactId": cid,
        "CustomerEndpoint": None,
        "DisconnectReason": None,
        "DisconnectTimestamp": ended,
        "InitialContactId": None,
        "InitiationMethod": None,
        "InitiationTimestamp": arrived,
        "InstanceARN": _INSTANCE,
        "LastUpdateTimestamp": ended or arrived,
        "MediaStreams": [{"Type": "AUDIO" if channel == "VOICE" else "CHAT"}],
        "NextContactId": next_id if transfers == 1 else None,
        "PreviousContactId": parent,
        "Queue": None,
        "Recording": None,
        "Recordings": None,
        "SystemEndpoint": {"Address": "+18005550100", "Type": "TELEPHONE_NUMBER"},
        "TransferCompletedTimestamp": None,
        "TransferredToEndpoint": None,
    }
    customer = _text(row.get("customer_id"))
    if customer is not None:
        rec["CustomerEndpoint"] = {"Address": customer, "Type": "TELEPHONE_NUMBER"}
    if queue is not None:
        enqueue = pd.Timestamp(row["arrived_at"])
        rec["Queue"] = {
            "ARN": f"{_INSTANCE}/queue/{queue}",
            "Name": queue,
            "EnqueueTimestamp": arrived,
            "DequeueTimestamp": None if wait is None else _stamp(
                enqueue + pd.Timedelta(seconds=wait), "dequeue"),
            "Duration": wait,
        }
    elif wait not in (None, 0):
        raise ValueError(f"{cid}: wait_s without a queue has no CTR field")

    if direction == "inbound":
        rec["InitiationMethod"] = "TRANSFER" if parent is not None else "INBOUND"
        rec["ConnectedToSystemTimestamp"] = arrived
        if outcome == "answered" and answered is None:
            raise ValueError(f"{cid}: an answered inbound contact needs answered_at")
        if outcome != "answered" and (answered is not None or agent is not None):
            raise ValueError(f"{cid}: only an answered inbound contact has an agent")
        if outcome not in _INBOUND_END:
            raise ValueError(f"{cid}: inbound outcome {outcome!r} has no CTR form")
        if outcome in ("abandoned", "timeout", "overflowed") and queue is None:
            raise ValueError(f"{cid}: {outcome} needs a queue (the CTR's Queue block)")
        if outcome is None and queue is not None:
            raise ValueError(f"{cid}: a queued inbound contact always has an outcome")
        rec["DisconnectReason"] = _INBOUND_END[outcome]
        connected = answered
    elif direction == "outbound":
        if parent is not None:
            raise ValueError(f"{cid}: an outbound CTR with a PreviousContactId reads as TRANSFER")
        rec["InitiationMethod"] = "OUTBOUND"
        if channel != "VOICE":
            raise ValueError(f"{cid}: only outbound voice is written")
        if outcome == "answered":
            if answered is None:
                raise ValueError(f"{cid}: an answered outbound call needs answered_at")
            rec["ConnectedToSystemTimestamp"] = answered
        elif outcome in _OUTBOUND_AMD:
            rec["AnsweringMachineDetectionStatus"] = _OUTBOUND_AMD[outcome]
        elif outcome != "no_answer":
            raise ValueError(f"{cid}: outbound outcome {outcome!r} has no CTR form")
        if outcome != "answered" and answered is not None:
            raise ValueError(f"{cid}: answered_at on an unanswered outbound call")
        if queue is not None:
            raise ValueError(f"{cid}: a queued outbound contact is not written")
        connected = arrived if agent is not None else None  # the agent dials from the start
        answered_at = row.get("arrived_at")
    else:
        raise ValueError(f"{cid}: direction {direction!r}")

    if agent is not None or connected is not None:
        if agent is None or connected is None:
            raise ValueError(f"{cid}: an agent block needs both agent_id and a connect time")
        acw_start = pd.Timestamp(answered_at) + pd.Timedelta(seconds=(talk or 0) + (hold or 0))
        rec["Agent"] = {
            "ARN": f"{_INSTANCE}/agent/{agent}",
            "Username": agent,
            "ConnectedToAgentTimestamp": connected,
            "AgentInteractionDuration": talk,
            "CustomerHoldDuration": hold,
            "NumberOfHolds": _seconds(row.get("holds"), "holds"),
            "LongestHoldDuration": hold,
            "AfterContactWorkDuration": acw,
            "AfterContactWorkStartTimestamp": _stamp(acw_start, "acw start"),
            "AfterContactWorkEndTimestamp": None if acw is None else _stamp(
                acw_start + pd.Timedelta(seconds=acw), "acw end"),
            "HierarchyGroups": None,
            "RoutingProfile": {"ARN": f"{_INSTANCE}/routing-profile/basic",
                               "Name": "Basic Routing Profile"},
        }
        rec["AgentConnectionAttempts"] = 1
        last = rec["Agent"]["AfterContactWorkEndTimestamp"]
        if last is not None and (rec["LastUpdateTimestamp"] is None
                                 or last > rec["LastUpdateTimestamp"]):
            rec["LastUpdateTimestamp"] = last
    elif any(x is not None for x in (talk, hold, acw)):
        raise ValueError(f"{cid}: talk/hold/acw need an agent")

    first_response = _stamp(row.get("first_response_at"), "first_response_at")
    if first_response is not None:
        if channel != "CHAT":
            raise ValueError(f"{cid}: first_response_at is written for chats only")
        rec["ChatMetrics"] = {"ChatContactMetrics": {"AgentFirstResponseTimestamp":
                                                     first_response}}
    for column in ("reason", "campaign", "segment", "disposition", "script"):
        value = _text(row.get(column))
        if value is None:
            continue
        name = attributes.get(column)
        if name is not None and not name.startswith("$."):
            rec["Attributes"][name] = value
        elif column == "campaign" and name is None:
            rec["Campaign"] = {"CampaignId": value}
        else:
            raise ValueError(f"{cid}: {column} needs an attribute name in the mapping")
    return rec


def ctr_records(contacts: pd.DataFrame, attributes: Mapping[str, str] | None = None
                ) -> list[dict[str, Any]]:
    """One contact record per canonical row.

    Args:
        contacts: canonical contacts (any subset of columns; see the module docstring).
        attributes: canonical column -> contact attribute name, as in the
            ``[connect.attributes]`` table of the source's mapping file.
    """
    attributes = dict(attributes or {})
    rows = contacts.to_dict("records")
    children: dict[str, str] = {}
    for row in rows:
        parent = _text(row.get("parent_contact_id"))
        if parent is not None:
            children.setdefault(parent, str(row["contact_id"]))
    return [_record(row, children.get(str(row["contact_id"]), f"{row['contact_id']}-next"),
                    attributes) for row in rows]


def write_ctr(contacts: pd.DataFrame, path: Path, *, shape: Shape = "firehose",
              attributes: Mapping[str, str] | None = None) -> Path:
    """Write ``contacts`` as CTRs in one of the file shapes Amazon Connect exports produce.

    ``firehose`` concatenates records with no separator (Kinesis Data Firehose to S3),
    ``jsonl`` puts one per line, ``array`` writes a JSON array, ``single`` one record.
    """
    records = ctr_records(contacts, attributes)
    if shape == "firehose":
        text = "".join(json.dumps(r, separators=(",", ":")) for r in records)
    elif shape == "jsonl":
        text = "".join(json.dumps(r) + "\n" for r in records)
    elif shape == "array":
        text = json.dumps(records, indent=2)
    elif shape == "single":
        if len(records) != 1:
            raise ValueError(f"shape 'single' holds one record, not {len(records)}")
        text = json.dumps(records[0], indent=2)
    else:
        raise ValueError(f"unknown shape {shape!r}")
    path.write_text(text, encoding="utf-8")
    return path
