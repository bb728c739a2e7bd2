"""Print the demo report in a terminal with Rich. Renders numbers; computes none.

Values are formatted by the engine's metadata of each column (``format``: percent, duration,
integer, number, points, currency) and coloured by the engine's target status (met, near,
missed). Commands are printed on one line each, never wrapped, so they can be pasted.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from contactkpi.reports.demo import (
    MIN_OFFERED,
    REASONS,
    Block,
    DemoReport,
    TenantReport,
    WorstIntervals,
)

STATUS_STYLE = {"met": "green", "near": "yellow", "missed": "bold red"}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: Column heads where a table is wide; other KPIs show their catalog label.
SHORT = {
    "offered": "Offered",
    "service_level": "SL",
    "asa_s": "ASA",
    "abandon_rate": "Abandon",
    "aht_s": "AHT",
    "csat": "CSAT",
    "nps": "NPS",
    "fcr": "FCR",
}


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def duration(seconds: float) -> str:
    """Seconds for people: ``18.0 s``, ``5m 34s``, ``3.4 h``.

    Examples:
        >>> duration(17.97), duration(334.3), duration(12218.9)
        ('18.0 s', '5m 34s', '3.4 h')
    """
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        whole = int(round(seconds))
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{seconds / 3600:.1f} h"


def shown(value: Any, fmt: str, currency: str = "") -> str:
    """A value as the engine's ``format`` asks (ratios as percent, seconds as durations).

    Examples:
        >>> shown(0.7849, "percent"), shown(40022, "integer"), shown(8.6158, "points")
        ('78.5%', '40,022', '+8.6')
    """
    if _missing(value):
        return "-"
    v = float(value)
    if fmt == "percent":
        return f"{v * 100:.1f}%"
    if fmt == "duration":
        return duration(v)
    if fmt == "integer":
        return f"{int(round(v)):,}"
    if fmt == "points":
        return f"{v:+.1f}"
    if fmt == "currency":
        return f"{currency} {v:,.0f}".strip()
    return f"{v:,.2f}"


def _label(info: dict[str, Any], short: bool = False) -> str:
    label = SHORT.get(info["metric"], str(info["label"])) if short else str(info["label"])
    threshold = info.get("params", {}).get("threshold_s")
    if info["metric"] == "service_level" and threshold is not None:
        label += f" ({threshold} s)"
    return label


def _target(info: dict[str, Any], currency: str) -> str:
    target = info.get("target")
    if not target:
        return ""
    sign = {"higher_is_better": ">= ", "lower_is_better": "<= "}.get(info["direction"], "~ ")
    return sign + shown(target["value"], info["format"], currency)


def _status(value: Any) -> Text:
    if _missing(value):
        return Text("")
    return Text(str(value), style=STATUS_STYLE.get(str(value), ""))


def headline_table(t: TenantReport) -> Table:
    table = Table(
        title=f"{t.name}: headline KPIs against targets", title_justify="left", show_lines=False
    )
    for col, justify in (
        ("area", "left"),
        ("KPI", "left"),
        ("value", "right"),
        ("target", "right"),
        ("status", "left"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for block in t.headline:
        row = block.frame.iloc[0] if len(block.frame) else None
        first = True
        for info in block.result.metrics:
            name = info["name"]
            value = None if row is None else row.get(name)
            status = None if row is None else row.get(f"{name}.status")
            table.add_row(
                block.title if first else "",
                _label(info),
                shown(value, info["format"], t.currency),
                _target(info, t.currency),
                _status(status),
            )
            first = False
        table.add_section()
    return table


def _change(value: Any, base: dict[str, Any], pct: bool) -> Text:
    if _missing(value):
        return Text("")
    v = float(value)
    if pct:
        text = f"{v * 100:+.1f}%"
    elif base["format"] == "percent":
        text = f"{v * 100:+.1f} pts"
    elif base["format"] == "duration":
        text = f"{v:+.0f} s"
    else:
        text = f"{v:+.2f}"
    better = {"higher_is_better": v > 0, "lower_is_better": v < 0}.get(base["direction"])
    worse = {"higher_is_better": v < 0, "lower_is_better": v > 0}.get(base["direction"])
    style = "green" if better else "red" if worse else "dim"
    return Text(text, style=style)


def trend_table(t: TenantReport) -> Table:
    block = t.trend
    table = Table(
        title=f"{t.name}: week over week (inbound voice; change from the week before)",
        title_justify="left",
    )
    table.add_column("week of")
    bases = [
        m for m in block.result.metrics if m["metric"] not in ("period_change", "period_change_pct")
    ]
    for info in bases:
        table.add_column(_label(info, short=True), justify="right")
    for _, row in block.frame.iterrows():
        cells: list[Text | str] = [f"{row['period_start']:%a %d %b}"]
        for info in bases:
            name = info["name"]
            change_col = f"{name}.change"
            change = block.info(change_col)
            cell = Text(
                shown(row[name], info["format"], t.currency),
                style=STATUS_STYLE.get(str(row.get(f"{name}.status")), ""),
            )
            cell.append(" ")
            cell.append_text(
                _change(row.get(change_col), info, change["metric"] == "period_change_pct")
            )
            cells.append(cell)
        table.add_row(*cells)
    return table


def _reason(row: pd.Series) -> str:
    reason = row["miss_reason"]
    if _missing(reason):
        return ""
    agents = int(row["agents"])
    need, need_usual = row["agents_required"], row["agents_required_usual"]
    usual = float(row["usual_offered"])
    words = REASONS.get(str(reason), str(reason))
    if reason == "understaffed":
        return f"{words}: {agents} vs {need_usual} needed for the usual {usual:.0f}"
    if reason == "volume_above_forecast":
        return f"{words}: {int(row['offered'])} vs usual {usual:.0f} ({agents} agents covered that)"
    return f"{words}: {agents} agents >= {need} needed; drill into the contacts"


def worst_table(t: TenantReport) -> Table | Text:
    w: WorstIntervals = t.worst
    if w.rows.empty:
        return Text(
            f"{t.name}: no half-hour with {MIN_OFFERED}+ contacts missed the service-level target.",
            style="green",
        )
    table = Table(
        title=f"{t.name}: worst half-hours (service level missed; target "
        f"{w.target.value * 100:g}% in {w.threshold_s:g} s)",
        title_justify="left",
    )
    for col, justify in (
        ("when (local)", "left"),
        ("offered", "right"),
        ("usual", "right"),
        ("SL", "right"),
        ("AHT", "right"),
        ("agents", "right"),
        ("needed", "right"),
        ("why", "left"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for _, row in w.rows.iterrows():
        table.add_row(
            f"{row['period_start']:%a %d %b %H:%M}",
            f"{int(row['offered']):,}",
            f"{float(row['usual_offered']):.0f}",
            Text(shown(row[w.service_level], "percent"), style="bold red"),
            shown(row["aht_s"], "duration"),
            f"{int(row['agents'])}",
            "" if _missing(row["agents_required"]) else f"{int(row['agents_required'])}",
            _reason(row),
        )
    return table


def heatmap_table(t: TenantReport) -> Table:
    block: Block = t.heatmap
    sl = t.service_level
    frame = block.frame
    table = Table(
        title=f"{t.name}: peak heatmap by local hour x weekday (offered, service level)",
        title_justify="left",
    )
    table.add_column("hour", justify="right")
    for day in WEEKDAYS:
        table.add_column(day, justify="right")
    cells = {(int(r["weekday"]), int(r["hour_of_day"])): r for _, r in frame.iterrows()}
    for hour in sorted({h for _, h in cells}):
        out: list[Text | str] = [f"{hour:02d}"]
        for day in range(7):
            r = cells.get((day, hour))
            if r is None:
                out.append("")
                continue
            cell = Text(f"{int(r['offered']):,} ")
            cell.append(
                f"{shown(r[sl], 'percent'):>6}",
                style=STATUS_STYLE.get(str(r.get(f"{sl}.status")), ""),
            )
            out.append(cell)
        table.add_row(*out)
    return table


def agents_table(t: TenantReport) -> Table:
    block = t.agents
    table = Table(
        title=f"{t.name}: top agents (agent_rank over AHT, CSAT, FCR)", title_justify="left"
    )
    columns = [
        ("agent_rank", "rank"),
        ("agent", "agent"),
        ("agent_score", "score"),
        ("answered", "answered"),
        ("aht_s", "AHT"),
        ("csat", "CSAT"),
        ("fcr", "FCR"),
    ]
    for _, title in columns:
        table.add_column(title, justify="left" if title == "agent" else "right")
    for _, row in t.agent_rows.iterrows():
        cells: list[Text | str] = []
        for col, _ in columns:
            if col == "agent":
                cells.append(str(row[col]))
                continue
            info = block.info(col)
            cells.append(
                Text(
                    shown(row[col], info["format"]),
                    style=STATUS_STYLE.get(str(row.get(f"{col}.status")), ""),
                )
            )
        table.add_row(*cells)
    return table


def _header(report: DemoReport) -> Panel:
    m = report.meta
    seconds = m.get("seconds", {})
    lines = [
        Text.assemble(
            ("Simulated ", ""),
            (f"{m.get('days')} days", "bold"),
            (f" from {m.get('start')} (seed {m.get('seed')}): ", ""),
            (", ".join(f"{n}" for n in m.get("tenants", [])), "bold"),
            (
                f"; {m.get('contacts', 0):,} contacts, {m.get('agent_states', 0):,} agent states.",
                "",
            ),
        ),
        Text(
            f"warehouse  {m.get('warehouse')}"
            + ("  (the previous demo warehouse was removed first)" if m.get("replaced") else "")
        ),
        Text(f"config     {m.get('config')}"),
        Text(
            f"loaded {m.get('rows_loaded', 0):,} rows through the validated load path "
            f"({m.get('rows_rejected', 0)} rejected) in {seconds.get('load', 0):.1f} s; "
            f"simulated in {seconds.get('simulate', 0):.1f} s"
        ),
    ]
    return Panel(
        Group(*lines), title="contactkpi demo: a contact-center outsourcer", title_align="left"
    )


def render(report: DemoReport, console: Console) -> None:
    """Print every section of ``report`` on ``console``."""
    console.print(_header(report))
    for t in report.tenants:
        console.print()
        console.rule(f"[bold]{t.name}[/]  ({t.timezone}; times are local)")
        console.print(headline_table(t))
        console.print(trend_table(t))
        console.print(worst_table(t))
        console.print(heatmap_table(t))
        console.print(agents_table(t))
    console.print()
    console.rule("[bold]What to run next[/]")
    for step in report.next_steps:
        console.print(Text(f"# {step.what}", style="dim"))
        console.print(
            step.command, soft_wrap=True, markup=False, highlight=False, style="bold cyan"
        )
    if report.notes:
        console.print()
        for note in report.notes:
            console.print(Text(f"note: {note}", style="dim"))
