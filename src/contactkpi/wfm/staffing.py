"""Staffing plan: agents required per interval and queue, the gap to staffing, and why SL missed.

Pure core over a DataFrame (the warehouse wiring reads actuals and forecasts into it). One row
per interval and queue; any other columns (``queue``, ``interval_start_at``, ...) pass through.

Input columns:

- ``volume`` (contacts offered), ``aht_s``, ``interval_s``: required. ``volume`` is what the
  plan is for: a forecast when planning ahead, the actual volume when looking back.
- ``staffed``: optional, agents actually available to answer (logged in and not paused);
  compared with ``agents_required``, not with the scheduled head count.
- ``forecast_volume``: optional, the volume that was forecast for the interval.
- ``forecast_aht_s``: optional, the handle time the forecast assumed; the agents the forecast
  needed (``agents_required_forecast``) use it where given, ``aht_s`` elsewhere. A plan judged
  after the fact thus keeps "the plan was short" apart from "calls took longer than planned".
- ``patience_s``: optional, average patience; rows with a value use Erlang A, rows without
  (or NaN) Erlang C.
- ``service_level``: optional, the service level measured in the interval. When present it
  decides whether the target was missed; otherwise the modelled SL of ``staffed`` does.

Output columns added: ``traffic_erlangs``, ``agents_required``, ``agents_scheduled`` (with
shrinkage), ``service_level_required``, ``asa_s_required``, ``occupancy_required``,
``wait_probability_required``, ``abandon_rate_required`` (what ``agents_required`` gives);
with ``staffed``: ``gap`` (= staffed - agents_required; negative is short),
``service_level_staffed``, ``asa_s_staffed``, ``occupancy_staffed``,
``abandon_rate_staffed``, ``sl_met`` and ``miss_reason``; with ``forecast_volume`` also
``agents_required_forecast``.

Rule for ``miss_reason`` (only where the SL target was missed; otherwise empty):

- ``understaffed``: fewer agents were staffed than the forecast needed
  (``staffed < agents_required_forecast``), or, without a forecast, than the volume needed.
- ``volume_above_forecast``: staffing covered the forecast (``staffed >=
  agents_required_forecast``) but more contacts came than forecast.
- ``not_explained``: staffing covered both the forecast and the volume, yet the measured SL
  missed (handle time above plan, adherence, routing: look at the interval's contacts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from contactkpi.errors import QueryError
from contactkpi.wfm import erlang

__all__ = ["MISS_REASONS", "StaffingTarget", "staffing_plan"]

#: Values of ``miss_reason``.
MISS_REASONS = ("understaffed", "volume_above_forecast", "not_explained")


@dataclass(frozen=True)
class StaffingTarget:
    """The target a plan staffs for.

    Attributes:
        service_level: Share answered within ``threshold_s``, in (0, 1).
        threshold_s: Answer time of the service level in seconds.
        asa_s: Optional largest average speed of answer (mean over all offered), seconds.
        max_occupancy: Optional largest occupancy, in (0, 1].
        shrinkage: Share of paid time not available to answer, in [0, 1).
        max_abandon_rate: Optional largest abandon rate (Erlang A rows), in (0, 1).
    """

    service_level: float = 0.80
    threshold_s: float = 20.0
    asa_s: float | None = None
    max_occupancy: float | None = None
    shrinkage: float = 0.0
    max_abandon_rate: float | None = None

    def __post_init__(self) -> None:
        def fail(name: str, message: str, hint: str) -> None:
            raise QueryError(message, where=f"target.{name}", hint=hint)

        if not 0 < self.service_level < 1:
            fail("service_level", f"service level {self.service_level!r} is not in (0, 1)",
                 "write it as a fraction, e.g. 0.8 for 80%")
        if not self.threshold_s >= 0:
            fail("threshold_s", f"threshold {self.threshold_s!r} s is negative",
                 "the answer time is seconds >= 0, e.g. 20")
        if self.asa_s is not None and not self.asa_s > 0:
            fail("asa_s", f"ASA target {self.asa_s!r} s is not positive", "e.g. 30")
        if self.max_occupancy is not None and not 0 < self.max_occupancy <= 1:
            fail("max_occupancy", f"max occupancy {self.max_occupancy!r} is not in (0, 1]",
                 "write it as a fraction, e.g. 0.85")
        if not 0 <= self.shrinkage < 1:
            fail("shrinkage", f"shrinkage {self.shrinkage!r} is not in [0, 1)",
                 "write it as a fraction, e.g. 0.3 for 30%")
        if self.max_abandon_rate is not None and not 0 < self.max_abandon_rate < 1:
            fail("max_abandon_rate", f"max abandon rate {self.max_abandon_rate!r} is not in "
                 "(0, 1)", "write it as a fraction, e.g. 0.05")


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)


def _validate(frame: pd.DataFrame) -> None:
    missing = [c for c in ("volume", "aht_s", "interval_s") if c not in frame.columns]
    if missing:
        raise QueryError(f"staffing needs columns volume, aht_s, interval_s; missing {missing}",
                         where="staffing input", hint="add the missing columns")
    volume, aht, interval = (_column(frame, c) for c in ("volume", "aht_s", "interval_s"))
    checks = (
        ("volume", ~(volume >= 0), "volume must be a number >= 0"),
        ("aht_s", (volume > 0) & ~(aht > 0), "aht_s must be > 0 where volume > 0"),
        ("interval_s", ~(interval > 0), "interval_s must be > 0"),
    )
    for col, bad, message in checks:
        if bad.any():
            rows = np.flatnonzero(bad)[:5].tolist()
            raise QueryError(f"{message} (rows {rows})", where=f"staffing input.{col}",
                             hint="fix or drop those rows")
    for col in ("staffed", "forecast_volume", "patience_s", "forecast_aht_s"):
        if col in frame.columns:
            v = _column(frame, col)
            positive = col in ("patience_s", "forecast_aht_s")
            bad = ~np.isnan(v) & ~(v > 0 if positive else v >= 0)
            if bad.any():
                rows = np.flatnonzero(bad)[:5].tolist()
                raise QueryError(f"{col} must be {'> 0' if positive else '>= 0'} "
                                 f"(rows {rows})", where=f"staffing input.{col}",
                                 hint="fix or drop those rows")


def staffing_plan(frame: pd.DataFrame, target: StaffingTarget) -> pd.DataFrame:
    """Agents required, scheduled, the gap to staffing and the SL reached, per row.

    Args:
        frame: One row per interval and queue (columns in the module docstring).
        target: The service target and shrinkage.

    Returns:
        A copy of ``frame`` with the output columns of the module docstring.

    Raises:
        QueryError: A required column is missing or a value is out of range.

    Examples:
        >>> f = pd.DataFrame({"queue": ["sales"], "volume": [100], "aht_s": [180],
        ...                   "interval_s": [1800], "staffed": [12], "forecast_volume": [100]})
        >>> p = staffing_plan(f, StaffingTarget(0.8, 20, shrinkage=0.3))
        >>> p[["agents_required", "agents_scheduled", "gap", "miss_reason"]].values.tolist()
        [[14, 20, -2.0, 'understaffed']]
    """
    _validate(frame)
    out = frame.copy()
    volume = _column(frame, "volume")
    aht = _column(frame, "aht_s")
    aht = np.where(np.isnan(aht) | ~(aht > 0), 1.0, aht)  # only where volume == 0
    interval = _column(frame, "interval_s")
    patience = (_column(frame, "patience_s") if "patience_s" in frame.columns
                else np.full(len(frame), np.nan))
    patience = np.where(np.isnan(patience), np.inf, patience)
    t = target

    def required(vol: np.ndarray, handle: np.ndarray = aht) -> np.ndarray:
        traffic = erlang.traffic_erlangs(vol, handle, interval)
        try:
            return erlang.required_agents(
                traffic, handle, service_level=t.service_level, threshold_s=t.threshold_s,
                asa_s=t.asa_s, max_occupancy=t.max_occupancy, patience_s=patience,
                max_abandon_rate=t.max_abandon_rate)
        except ValueError as exc:
            raise QueryError(str(exc), where="target",
                             hint="relax the target or check the input volumes") from exc

    traffic = erlang.traffic_erlangs(volume, aht, interval)
    need = required(volume)
    out["traffic_erlangs"] = traffic
    out["agents_required"] = need
    out["agents_scheduled"] = erlang.scheduled_agents(need, t.shrinkage)
    at_need = erlang.queue_stats(need, traffic, aht, t.threshold_s, patience)
    out["service_level_required"] = at_need.service_level
    out["asa_s_required"] = at_need.asa_s
    out["occupancy_required"] = at_need.occupancy
    out["wait_probability_required"] = at_need.wait_probability
    out["abandon_rate_required"] = at_need.abandon_rate

    need_fc = None
    if "forecast_volume" in frame.columns:
        fc = _column(frame, "forecast_volume")
        fc_aht = aht
        if "forecast_aht_s" in frame.columns:
            given = _column(frame, "forecast_aht_s")
            fc_aht = np.where(np.isnan(given), aht, given)
        need_fc = np.where(np.isnan(fc), np.nan, required(np.nan_to_num(fc), fc_aht))
        out["agents_required_forecast"] = pd.array(
            np.where(np.isnan(need_fc), pd.NA, need_fc), dtype="Int64")

    if "staffed" not in frame.columns:
        return out
    staffed = _column(frame, "staffed")
    has_staffed = ~np.isnan(staffed)
    st = erlang.queue_stats(np.nan_to_num(staffed), traffic, aht, t.threshold_s, patience)
    out["gap"] = pd.array(np.where(has_staffed, staffed - need, np.nan), dtype="Float64")
    for name, values in (("service_level_staffed", st.service_level),
                         ("asa_s_staffed", st.asa_s), ("occupancy_staffed", st.occupancy),
                         ("abandon_rate_staffed", st.abandon_rate)):
        out[name] = np.where(has_staffed, values, np.nan)

    measured = (_column(frame, "service_level") if "service_level" in frame.columns
                else np.full(len(frame), np.nan))
    reached = np.where(np.isnan(measured), st.service_level, measured)
    sl_met = reached >= t.service_level - 1e-12
    judged = has_staffed | ~np.isnan(measured)
    out["sl_met"] = pd.array(np.where(judged, sl_met, pd.NA), dtype="boolean")

    reason = np.full(len(frame), None, dtype=object)
    missed = judged & ~sl_met & has_staffed
    if need_fc is not None:
        fc = _column(frame, "forecast_volume")
        has_fc = ~np.isnan(need_fc)
        short_of_plan = has_fc & (staffed < need_fc)
        above = has_fc & ~short_of_plan & (volume > fc)
        no_fc_short = ~has_fc & (staffed < need)
        reason[missed & (short_of_plan | no_fc_short)] = "understaffed"
        reason[missed & above] = "volume_above_forecast"
    else:
        reason[missed & (staffed < need)] = "understaffed"
    reason[missed & (reason == None)] = "not_explained"  # noqa: E711 (element-wise)
    out["miss_reason"] = reason
    return out
