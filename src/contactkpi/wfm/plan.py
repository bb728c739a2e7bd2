"""Staffing plan for a date range from the warehouse: need, staffing, gap and why SL missed.

Per queue and interval of the local days asked for:

- ``forecast_volume``: the stored forecast (the run :func:`~contactkpi.wfm.stored.choose_run`
  picks), ``actual_volume``: contacts offered, both read through the KPI engine;
- ``volume_source``: ``forecast`` when a stored forecast covers the interval, else ``actual``;
  ``planned_volume`` and ``planned_aht_s`` are that source's volume and AHT, and
  ``agents_required`` (with ``agents_scheduled`` after shrinkage) is what they need;
- ``agents_required_actual``: what the contacts that came needed, at their measured AHT;
- ``staffed``: agents available to answer, from the catalog metric :data:`STAFFED_METRIC` when
  the catalog has it (it does not yet; the column is then empty), ``gap = staffed -
  agents_required``, ``service_level_achievable``: the service level that staffing gives the
  contacts that came (Erlang A or C);
- ``service_level``: measured (the catalog's ``service_level`` at the target's threshold),
  ``sl_met`` and ``flag``: ``understaffed`` / ``volume_above_forecast`` / ``not_explained``
  where the measured SL missed (rules in :mod:`contactkpi.wfm.staffing`).

Erlang A is used when the patience is given or can be estimated from the queue's waits and
abandons (:func:`~contactkpi.wfm.history.patience_estimate`, over the range, else the four
weeks before it); otherwise Erlang C.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from contactkpi.errors import QueryError
from contactkpi.metrics.loader import default_catalog
from contactkpi.wfm.history import (
    Scope,
    check_queues,
    intervals,
    last_contact_day,
    patience_estimate,
)
from contactkpi.wfm.staffing import StaffingTarget, staffing_plan
from contactkpi.wfm.stored import ForecastRun, choose_run, list_runs, read_run, to_utc

__all__ = ["STAFFED_METRIC", "PlanResult", "plan_range", "target_from_settings"]

#: Catalog metric giving the agents available to answer per queue and interval (mean over
#: the interval). Not in the catalog yet; see the module docstring.
STAFFED_METRIC = "staffed_agents"
#: Days before the range used to estimate patience when the range has no abandons.
PATIENCE_LOOKBACK_DAYS = 28

COLUMNS = [
    "queue", "interval_start", "interval_s", "volume_source", "forecast_volume",
    "actual_volume", "planned_volume", "planned_aht_s", "actual_aht_s", "erlang",
    "patience_s", "agents_required", "agents_scheduled", "agents_required_actual", "staffed",
    "gap", "service_level_achievable", "service_level", "sl_met", "flag",
]


@dataclass(frozen=True)
class PlanResult:
    """A plan and how it was made.

    Attributes:
        rows: One row per queue and interval (columns :data:`COLUMNS`).
        target: The service target planned for.
        runs: Stored forecast runs used, per queue.
        patience_s: Patience used per queue (absent: Erlang C).
        notes: What the plan could not do (e.g. no staffing metric).
    """

    rows: pd.DataFrame
    target: StaffingTarget
    runs: list[ForecastRun] = field(default_factory=list)
    patience_s: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def target_from_settings(scope: Scope, service_level: float | None = None,
                         threshold_s: float | None = None, shrinkage: float = 0.0
                         ) -> StaffingTarget:
    """The service target: given values first, then the tenant's ``service_level`` target
    (value and ``params.threshold_s``), then the catalog's default target."""
    setting = scope.settings.targets_for(scope.tenant).get("service_level")
    metric = (scope.catalog or default_catalog()).metrics.get("service_level")
    default = metric.target if metric is not None else None
    value = service_level
    if value is None:
        value = setting.value if setting else (default.value if default else 0.8)
    if threshold_s is None:
        params = dict(setting.params) if setting else dict(default.params) if default else {}
        threshold_s = float(params.get("threshold_s", 20.0))
    return StaffingTarget(service_level=float(value), threshold_s=float(threshold_s),
                          shrinkage=shrinkage)


