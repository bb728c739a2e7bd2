"""Workforce tables: ``roster``, ``schedules``, ``absences``, ``trainings``.

These feed headcount, attrition, absenteeism, training ratio and agents per client.
"""

from __future__ import annotations

from contactkpi.model.columns import Column, Kind, Table, not_before, tenant_column

EMPLOYMENT = frozenset({"full_time", "part_time", "contractor", "outsourced"})
ACTIVITIES = frozenset({"work", "break", "lunch", "training", "meeting", "coaching", "off"})
ABSENCE_KINDS = frozenset({"sick", "vacation", "unexcused", "personal", "parental", "other"})
TRAINING_CATEGORIES = frozenset({"system", "skills", "product", "compliance", "onboarding"})

ROSTER = Table(
    name="roster",
    description="Agents: team, site, hire and leave dates, FTE and cost.",
    primary_key=("tenant", "agent_id"),
    columns=(
        tenant_column(),
        Column("agent_id", Kind.STRING, "Agent id as written by the ACD.", required=True),
        Column("name", Kind.STRING, "Display name."),
        Column("team", Kind.STRING, "Team."),
        Column("supervisor", Kind.STRING, "Team leader."),
        Column("site", Kind.STRING, "Site or outsourcer location."),
        Column("skills", Kind.STRING, "Queues the agent can take, comma-separated."),
        Column("employment", Kind.CODE, "Contract type.", allowed=EMPLOYMENT),
        Column("fte", Kind.FLOAT, "Full-time equivalent, 0..1.", min=0, max=1),
        Column("hourly_cost", Kind.MONEY, "Loaded cost per paid hour.", min=0),
        Column("hired_on", Kind.DATE, "First day."),
        Column("left_on", Kind.DATE, "Last day (missing: still employed)."),
        Column("leave_reason", Kind.STRING, "Why the agent left."),
    ),
    rules=(not_before("left_on", "hired_on"),),
)

SCHEDULES = Table(
    name="schedules",
    description="Planned shifts and activities per agent.",
    primary_key=("tenant", "agent_id", "starts_at", "activity"),
    columns=(
        tenant_column(),
        Column("agent_id", Kind.STRING, "Agent.", required=True),
        Column("activity", Kind.CODE, "Planned activity.", required=True, allowed=ACTIVITIES),
        Column("queue", Kind.STRING, "Queue planned for, when known."),
        Column("starts_at", Kind.TIMESTAMP, "Start.", required=True),
        Column("ends_at", Kind.TIMESTAMP, "End.", required=True),
    ),
    rules=(not_before("ends_at", "starts_at"),),
)

ABSENCES = Table(
    name="absences",
    description="Scheduled hours an agent did not work, by day and kind.",
    primary_key=("tenant", "agent_id", "date", "kind"),
    columns=(
        tenant_column(),
        Column("agent_id", Kind.STRING, "Agent.", required=True),
        Column("date", Kind.DATE, "Day of the absence.", required=True),
        Column("kind", Kind.CODE, "Kind of absence.", required=True, allowed=ABSENCE_KINDS),
        Column("hours", Kind.FLOAT, "Scheduled hours missed.", required=True, min=0, max=24),
        Column("planned", Kind.BOOL, "Known in advance (vacation) or not (sick)."),
    ),
)

TRAININGS = Table(
    name="trainings",
    description="Training sessions attended, by category (system vs skills, ...).",
    primary_key=("tenant", "agent_id", "started_at", "course"),
    columns=(
        tenant_column(),
        Column("agent_id", Kind.STRING, "Agent.", required=True),
        Column("course", Kind.STRING, "Course or session name.", required=True),
        Column(
            "category", Kind.CODE, "Training category.", required=True,
            allowed=TRAINING_CATEGORIES,
        ),
        Column("started_at", Kind.TIMESTAMP, "Start.", required=True),
        Column("hours", Kind.FLOAT, "Hours of training.", required=True, min=0, max=24),
    ),
)
