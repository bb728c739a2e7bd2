"""The numbers of the ``contactkpi demo`` report, gathered from the KPI engine and wfm.

Every KPI comes from a :class:`~contactkpi.metrics.MetricQuery` run by
:func:`contactkpi.metrics.run`, the call ``contactkpi kpi`` makes; each block keeps the
``contactkpi kpi`` words that return the same rows, so a user can rerun, cut and drill any
number. Agents needed in the worst intervals come from
:func:`contactkpi.wfm.staffing.staffing_plan` (Erlang C). This module arranges results: it
computes no KPI itself.

Sections per tenant:

- headline KPIs against targets (met / near / missed come from the engine);
- the week-over-week trend (the engine's ``period_change`` / ``period_change_pct``);
- the worst half-hours where the service level missed, with the reason staffing_plan gives:
  too few agents (``understaffed``: fewer agents than Erlang C needs for the usual volume),
  volume above normal (``volume_above_forecast``: staffing covered the usual volume, more came),
  or neither (``not_explained``);
- the hour x weekday heatmap of volume and service level;
- the agent leaderboard (``agent_rank``).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pandas as pd

from contactkpi.config import Settings, TargetSetting
from contactkpi.metrics import MetricQuery, MetricRequest, QueryResult, run
from contactkpi.metrics.loader import default_catalog
from contactkpi.metrics.query import records
from contactkpi.store import Warehouse
from contactkpi.wfm.staffing import StaffingTarget, staffing_plan

#: Inbound phone contacts: the service-level view of the report.
VOICE = "channel = 'voice' AND direction = 'inbound'"
#: Inbound contacts of every channel (the leaderboard).
INBOUND = "direction = 'inbound'"
INTERVAL_GRAIN = "interval_30m"
INTERVAL_S = 1800
#: Intervals with fewer offered contacts are not listed among the worst (one late call in a
#: quiet half-hour is not a staffing problem).
MIN_OFFERED = 10
WORST_SHOWN = 5
AGENTS_SHOWN = 10

#: Headline KPIs by area (inbound voice also shows offered, answered and the service level).
VOICE_KPIS = ("asa_s", "abandon_rate", "aht_s")
CUSTOMER_KPIS = ("fcr", "csat", "nps")
AGENT_KPIS = ("occupancy", "utilization", "contacts_per_logged_in_hour")
HELPDESK_KPIS = (
    "ticket_volume",
    "first_response_time_s",
    "resolution_time_s",
    "backlog",
    "reopen_rate",
)
OUTBOUND_KPIS = ("attempts", "contact_rate", "conversion_rate", "sales", "revenue")

#: Why the service level missed, as staffing_plan names it, in words.
REASONS = {
    "understaffed": "too few agents",
    "volume_above_forecast": "volume above normal",
    "not_explained": "neither volume nor agents",
}

_SAFE_WORD = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")


def shell_word(word: str) -> str:
    """One shell word a user can paste: bare when safe, else in double or single quotes.

    Examples:
        >>> shell_word("kpi"), shell_word("channel = 'voice'"), shell_word("a b")
        ('kpi', '"channel = \\'voice\\'"', '"a b"')
    """
    if _SAFE_WORD.fullmatch(word):  # not match + $: '$' matches before a final newline
        return word
    if not re.search(r'["$`\\!]', word):
        return f'"{word}"'
    return shlex.quote(word)


def shell_line(argv: Sequence[str]) -> str:
    """A command line to copy and paste (``shlex.split`` gives ``argv`` back)."""
    return " ".join(shell_word(w) for w in argv)


def kpi_argv(prefix: Sequence[str], query: MetricQuery) -> list[str]:
    """The ``contactkpi kpi`` words that run ``query`` (text requests, day bounds only)."""
    if query.params or query.variants:
        raise ValueError("write params and variants into the request texts")
    argv = [*prefix, "kpi"]
    for m in query.metrics:
        if isinstance(m, MetricRequest):
            raise ValueError(f"{m.column}: only text requests have a command form")
        argv.append(m)
    if query.by:
        argv += ["--by", ",".join(query.by)]
    if query.grain != "all":
        argv += ["--grain", query.grain]
    if query.start is not None:
        argv += ["--from", str(query.start)]
    if query.end is not None:  # the CLI's --to is the last day included
        argv += ["--to", (pd.Timestamp(query.end) - timedelta(days=1)).date().isoformat()]
    if query.where:
        argv += ["--where", query.where]
    if query.tenant:
        argv += ["--tenant", query.tenant]
    return argv


@dataclass(frozen=True)
class DemoTenant:
    """A tenant of the demo and which of its sections apply."""

    name: str
    has_tickets: bool = False
    has_outbound: bool = False


@dataclass
class Block:
    """One engine query: its title, its result and the command that gives the same rows."""

    title: str
    result: QueryResult
    command: list[str]

    @property
    def frame(self) -> pd.DataFrame:
        return self.result.frame

    def info(self, column: str) -> dict[str, Any]:
        """The engine's metadata of a result column (label, unit, format, target)."""
        for m in self.result.metrics:
            if m["name"] == column:
                return m
        raise KeyError(column)

    def to_dict(self, rows: pd.DataFrame | None = None) -> dict[str, Any]:
        return {
            "title": self.title,
            "command": shell_line(self.command),
            "argv": list(self.command),
            "metrics": self.result.metrics,
            "rows": records(self.result.frame if rows is None else rows),
        }


