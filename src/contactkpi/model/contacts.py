"""The ``contacts`` table: one row per contact attempt handled by the center.

A contact is a call, chat, e-mail, ticket or outbound dial attempt. Inbound contacts belong
to the interval in which they entered the queue (``arrived_at``); durations are seconds.
"""

from __future__ import annotations

import pandas as pd

from contactkpi.model.columns import (
    Column,
    Kind,
    RowRule,
    Table,
    not_before,
    required_when,
    tenant_column,
)

CHANNELS = frozenset(
    {"voice", "chat", "email", "ticket", "sms", "social", "messaging", "video", "task", "web"}
)
DIRECTIONS = frozenset({"inbound", "outbound"})
OUTCOMES = frozenset(
    {
        "answered",  # an agent took the contact (inbound) / the callee answered (outbound)
        "abandoned",  # the customer hung up or left while waiting
        "timeout",  # left the queue because a maximum wait was reached
        "overflowed",  # routed out of the queue to another destination
        "callback",  # customer chose a callback instead of waiting
        "voicemail",  # reached / left a voicemail
        "blocked",  # rejected at entry (queue full, closed, no agents)
        "no_answer",  # outbound: nobody picked up
        "busy",  # outbound: line busy
        "failed",  # outbound: invalid number, network failure
        "open",  # written channels: not yet answered or solved
    }
)
TICKET_STATUSES = frozenset({"new", "open", "pending", "hold", "solved", "closed"})


def _is_inbound(df: pd.DataFrame) -> pd.Series:
    return df["direction"] == "inbound"


def _abandoned_has_no_talk(df: pd.DataFrame) -> pd.Series:
    not_abandoned = df["outcome"].isna() | (df["outcome"] != "abandoned")
    return not_abandoned | df["talk_s"].isna() | (df["talk_s"] == 0)


CONTACTS = Table(
    name="contacts",
    description="One row per contact attempt: call, chat, e-mail, ticket or outbound dial.",
    primary_key=("tenant", "contact_id"),
    columns=(
        tenant_column(),
        Column("contact_id", Kind.STRING, "Unique id of the contact in its tenant.", required=True),
        Column("channel", Kind.CODE, "Medium of the contact.", required=True, allowed=CHANNELS),
        Column(
            "direction", Kind.CODE, "inbound or outbound.", required=True, allowed=DIRECTIONS
        ),
        Column("queue", Kind.STRING, "Queue, skill or helpdesk group it was routed to."),
        Column("campaign", Kind.STRING, "Outbound campaign or marketing list."),
        Column("script", Kind.STRING, "Call script or offer used."),
        Column("reason", Kind.STRING, "Contact reason / topic / wrap-up category."),
        Column("segment", Kind.STRING, "Customer segment or prior outcome (free category)."),
        Column("customer_id", Kind.STRING, "Caller number, account or requester id."),
        Column("agent_id", Kind.STRING, "Agent who handled it (last agent if transferred)."),
        Column("parent_contact_id", Kind.STRING, "Contact this one was transferred from."),
        Column("arrived_at", Kind.TIMESTAMP, "Entered the queue / was dialled / was created."),
        Column("answered_at", Kind.TIMESTAMP, "Agent connected (inbound) or callee answered."),
        Column("first_response_at", Kind.TIMESTAMP, "First public agent reply (written)."),
        Column("ended_at", Kind.TIMESTAMP, "Contact ended (hang-up, chat closed)."),
        Column("resolved_at", Kind.TIMESTAMP, "Ticket solved / issue resolved."),
        Column("wait_s", Kind.DURATION, "Seconds in queue before answer or abandon.", min=0),
        Column("talk_s", Kind.DURATION, "Seconds of conversation (excluding hold).", min=0),
        Column("hold_s", Kind.DURATION, "Seconds on hold during the contact.", min=0),
        Column("acw_s", Kind.DURATION, "After-contact (wrap-up) work seconds.", min=0),
        Column("ring_s", Kind.DURATION, "Seconds ringing at the agent before answer.", min=0),
        Column("outcome", Kind.CODE, "How the contact left the queue.", allowed=OUTCOMES),
        Column("disposition", Kind.STRING, "Business result code (sale, appointment, ...)."),
        Column("status", Kind.CODE, "Ticket status.", allowed=TICKET_STATUSES),
        Column("holds", Kind.INT, "Number of times put on hold.", min=0),
        Column("transfers", Kind.INT, "Number of transfers.", min=0),
        Column("reopens", Kind.INT, "Times a solved ticket was reopened.", min=0),
        Column("attempt", Kind.INT, "Outbound: attempt number for this lead.", min=1),
        Column("queue_position", Kind.INT, "Position when it left the queue.", min=0),
        Column("entry_position", Kind.INT, "Position when it entered the queue.", min=0),
        Column("revenue", Kind.MONEY, "Revenue booked on this contact."),
    ),
    rules=(
        not_before("answered_at", "arrived_at"),
        not_before("first_response_at", "arrived_at"),
        not_before("ended_at", "arrived_at"),
        not_before("ended_at", "answered_at"),
        not_before("resolved_at", "arrived_at"),
        required_when("arrived_at", _is_inbound, "\"direction\" = 'inbound'",
                      "direction is inbound"),
        RowRule(
            name="abandoned_without_talk",
            field="talk_s",
            message="an abandoned contact cannot have talk time",
            check=_abandoned_has_no_talk,
            sql="\"outcome\" IS NULL OR \"outcome\" <> 'abandoned' OR \"talk_s\" IS NULL "
                "OR \"talk_s\" = 0",
        ),
    ),
)
