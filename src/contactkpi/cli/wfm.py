"""Workforce-planning commands.

- ``contactkpi staff``: agents for one interval's load (no warehouse);
- ``contactkpi forecast``: forecast contacts and AHT per queue and interval from the warehouse
  history (``--save`` stores it in ``forecasts``); ``contactkpi forecast accuracy``: how a
  stored forecast compares with the contacts that came;
- ``contactkpi plan``: agents required, staffed, gap, achievable SL and why SL missed, per
  queue and interval of a date range.

Every number comes from :mod:`contactkpi.wfm` (which reads the warehouse through the KPI
engine); this module parses options and prints.
"""

from __future__ import annotations

import json
import math
import re
import sys
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd
import typer

from contactkpi.cli.context import STATE, open_warehouse
from contactkpi.cli.output import Format, records, show_frame, show_pairs, stderr
from contactkpi.errors import QueryError

if TYPE_CHECKING:
    from contactkpi.store import Warehouse
    from contactkpi.wfm.history import Scope

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
_TARGET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%?)\s*/\s*(\d+(?:\.\d+)?)\s*s?\s*$")


def parse_interval(text: str, where: str = "--interval") -> int:
    """``15m``, ``30m``, ``60m``, ``1h``, ``900s`` -> seconds (whole, 1 s to 24 h).

    Examples:
        >>> parse_interval("30m"), parse_interval("1h"), parse_interval("900s")
        (1800, 3600, 900)
    """
    m = _DURATION.match(text)
    hint = "write a length with its unit: 15m, 30m, 60m, 1h or 900s"
    if not m:
        raise QueryError(f"cannot read interval {text!r}", where=where, hint=hint)
    seconds = float(m.group(1)) * _UNIT_S[m.group(2).lower()]
    if seconds <= 0 or seconds > 86400 or seconds != int(seconds):
        raise QueryError(f"interval {text!r} is not a whole number of seconds between 1 s "
                         "and 24 h", where=where, hint=hint)
    return int(seconds)


def parse_target(text: str) -> tuple[float, float]:
    """``80/20`` (or ``80%/20s``, ``0.8/20``) -> (0.8, 20.0).

    Examples:
        >>> parse_target("80/20"), parse_target("0.9/15s")
        ((0.8, 20.0), (0.9, 15.0))
    """
    m = _TARGET.match(text)
    hint = "write SL/seconds, e.g. 80/20 for 80% answered within 20 seconds"
    if not m:
        raise QueryError(f"cannot read target {text!r}", where="--target", hint=hint)
    value, pct, seconds = float(m.group(1)), m.group(2), float(m.group(3))
    share = value / 100 if (pct or value > 1) else value
    if not 0 < share < 1:
        raise QueryError(f"service level {text.split('/')[0]!r} is not between 0% and 100%",
                         where="--target", hint=hint)
    return share, seconds


def _fraction(value: float | None, where: str, upper_inclusive: bool) -> float | None:
    if value is None:
        return None
    ok = 0 <= value <= 1 if upper_inclusive else 0 <= value < 1
    if not ok or math.isnan(value):
        interval = "[0, 1]" if upper_inclusive else "[0, 1)"
        raise QueryError(f"{value!r} is not a fraction in {interval}", where=where,
                         hint="write it as a fraction, e.g. 0.3 for 30%")
    return value


def parse_day(text: str, where: str) -> date:
    """``YYYY-MM-DD`` -> date, or a QueryError naming the option.

    Examples:
        >>> parse_day("2026-01-05", "--from")
        datetime.date(2026, 1, 5)
    """
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise QueryError(f"cannot read day {text!r}", where=where,
                         hint="write a date YYYY-MM-DD") from None