@dataclass
class WorstIntervals:
    """Half-hours where the service level missed, with the Erlang C view of each."""

    block: Block  # the per-interval query the rows come from
    rows: pd.DataFrame
    service_level: str  # the request text of the service level
    target: TargetSetting
    threshold_s: float

    def to_dict(self) -> dict[str, Any]:
        out = self.block.to_dict(self.rows)
        out["title"] = "Worst intervals"
        out["target"] = {
            "service_level": self.target.value,
            "threshold_s": self.threshold_s,
            "near": self.target.near,
        }
        return out


@dataclass
class TenantReport:
    """Every section of one tenant."""

    name: str
    timezone: str
    currency: str
    service_level: str
    headline: list[Block]
    trend: Block
    worst: WorstIntervals
    heatmap: Block
    agents: Block
    agent_rows: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "timezone": self.timezone,
            "currency": self.currency,
            "service_level": self.service_level,
            "headline": [b.to_dict() for b in self.headline],
            "trend": self.trend.to_dict(),
            "worst_intervals": self.worst.to_dict(),
            "heatmap": self.heatmap.to_dict(),
            "top_agents": self.agents.to_dict(self.agent_rows),
        }


@dataclass(frozen=True)
class NextStep:
    """A command to run next and what it shows."""

    what: str
    argv: tuple[str, ...]

    @property
    def command(self) -> str:
        return shell_line(self.argv)


@dataclass
class DemoReport:
    """The whole demo report: run facts, one part per tenant, next steps and notes."""

    meta: dict[str, Any]
    tenants: list[TenantReport]
    next_steps: list[NextStep]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "demo": self.meta,
            "tenants": [t.to_dict() for t in self.tenants],
            "next": [
                {"what": s.what, "command": s.command, "argv": list(s.argv)}
                for s in self.next_steps
            ],
            "notes": list(self.notes),
        }


class _Engine:
    """Runs queries on one warehouse with one settings object; remembers the command form."""

    def __init__(self, wh: Warehouse, settings: Settings, prefix: Sequence[str]):
        self.wh = wh
        self.settings = settings
        self.prefix = list(prefix)

    def block(self, title: str, query: MetricQuery, command: MetricQuery | None = None) -> Block:
        result = run(self.wh, query, settings=self.settings)
        return Block(title, result, kpi_argv(self.prefix, command or query))