def plan_range(scope: Scope, queues: Sequence[str] | None, *, start: date, end: date,
               interval_s: int = 1800, target: StaffingTarget | None = None,
               patience_s: float | None = None, model: str | None = None) -> PlanResult:
    """The staffing plan for the local days ``start..end`` (both included).

    Raises:
        QueryError: ``end`` before ``start``, an unknown queue, nothing to plan, or a stored
            forecast whose intervals do not fit ``interval_s``.
    """
    if end < start:
        raise QueryError(f"--from {start} is after --to {end}", where="--to",
                         hint="--to is the last day included; give a day on or after --from")
    target = target or target_from_settings(scope)
    lo, hi = start.isoformat(), (end + timedelta(days=1)).isoformat()
    runs_all = list_runs(scope, queues, start=lo, end=hi)
    if queues:
        queues = check_queues(scope, queues, also=[r.queue for r in runs_all])
    else:
        queues = _queues_in_range(scope, lo, hi, runs_all)
    begin = to_utc(lo, scope.zone)
    runs = [r for q in queues if (r := choose_run(runs_all, q, before=begin, model=model))]
    notes: list[str] = []

    threshold = target.threshold_s
    actual = intervals(scope, ["offered", "aht_s", f"service_level:threshold_s={threshold:g}"],
                       interval_s=interval_s, start=lo, end=hi, queues=queues)
    actual = actual.rename(columns={"offered": "actual_volume", "aht_s": "actual_aht_s",
                                    f"service_level:threshold_s={threshold:g}":
                                    "service_level"})
    fc = [read_run(scope, r, interval_s=interval_s, start=lo, end=hi) for r in runs]
    forecast = pd.concat(fc, ignore_index=True) if fc else pd.DataFrame(
        columns=["queue", "period_start", "forecast_volume", "forecast_aht_s"])
    frame = actual.merge(forecast, on=["queue", "period_start"], how="outer")
    if frame.empty:
        raise QueryError(f"nothing to plan between {start} and {end}: no contacts and no "
                         "stored forecast", where="--from",
                         hint="choose days with contacts, or save a forecast first "
                         "(contactkpi forecast --save)")
    staffed = _staffed(scope, queues, interval_s=interval_s, start=lo, end=hi, notes=notes)
    if staffed is not None:
        frame = frame.merge(staffed, on=["queue", "period_start"], how="left")
    else:
        frame["staffed"] = np.nan
    frame = frame.sort_values(["queue", "period_start"], ignore_index=True)

    patience = ({q: float(patience_s) for q in queues} if patience_s is not None
                else _patience(scope, queues, start, lo, hi))
    return PlanResult(rows=_rows(frame, target, interval_s, patience, scope, lo, hi),
                      target=target, runs=runs, patience_s=patience, notes=notes)


def _queues_in_range(scope: Scope, lo: str, hi: str, runs: Sequence[ForecastRun]
                     ) -> list[str]:
    found = scope.metrics(["offered"], grain="all", start=lo, end=hi)
    names = set(found.loc[found["offered"] > 0, "queue"].dropna().astype(str))
    names |= {r.queue for r in runs}
    if not names:
        raise QueryError(f"nothing to plan between {lo} and {hi}: no contacts and no stored "
                         "forecast", where="--from",
                         hint="choose days with contacts, or save a forecast first "
                         "(contactkpi forecast --save)")
    return sorted(names)


def _staffed(scope: Scope, queues: Sequence[str], *, interval_s: int, start: str, end: str,
             notes: list[str]) -> pd.DataFrame | None:
    catalog = scope.catalog or default_catalog()
    if STAFFED_METRIC not in catalog.metrics:
        notes.append(f"the catalog has no {STAFFED_METRIC} metric (agents available per queue "
                     "and interval), so staffed, gap, achievable SL and the flags are empty")
        return None
    frame = intervals(scope, [STAFFED_METRIC], interval_s=interval_s, start=start, end=end,
                      queues=queues)
    staffed = frame.rename(columns={STAFFED_METRIC: "staffed"})[
        ["queue", "period_start", "staffed"]]
    if staffed["staffed"].isna().all():
        notes.append(f"no agent_states row of these queues gives {STAFFED_METRIC} (sessions "
                     "must carry their queue), so staffed, gap, achievable SL and the flags "
                     "are empty")
    return staffed


def _patience(scope: Scope, queues: Sequence[str], start: date, lo: str, hi: str
              ) -> dict[str, float]:
    found = patience_estimate(scope, queues, start=lo, end=hi)
    missing = [q for q in queues if q not in found]
    if missing:
        before = (start - timedelta(days=PATIENCE_LOOKBACK_DAYS)).isoformat()
        earlier = patience_estimate(scope, missing, start=before, end=lo)
        found.update(earlier)
    return found