def register(app: typer.Typer) -> None:
    """Add ``staff``, ``forecast`` (with ``forecast accuracy``) and ``plan`` to ``app``."""
    app.add_typer(_forecast_app(), name="forecast")
    app.command("plan")(plan)

    @app.command("staff")
    def staff(
        volume: float = typer.Option(..., "--volume", help="Contacts offered in the interval."),
        interval: str = typer.Option("30m", "--interval",
                                     help="Interval length: 15m, 30m, 60m, 1h, 900s."),
        aht: float = typer.Option(..., "--aht", help="Average handle time in seconds."),
        target: str = typer.Option("80/20", "--target",
                                   help="Service level target SL/seconds, e.g. 80/20."),
        asa: float | None = typer.Option(None, "--asa",
                                         help="Also keep the ASA at or below this (seconds)."),
        patience: float | None = typer.Option(
            None, "--patience", help="Average patience in seconds: Erlang A (with abandons)."),
        shrinkage: float = typer.Option(0.0, "--shrinkage",
                                        help="Share of paid time not answering, e.g. 0.3."),
        max_occupancy: float | None = typer.Option(None, "--max-occupancy",
                                                   help="Highest occupancy, e.g. 0.85."),
        fmt: Format = typer.Option(Format.table, "--format", help="table or json (csv too)."),
    ) -> None:
        """Agents needed for one interval's load, and the SL, ASA, occupancy they give."""
        from contactkpi.wfm import erlang

        interval_s = parse_interval(interval)
        sl, threshold_s = parse_target(target)
        if not volume >= 0:
            raise QueryError(f"volume {volume!r} is negative", where="--volume",
                             hint="give the contacts offered in the interval, e.g. 120")
        if not aht > 0:
            raise QueryError(f"AHT {aht!r} is not positive", where="--aht",
                             hint="give the average handle time in seconds, e.g. 240")
        if asa is not None and not asa > 0:
            raise QueryError(f"ASA {asa!r} is not positive", where="--asa", hint="e.g. 30")
        if patience is not None and not patience > 0:
            raise QueryError(f"patience {patience!r} is not positive", where="--patience",
                             hint="give the customers' average patience in seconds, e.g. 90")
        _fraction(shrinkage, "--shrinkage", upper_inclusive=False)
        _fraction(max_occupancy, "--max-occupancy", upper_inclusive=True)
        if max_occupancy == 0:
            raise QueryError("max occupancy 0 admits no work", where="--max-occupancy",
                             hint="e.g. 0.85")

        traffic = float(erlang.traffic_erlangs(volume, aht, interval_s))
        agents = int(erlang.required_agents(
            traffic, aht, service_level=sl, threshold_s=threshold_s, asa_s=asa,
            max_occupancy=max_occupancy, patience_s=patience))
        stats = erlang.queue_stats(agents, traffic, aht, threshold_s, patience)
        result = {
            "model": "erlang_a" if patience is not None else "erlang_c",
            "volume": volume,
            "interval_s": interval_s,
            "aht_s": aht,
            "traffic_erlangs": traffic,
            "target_service_level": sl,
            "threshold_s": threshold_s,
            "agents": agents,
            "scheduled": int(erlang.scheduled_agents(agents, shrinkage)),
            "shrinkage": shrinkage,
            "service_level": float(stats.service_level),
            "asa_s": float(stats.asa_s),
            "occupancy": float(stats.occupancy) if agents else 0.0,
            "wait_probability": float(stats.wait_probability),
            "abandon_rate": float(stats.abandon_rate),
        }
        if fmt is Format.json:
            sys.stdout.write(json.dumps(result, indent=2) + "\n")
        elif fmt is Format.csv:
            sys.stdout.write(",".join(result) + "\n")
            sys.stdout.write(",".join(str(v) for v in result.values()) + "\n")
        else:
            show_pairs(_pairs(result), title="Staffing (Erlang A)" if patience is not None
                       else "Staffing (Erlang C)")


def _pairs(r: dict[str, Any]) -> list[tuple[str, str]]:
    def pct(v: float) -> str:
        return f"{v:.1%}"

    return [
        ("traffic", f"{r['traffic_erlangs']:.2f} Erlangs"),
        ("agents", str(r["agents"])),
        ("scheduled", f"{r['scheduled']} (shrinkage {pct(r['shrinkage'])})"),
        ("service level", f"{pct(r['service_level'])} within {r['threshold_s']:g} s "
                          f"(target {pct(r['target_service_level'])})"),
        ("ASA", f"{r['asa_s']:.1f} s"),
        ("occupancy", pct(r["occupancy"])),
        ("P(wait)", pct(r["wait_probability"])),
        ("abandonment", pct(r["abandon_rate"])),
    ]


