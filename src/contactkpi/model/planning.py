"""Planning tables: ``costs``, ``forecasts``, ``targets``."""

from __future__ import annotations

from contactkpi.model.columns import Column, Kind, Table, not_before, tenant_column

COST_TYPES = frozenset(
    {"labour", "telephony", "licences", "facilities", "outsourcer_fee", "training", "other"}
)

COSTS = Table(
    name="costs",
    description="Costs per period and type, optionally per queue.",
    primary_key=("tenant", "period_start", "cost_type", "queue"),
    columns=(
        tenant_column(),
        Column("period_start", Kind.DATE, "First day of the period.", required=True),
        Column("period_end", Kind.DATE, "Last day of the period.", required=True),
        Column("cost_type", Kind.CODE, "Kind of cost.", required=True, allowed=COST_TYPES),
        Column("queue", Kind.STRING, "Queue the cost belongs to (missing: whole tenant)."),
        Column("amount", Kind.MONEY, "Amount in the tenant's currency.", required=True),
    ),
    rules=(not_before("period_end", "period_start"),),
)

FORECASTS = Table(
    name="forecasts",
    description="Forecast volume and handle time per queue and interval.",
    primary_key=("tenant", "queue", "interval_start_at", "model", "created_at"),
    columns=(
        tenant_column(),
        Column("queue", Kind.STRING, "Queue.", required=True),
        Column("interval_start_at", Kind.TIMESTAMP, "Start of the interval.", required=True),
        Column("interval_s", Kind.DURATION, "Interval length.", required=True, min=60),
        Column("model", Kind.STRING, "Forecast model or source.", required=True),
        Column("created_at", Kind.TIMESTAMP, "When the forecast was made.", required=True),
        Column("volume", Kind.FLOAT, "Forecast contacts offered.", required=True, min=0),
        Column("aht_s", Kind.DURATION, "Forecast average handle time.", min=0),
    ),
)

TARGETS = Table(
    name="targets",
    description="KPI targets per tenant, optionally per queue, from a date on.",
    primary_key=("tenant", "metric", "queue", "valid_from"),
    columns=(
        tenant_column(),
        Column("metric", Kind.STRING, "KPI name as in the catalog.", required=True),
        Column("queue", Kind.STRING, "Queue (missing: all queues)."),
        Column("valid_from", Kind.DATE, "Applies from this day.", required=True),
        Column("valid_to", Kind.DATE, "Applies until this day (missing: open)."),
        Column("value", Kind.FLOAT, "Target value (ratios as 0..1).", required=True),
        Column("near", Kind.FLOAT, "Tolerance within which the status is 'near'.", min=0),
        Column("params", Kind.STRING, "KPI parameters the target is stated for."),
    ),
    rules=(not_before("valid_to", "valid_from"),),
)