def _rows(frame: pd.DataFrame, target: StaffingTarget, interval_s: int,
          patience: dict[str, float], scope: Scope, lo: str, hi: str) -> pd.DataFrame:
    n = len(frame)
    queue = frame["queue"].astype(str)
    fc_vol = pd.to_numeric(frame["forecast_volume"], errors="coerce").to_numpy(dtype=float)
    fc_aht = pd.to_numeric(frame["forecast_aht_s"], errors="coerce").to_numpy(dtype=float)
    act_vol = pd.to_numeric(frame["actual_volume"], errors="coerce").to_numpy(dtype=float)
    act_aht = pd.to_numeric(frame["actual_aht_s"], errors="coerce").to_numpy(dtype=float)
    # Intervals up to the latest one with contacts have happened: no row there means 0 came.
    seen = frame["period_start"][~np.isnan(act_vol)]
    if len(seen):
        happened = (frame["period_start"] <= seen.max()).to_numpy()
    else:
        last_day = last_contact_day(scope, start=lo, end=hi)
        happened = (frame["period_start"].dt.date <= last_day).to_numpy() if last_day \
            else np.zeros(n, dtype=bool)
    act_vol = np.where(np.isnan(act_vol) & happened, 0.0, act_vol)

    mean_aht = _mean_aht(scope, sorted(set(queue)), lo, hi)
    fallback = queue.map(mean_aht).to_numpy(dtype=float)
    has_fc = ~np.isnan(fc_vol)
    planned_vol = np.where(has_fc, fc_vol, act_vol)
    fc_aht = np.where(fc_aht > 0, fc_aht, np.nan)
    act_aht = np.where(act_aht > 0, act_aht, np.nan)
    known_aht = np.where(np.isnan(act_aht), fallback, act_aht)
    planned_aht = np.where(has_fc & ~np.isnan(fc_aht), fc_aht, known_aht)
    load_vol = np.where(np.isnan(act_vol), planned_vol, act_vol)
    load_aht = np.where(np.isnan(act_aht), planned_aht, act_aht)
    pat = queue.map(patience).to_numpy(dtype=float)
    staffed = pd.to_numeric(frame["staffed"], errors="coerce").to_numpy(dtype=float)

    usable = ((load_vol == 0) | (load_aht > 0)) & ((planned_vol == 0) | (planned_aht > 0))
    if not usable.all():
        bad = frame.loc[~usable, ["queue", "period_start"]].head(3)
        raise QueryError("no handle time known for some intervals with contacts "
                         f"(e.g. {bad.to_dict('records')})", where="--queue",
                         hint="load contacts with talk, hold and wrap-up times")
    core = pd.DataFrame({
        "volume": load_vol, "aht_s": np.where(load_aht > 0, load_aht, np.nan),
        "interval_s": float(interval_s), "staffed": staffed,
        "forecast_volume": planned_vol, "forecast_aht_s": planned_aht,
        "patience_s": pat, "service_level": pd.to_numeric(frame["service_level"],
                                                          errors="coerce")})
    out = staffing_plan(core, target)
    return pd.DataFrame({
        "queue": queue,
        "interval_start": frame["period_start"],
        "interval_s": interval_s,
        "volume_source": np.where(has_fc, "forecast", "actual"),
        "forecast_volume": fc_vol,
        "actual_volume": act_vol,
        "planned_volume": planned_vol,
        "planned_aht_s": planned_aht,
        "actual_aht_s": act_aht,
        "erlang": np.where(np.isnan(pat), "C", "A"),
        "patience_s": pat,
        "agents_required": out["agents_required_forecast"],
        "agents_scheduled": _scheduled(out["agents_required_forecast"], target.shrinkage),
        "agents_required_actual": pd.array(np.where(np.isnan(act_vol), pd.NA,
                                                    out["agents_required"]), dtype="Int64"),
        "staffed": staffed,
        "gap": staffed - out["agents_required_forecast"].astype(float).to_numpy(),
        "service_level_achievable": out.get("service_level_staffed", np.nan),
        "service_level": core["service_level"],
        "sl_met": out.get("sl_met", pd.array([pd.NA] * n, dtype="boolean")),
        "flag": out.get("miss_reason", pd.Series([None] * n)),
    })[COLUMNS]


def _scheduled(required: pd.Series, shrinkage: float) -> pd.Series:
    from contactkpi.wfm.erlang import scheduled_agents

    values = required.astype(float).to_numpy()
    sched = scheduled_agents(np.nan_to_num(values), shrinkage)
    return pd.Series(pd.array(np.where(np.isnan(values), pd.NA, sched), dtype="Int64"))


def _mean_aht(scope: Scope, queues: Sequence[str], lo: str, hi: str) -> dict[str, float]:
    """Each queue's AHT over the range, else over the four weeks before (fallback AHT)."""
    found = scope.metrics(["aht_s"], grain="all", start=lo, end=hi, queues=queues)
    out = {str(q): float(v) for q, v in zip(found["queue"], found["aht_s"], strict=True)
           if v is not None and np.isfinite(v) and v > 0}
    missing = [q for q in queues if q not in out]
    if missing:
        before = (pd.Timestamp(lo) - pd.Timedelta(days=PATIENCE_LOOKBACK_DAYS)).date()
        earlier = scope.metrics(["aht_s"], grain="all", start=before.isoformat(), end=lo,
                                queues=missing)
        out.update({str(q): float(v) for q, v in zip(earlier["queue"], earlier["aht_s"],
                                                      strict=True)
                    if v is not None and np.isfinite(v) and v > 0})
    return out