def service_level_target(settings: Settings, tenant: str) -> tuple[str, TargetSetting, float]:
    """The service-level request matching the tenant's target, the target and its threshold.

    The request carries the target's ``threshold_s`` so the engine judges it against that
    target (``service_level:threshold_s=30`` for an 80/30 target).
    """
    target = settings.targets_for(tenant).get("service_level")
    if target is None:
        spec = default_catalog().metrics["service_level"].target
        assert spec is not None  # the catalog ships a service-level target
        target = TargetSetting(spec.value, spec.near, dict(spec.params))
    default = default_catalog().metrics["service_level"].params["threshold_s"].default
    threshold = float(target.params.get("threshold_s", default))
    text = f"service_level:threshold_s={threshold:g}"
    return text, target, threshold


def _headline(eng: _Engine, t: DemoTenant, sl: str) -> list[Block]:
    groups: list[tuple[str, tuple[str, ...], str | None]] = [
        ("Inbound voice", ("offered", "answered", sl, *VOICE_KPIS), VOICE),
        ("Customers", CUSTOMER_KPIS, None),
        ("Agents", AGENT_KPIS, None),
    ]
    if t.has_tickets:
        groups.append(("Helpdesk", HELPDESK_KPIS, None))
    if t.has_outbound:
        groups.append(("Outbound", OUTBOUND_KPIS, None))
    return [
        eng.block(title, MetricQuery(metrics, where=where, tenant=t.name))
        for title, metrics, where in groups
    ]


def _trend(eng: _Engine, t: DemoTenant, sl: str) -> Block:
    values = ("offered", sl, "asa_s", "abandon_rate", "aht_s", "csat")
    metrics: list[str | MetricRequest] = []
    for v in values:
        metrics.append(v)
        kind = "period_change_pct" if v == "offered" else "period_change"
        metrics.append(MetricRequest(kind, params={"of": v}, column=f"{v}.change"))
    query = MetricQuery(tuple(metrics), grain="week", where=VOICE, tenant=t.name)
    command = MetricQuery(values, grain="week", where=VOICE, tenant=t.name)
    return eng.block("Week over week (inbound voice)", query, command)


def _worst(
    eng: _Engine,
    t: DemoTenant,
    sl: str,
    target: TargetSetting,
    threshold: float,
    overall_aht_s: float,
) -> WorstIntervals:
    query = MetricQuery(
        ("offered", sl, "aht_s", "agents_assigned"),
        grain=INTERVAL_GRAIN,
        where=VOICE,
        tenant=t.name,
    )
    block = eng.block("Intervals (inbound voice)", query)
    f = block.frame
    status_col = f"{sl}.status"
    columns = [
        "period_start",
        "offered",
        "usual_offered",
        sl,
        "aht_s",
        "agents",
        "agents_required",
        "agents_required_usual",
        "miss_reason",
    ]
    if f.empty:
        return WorstIntervals(block, pd.DataFrame(columns=columns), sl, target, threshold)
    local = f["period_start"]
    # "Usual" volume: the median of the same weekday and half-hour across the weeks loaded.
    usual = f.groupby([local.dt.weekday, local.dt.strftime("%H:%M")])["offered"].transform("median")
    aht = f["aht_s"].astype("float64").fillna(overall_aht_s)
    plan_in = pd.DataFrame(
        {
            "volume": f["offered"].astype("float64"),
            "aht_s": aht,
            "interval_s": float(INTERVAL_S),
            "staffed": f["agents_assigned"].astype("float64"),
            "forecast_volume": usual.astype("float64"),
            "service_level": f[sl].astype("float64"),
        }
    )
    known = plan_in["aht_s"].notna() | (plan_in["volume"] == 0)
    plan = staffing_plan(
        plan_in[known].reset_index(drop=True),
        StaffingTarget(service_level=target.value, threshold_s=threshold),
    )
    plan.index = plan_in.index[known]
    rows = pd.DataFrame(
        {
            "period_start": local,
            "offered": f["offered"],
            "usual_offered": usual,
            sl: f[sl],
            f"{sl}.target": f.get(f"{sl}.target"),
            status_col: f.get(status_col),
            "aht_s": f["aht_s"],
            "agents": f["agents_assigned"],
            "agents_required": plan["agents_required"].reindex(f.index),
            "agents_required_usual": plan["agents_required_forecast"].reindex(f.index),
            "miss_reason": plan["miss_reason"].reindex(f.index),
        }
    )
    missed = rows[(rows[status_col] == "missed") & (rows["offered"] >= MIN_OFFERED)]
    worst = missed.sort_values([sl, "offered"], ascending=[True, False], kind="stable")
    return WorstIntervals(
        block, worst.head(WORST_SHOWN).reset_index(drop=True), sl, target, threshold
    )