# --------------------------------------------------------------------------- forecast


def _pct(v: Any) -> str:
    return "" if v is None or pd.isna(v) else f"{float(v):.1%}"


def _num(v: Any, digits: int = 1) -> str:
    return "" if v is None or pd.isna(v) else f"{float(v):.{digits}f}"


def _scope(wh: Warehouse, tenant: str | None) -> Scope:
    from contactkpi.wfm.history import Scope

    return Scope.resolve(wh, STATE.settings, tenant)


def _emit(frame: pd.DataFrame, shown: pd.DataFrame, fmt: Format, title: str,
          extra: dict[str, Any]) -> None:
    """JSON: ``extra`` plus ``rows`` (raw values); CSV: raw rows; table: ``shown``."""
    if fmt is Format.json:
        payload = dict(extra)
        payload["rows"] = records(frame)
        sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
    elif fmt is Format.csv:
        frame.to_csv(sys.stdout, index=False)
    else:
        show_frame(shown, fmt, title=title)


def _forecast_app() -> typer.Typer:
    group = typer.Typer(help="Forecast contacts and AHT per queue and interval; `forecast "
                        "accuracy` judges a stored forecast.", no_args_is_help=False)

    @group.callback(invoke_without_command=True)
    def forecast(
        ctx: typer.Context,
        queue: list[str] = typer.Option(None, "--queue", "-q",
                                        help="Queue (repeat for several; default: all)."),
        tenant: str | None = typer.Option(None, "--tenant", help="Tenant (default from "
                                          "config)."),
        days: int = typer.Option(14, "--days", help="Calendar days to forecast."),
        interval: str = typer.Option("30m", "--interval", help="15m, 30m or 60m."),
        start: str | None = typer.Option(None, "--start", help="First day to forecast "
                                         "(YYYY-MM-DD); history is every day before it. "
                                         "Default: the day after the last contact."),
        history_days: int | None = typer.Option(None, "--history-days",
                                                help="Calendar days of history to use "
                                                "(default: all)."),
        save: bool = typer.Option(False, "--save", help="Store the forecast in the "
                                  "warehouse's forecasts table."),
        fmt: Format = typer.Option(Format.table, "--format", help="table, json or csv."),
    ) -> None:
        """Forecast contacts and AHT from the warehouse history, with the model each queue's
        backtest chooses."""
        if ctx.invoked_subcommand is not None:
            given = (queue or tenant or start or history_days is not None or save
                     or days != 14 or interval != "30m" or fmt is not Format.table)
            if given:
                raise QueryError(f"options before `{ctx.invoked_subcommand}` belong to "
                                 "`forecast` itself", where="forecast",
                                 hint=f"write them after it: contactkpi forecast "
                                 f"{ctx.invoked_subcommand} --queue Q ...")
            return
        from contactkpi.wfm.runs import make_forecast
        from contactkpi.wfm.stored import save_forecast

        interval_s = parse_interval(interval)
        first = parse_day(start, "--start") if start else None
        if history_days is not None and history_days < 7:
            raise QueryError(f"--history-days {history_days} is too short", where="--history-days",
                             hint="use at least 7 days (several weeks are better)")
        wh = open_warehouse(create=False, read_only=not save)
        try:
            scope = _scope(wh, tenant)
            fc = make_forecast(scope, queue or None, days=days, interval_s=interval_s,
                               start=first, history_days=history_days)
            saved: dict[str, Any] | None = None
            if save:
                result, made = save_forecast(scope, fc.rows, interval_s=interval_s)
                saved = {"created_at": made.isoformat(), "rows": result.rows_loaded,
                         "tenant": scope.tenant}
        finally:
            wh.close()
        rows = fc.rows.drop(columns=["ds"]).assign(interval_s=interval_s)
        extra = {"tenant": scope.tenant, "interval_s": interval_s,
                 "start": fc.start.isoformat(), "end": fc.end.isoformat(),
                 "history": {"from": fc.history_from.isoformat(),
                             "to": fc.history_to.isoformat()},
                 "models": records(fc.models), "saved": saved}
        shown = pd.DataFrame({"queue": rows["queue"],
                              "interval": rows["interval_start"].map(
                                  lambda t: t.strftime("%a %Y-%m-%d %H:%M")),
                              "volume": rows["volume"].map(_num),
                              "aht_s": rows["aht_s"].map(lambda v: _num(v, 0)),
                              "model": rows["model"]})
        _emit(rows, shown, fmt, f"Forecast {fc.start} .. {fc.end}", extra)
        if fmt is Format.table:
            for m in fc.models.itertuples(index=False):
                stderr.print(f"{m.queue}: model {m.model} (backtest WAPE "
                             f"{_pct(m.backtest_wape)}, seasonal naive day "
                             f"{_pct(m.seasonal_naive_day_wape)}, week "
                             f"{_pct(m.seasonal_naive_week_wape)}); history "
                             f"{fc.history_from} .. {fc.history_to}", markup=False)
            if saved:
                stderr.print(f"saved {saved['rows']} rows to forecasts (created_at "
                             f"{saved['created_at']})", markup=False)

    @group.command("accuracy")
    def accuracy_cmd(
        start: str = typer.Option(..., "--from", help="First local day (YYYY-MM-DD)."),
        end: str = typer.Option(..., "--to", help="Last local day, included."),
        queue: list[str] = typer.Option(None, "--queue", "-q",
                                        help="Queue (repeat for several; default: every "
                                        "queue with a stored forecast)."),
        tenant: str | None = typer.Option(None, "--tenant", help="Tenant (default from "
                                          "config)."),
        model: str | None = typer.Option(None, "--model", help="Only forecasts of this "
                                         "model (default: the latest made before --from)."),
        detail: bool = typer.Option(False, "--detail", help="Also list every interval "
                                    "(JSON: intervals; table/CSV: instead of the summary)."),
        fmt: Format = typer.Option(Format.table, "--format", help="table, json or csv."),
    ) -> None:
        """MAPE, WAPE, bias and the share of intervals and days within 5% / 10% of a stored
        forecast against the contacts offered."""
        from contactkpi.wfm.runs import stored_accuracy

        first, last = parse_day(start, "--from"), parse_day(end, "--to")
        wh = open_warehouse(create=False, read_only=True)
        try:
            scope = _scope(wh, tenant)
            report = stored_accuracy(scope, queue or None, start=first, end=last, model=model)
        finally:
            wh.close()
        extra = {"tenant": scope.tenant, "from": first.isoformat(), "to": last.isoformat(),
                 "actuals_until": report.actuals_until.isoformat()
                 if report.actuals_until else None,
                 "runs": [r.as_dict() for r in report.runs]}
        if detail:
            extra["intervals"] = records(report.intervals)
        if detail and fmt is not Format.json:
            _emit(report.intervals, report.intervals, fmt, "Forecast vs actual", extra)
            return
        s = report.summary
        shown = _accuracy_table(s)
        _emit(s, shown, fmt, f"Forecast accuracy {first} .. {last}", extra)

    return group


