"""The ``surveys`` table: customer satisfaction survey answers, one row per survey."""

from __future__ import annotations

from contactkpi.model.columns import Column, Kind, Table, not_before, tenant_column

SURVEYS = Table(
    name="surveys",
    description="Post-contact surveys: CSAT (1-5), NPS (0-10), resolution answer, comment.",
    primary_key=("tenant", "survey_id"),
    columns=(
        tenant_column(),
        Column("survey_id", Kind.STRING, "Unique id of the survey invitation.", required=True),
        Column("contact_id", Kind.STRING, "Contact the survey is about."),
        Column("customer_id", Kind.STRING, "Customer who was asked."),
        Column("agent_id", Kind.STRING, "Agent of the surveyed contact."),
        Column("sent_at", Kind.TIMESTAMP, "Invitation sent."),
        Column("responded_at", Kind.TIMESTAMP, "Answer received (missing: no response)."),
        Column("csat", Kind.INT, "Satisfaction score, 1 (worst) to 5 (best).", min=1, max=5),
        Column("nps", Kind.INT, "Likelihood to recommend, 0 to 10.", min=0, max=10),
        Column("fcr", Kind.BOOL, "Customer says the issue was resolved on this contact."),
        Column("comment", Kind.STRING, "Free-text answer."),
    ),
    rules=(not_before("responded_at", "sent_at"),),
)