def _heatmap(eng: _Engine, t: DemoTenant, sl: str) -> Block:
    query = MetricQuery(("offered", sl), by=("weekday", "hour_of_day"), where=VOICE, tenant=t.name)
    return eng.block("Peak heatmap (inbound voice)", query)


def _agents(eng: _Engine, t: DemoTenant) -> tuple[Block, pd.DataFrame]:
    query = MetricQuery(
        ("agent_rank", "agent_score", "answered", "aht_s", "csat", "fcr"),
        by=("agent",),
        where=INBOUND,
        tenant=t.name,
    )
    block = eng.block("Top agents (leaderboard)", query)
    ranked = block.frame.dropna(subset=["agent_rank"]).sort_values(
        ["agent_rank", "agent"], kind="stable"
    )
    return block, ranked.head(AGENTS_SHOWN).reset_index(drop=True)


def _tenant_report(eng: _Engine, t: DemoTenant) -> TenantReport:
    tenant = eng.settings.tenant(t.name)
    sl, target, threshold = service_level_target(eng.settings, t.name)
    headline = _headline(eng, t, sl)
    voice = headline[0].frame
    overall_aht = float(voice["aht_s"].iloc[0]) if len(voice) else float("nan")
    agents, agent_rows = _agents(eng, t)
    return TenantReport(
        name=t.name,
        timezone=tenant.timezone,
        currency=tenant.currency,
        service_level=sl,
        headline=headline,
        trend=_trend(eng, t, sl),
        worst=_worst(eng, t, sl, target, threshold, overall_aht),
        heatmap=_heatmap(eng, t, sl),
        agents=agents,
        agent_rows=agent_rows,
    )