def _accuracy_table(s: pd.DataFrame) -> pd.DataFrame:
    """One column per queue, one row per figure (fits a terminal for a few queues)."""
    lines = [
        ("model", lambda r: r["model"]), ("made", lambda r: str(r["created_at"])[:16]),
        ("intervals", lambda r: str(r["intervals"])), ("WAPE", lambda r: _pct(r["wape"])),
        ("MAPE", lambda r: _pct(r["mape"])), ("bias", lambda r: _pct(r["bias"])),
        ("intervals within 5%", lambda r: _pct(r["within_5"])),
        ("intervals within 10%", lambda r: _pct(r["within_10"])),
        ("days", lambda r: str(r["days"])), ("day WAPE", lambda r: _pct(r["day_wape"])),
        ("day MAPE", lambda r: _pct(r["day_mape"])), ("day bias", lambda r: _pct(r["day_bias"])),
        ("days within 5%", lambda r: _pct(r["day_within_5"])),
        ("days within 10%", lambda r: _pct(r["day_within_10"])),
    ]
    rows = s.to_dict("records")
    return pd.DataFrame({"": [name for name, _ in lines],
                         **{str(r["queue"]): [fn(r) for _, fn in lines] for r in rows}})


# --------------------------------------------------------------------------- plan


def plan(
    start: str = typer.Option(..., "--from", help="First local day (YYYY-MM-DD)."),
    end: str = typer.Option(..., "--to", help="Last local day, included."),
    queue: list[str] = typer.Option(None, "--queue", "-q",
                                    help="Queue (repeat for several; default: all)."),
    tenant: str | None = typer.Option(None, "--tenant", help="Tenant (default from config)."),
    interval: str = typer.Option("30m", "--interval", help="15m, 30m or 60m."),
    target: str | None = typer.Option(None, "--target", help="Service level target "
                                      "SL/seconds, e.g. 80/20 (default: the tenant's "
                                      "service_level target)."),
    patience: float | None = typer.Option(None, "--patience", help="Average patience in "
                                          "seconds (default: estimated from waits and "
                                          "abandons; none: Erlang C)."),
    shrinkage: float = typer.Option(0.0, "--shrinkage", help="Share of paid time not "
                                    "answering, e.g. 0.3."),
    model: str | None = typer.Option(None, "--model", help="Use stored forecasts of this "
                                     "model only."),
    fmt: Format = typer.Option(Format.table, "--format", help="table, json or csv."),
) -> None:
    """Per queue and interval: forecast and actual volume, agents required, staffed, gap,
    the SL that staffing could reach, and why a missed SL was missed."""
    from contactkpi.wfm.plan import plan_range, target_from_settings

    first, last = parse_day(start, "--from"), parse_day(end, "--to")
    interval_s = parse_interval(interval)
    sl, threshold = parse_target(target) if target else (None, None)
    _fraction(shrinkage, "--shrinkage", upper_inclusive=False)
    if patience is not None and not patience > 0:
        raise QueryError(f"patience {patience!r} is not positive", where="--patience",
                         hint="give the customers' average patience in seconds, e.g. 90")
    wh = open_warehouse(create=False, read_only=True)
    try:
        scope = _scope(wh, tenant)
        goal = target_from_settings(scope, sl, threshold, shrinkage)
        result = plan_range(scope, queue or None, start=first, end=last,
                            interval_s=interval_s, target=goal, patience_s=patience,
                            model=model)
    finally:
        wh.close()
    rows = result.rows
    t = result.target
    extra = {"tenant": scope.tenant, "from": first.isoformat(), "to": last.isoformat(),
             "target": {"service_level": t.service_level, "threshold_s": t.threshold_s,
                        "shrinkage": t.shrinkage},
             "patience_s": result.patience_s, "runs": [r.as_dict() for r in result.runs],
             "notes": result.notes}
    shown = pd.DataFrame({
        "queue": rows["queue"],
        "interval": rows["interval_start"].map(lambda x: x.strftime("%m-%d %H:%M")),
        "fcst": rows["forecast_volume"].map(_num),
        "actual": rows["actual_volume"].map(lambda v: _num(v, 0)),
        "AHT": rows["planned_aht_s"].map(lambda v: _num(v, 0)),
        "need": rows["agents_required"], "sched": rows["agents_scheduled"],
        "staffed": rows["staffed"].map(_num), "gap": rows["gap"].map(_num),
        "SL poss": rows["service_level_achievable"].map(_pct),
        "SL": rows["service_level"].map(_pct), "flag": rows["flag"].fillna("")})
    _emit(rows, shown, fmt, f"Staffing plan {first} .. {last} (target "
          f"{t.service_level:.0%}/{t.threshold_s:g}s)", extra)
    if fmt is Format.table:
        for q in sorted(set(rows["queue"])):
            p = result.patience_s.get(q)
            how = f"Erlang A, patience {p:.0f} s" if p else "Erlang C (no patience known)"
            run = next((r for r in result.runs if r.queue == q), None)
            src = (f"forecast {run.model} made {run.created_at:%Y-%m-%d %H:%M}" if run
                   else "no stored forecast: actual volume")
            stderr.print(f"{q}: {how}; {src}", markup=False)
        for note in result.notes:
            stderr.print(f"note: {note}", markup=False)