def _next_steps(reports: list[TenantReport], config: str, warehouse: str) -> list[NextStep]:
    base = ("contactkpi", "--config", config)
    first = reports[0]
    sl = first.service_level
    steps = [
        NextStep(
            f"{first.name}: the headline KPIs by queue",
            tuple(
                kpi_argv(
                    base,
                    MetricQuery(
                        ("offered", sl, "asa_s", "abandon_rate", "aht_s"),
                        by=("queue",),
                        where=VOICE,
                        tenant=first.name,
                    ),
                )
            ),
        ),
        NextStep(
            f"{first.name}: service level per day and queue",
            tuple(
                kpi_argv(
                    base,
                    MetricQuery(
                        ("offered", sl, "abandon_rate"),
                        by=("queue",),
                        grain="day",
                        where=VOICE,
                        tenant=first.name,
                    ),
                )
            ),
        ),
    ]
    worst = next((r for r in reports if len(r.worst.rows)), None)
    if worst is not None:
        row = worst.worst.rows.iloc[0]
        start: pd.Timestamp = row["period_start"]
        day = start.date()
        wsl = worst.service_level
        steps.append(
            NextStep(
                f"{worst.name}: the worst half-hour ({start:%a %d %b %H:%M}) by queue",
                tuple(
                    kpi_argv(
                        base,
                        MetricQuery(
                            ("offered", wsl, "aht_s", "agents_assigned"),
                            by=("queue",),
                            grain=INTERVAL_GRAIN,
                            start=day.isoformat(),
                            end=(day + timedelta(days=1)).isoformat(),
                            where=VOICE,
                            tenant=worst.name,
                        ),
                    )
                ),
            )
        )
        steps.append(
            NextStep(
                f"{worst.name}: the contacts behind it (drill-down)",
                (
                    *kpi_argv(
                        base,
                        MetricQuery((wsl,), grain=INTERVAL_GRAIN, where=VOICE, tenant=worst.name),
                    ),
                    "--drill",
                    f"period_start={start.isoformat()}",
                    "--limit",
                    "20",
                ),
            )
        )
        aht = row["aht_s"]
        if pd.notna(aht) and aht > 0:
            target = worst.worst.target
            steps.append(
                NextStep(
                    f"{worst.name}: agents Erlang C needs for that half-hour's load",
                    (
                        "contactkpi",
                        "staff",
                        "--volume",
                        str(int(row["offered"])),
                        "--aht",
                        f"{float(aht):.0f}",
                        "--interval",
                        "30m",
                        "--target",
                        f"{target.value * 100:g}/{worst.worst.threshold_s:g}",
                    ),
                )
            )
    steps += [
        NextStep(f"{first.name}: the hour x weekday heatmap", tuple(first.heatmap.command)),
        NextStep(f"{first.name}: the full leaderboard", tuple(first.agents.command)),
    ]
    for other in reports[1:]:
        steps.append(
            NextStep(
                f"{other.name}: its headline KPIs by week",
                tuple(
                    kpi_argv(
                        base,
                        MetricQuery(
                            ("offered", other.service_level, "asa_s", "abandon_rate"),
                            grain="week",
                            where=VOICE,
                            tenant=other.name,
                        ),
                    )
                ),
            )
        )
    steps += [
        NextStep(
            "both clients side by side (the warehouse alone: all rows, UTC)",
            (
                "contactkpi",
                "--warehouse",
                warehouse,
                "kpi",
                "offered",
                "answered",
                "abandon_rate",
                "aht_s",
                "--by",
                "tenant,channel",
            ),
        ),
        NextStep(
            "what service level means here, with its SQL",
            ("contactkpi", "metrics", "explain", sl, "--sql"),
        ),
        NextStep("every KPI in the catalog", ("contactkpi", "metrics", "list")),
    ]
    return steps


def build_demo_report(
    wh: Warehouse,
    settings: Settings,
    tenants: Sequence[DemoTenant],
    *,
    config: str,
    warehouse: str,
    meta: dict[str, Any] | None = None,
) -> DemoReport:
    """Query every section of the demo report.

    Args:
        wh: the loaded warehouse.
        settings: the settings of the demo's ``contactkpi.toml`` (tenants, targets).
        tenants: the tenants to report, in order.
        config: the config path as the user should type it in the suggested commands.
        warehouse: the warehouse path as the user should type it.
        meta: facts about the run (seed, days, rows, timings) carried into the report.

    Returns:
        The report; ``to_dict()`` gives its JSON form.
    """
    eng = _Engine(wh, settings, ("contactkpi", "--config", config))
    reports = [_tenant_report(eng, t) for t in tenants]
    notes = [
        "Agents in an interval = agents_assigned: distinct agents who answered an inbound "
        "voice contact of the tenant in it (the simulated agent sessions carry no queue, so "
        "the time-weighted staffed_agents KPI cannot isolate the voice queues).",
        "Usual volume = the median of the offered contacts of the same weekday and half-hour "
        "across the weeks loaded; agents needed = Erlang C (contactkpi.wfm) for the "
        "tenant's service-level target, at the interval's own handle time.",
    ]
    return DemoReport(
        meta=dict(meta or {}),
        tenants=reports,
        next_steps=_next_steps(reports, config, warehouse),
        notes=notes,
    )
