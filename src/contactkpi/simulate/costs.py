"""The ``costs`` table: what serving each tenant cost, per week or month.

- ``labour``: logged-in hours (and onboarding days) x each agent's hourly cost;
- ``telephony``: line minutes (queueing, ringing, talking, holding) x the per-minute rate, per
  queue, and per campaign for outbound dials;
- ``licences``: agents active in the period x the monthly seat price, prorated;
- ``facilities``: logged-in hours x the hourly seat cost;
- ``training``: training hours x the trainer's hourly cost.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from contactkpi.simulate.frames import canonical, empty
from contactkpi.simulate.rundata import RunData


def _period(ts: pd.Series, tz: str, period: str) -> tuple[np.ndarray, np.ndarray]:
    """First and last local day (``datetime64[D]``) of the week or month of each instant."""
    local = ts.dt.tz_convert(tz).dt.tz_localize(None).to_numpy("datetime64[D]")
    if period == "week":
        monday = local - ((local.astype(np.int64) + 3) % 7)  # 1970-01-01 was a Thursday
        return monday, monday + 6
    first = local.astype("datetime64[M]")
    return first.astype("datetime64[D]"), (first + 1).astype("datetime64[D]") - 1


def build(data: RunData, contacts: pd.DataFrame, states: pd.DataFrame,
          trainings: pd.DataFrame) -> pd.DataFrame:
    """Cost rows per tenant, period, cost type and (for telephony) queue or campaign."""
    roster = {(a.tenant, a.agent_id): a.hourly_cost for wf in data.workforces for a in wf.agents}
    out = []
    # one pass over the big frames (millions of rows), then small per-tenant selections
    logged = states[states["state"].to_numpy(dtype=object) == "logged_in"]
    logged_tenant = logged["tenant"].to_numpy(dtype=object)
    contact_rows = {name: rows for name, rows in
                    contacts.groupby("tenant", sort=False, observed=True).indices.items()}
    for t in data.cfg.tenants:
        c = t.costs
        rows: list[pd.DataFrame] = []
        sessions = logged[logged_tenant == t.name]
        if len(sessions):
            start, end = _period(sessions["started_at"], t.timezone, c.period)
            hours = (sessions["ended_at"] - sessions["started_at"]).dt.total_seconds() / 3600
            rate = [roster[(t.name, a)] for a in sessions["agent_id"]]
            s = pd.DataFrame({"period_start": start, "period_end": end, "hours": hours,
                              "labour": hours * rate, "agent": sessions["agent_id"]})
            g = s.groupby(["period_start", "period_end"])
            per = g.agg(labour=("labour", "sum"), hours=("hours", "sum"),
                        agents=("agent", "nunique")).reset_index()
            days = (pd.to_datetime(per["period_end"]) - pd.to_datetime(per["period_start"])
                    ).dt.days + 1
            for kind, amount in (("labour", per["labour"]),
                                 ("facilities", per["hours"] * c.facilities_per_hour),
                                 ("licences", per["agents"] * c.licence_per_agent_month
                                  * days / 30.4)):
                rows.append(per[["period_start", "period_end"]].assign(
                    cost_type=kind, queue=None, amount=amount.round(2)))
        tr = trainings[trainings["tenant"] == t.name]
        if len(tr):
            start, end = _period(tr["started_at"], t.timezone, c.period)
            rate = [roster.get((t.name, a), t.staffing.hourly_cost) for a in tr["agent_id"]]
            s = pd.DataFrame({"period_start": start, "period_end": end,
                              "amount": tr["hours"] * c.training_per_hour,
                              "onboarding": (tr["category"] == "onboarding") * tr["hours"]
                              * rate})
            g = s.groupby(["period_start", "period_end"]).sum().reset_index()
            rows.append(g[["period_start", "period_end"]].assign(
                cost_type="training", queue=None, amount=g["amount"].round(2)))
            # onboarding days are paid time outside the phones: add them to labour
            rows.append(g[["period_start", "period_end"]].assign(
                cost_type="labour", queue=None, amount=g["onboarding"].round(2)))
        cs = contacts.iloc[contact_rows.get(t.name, np.array([], dtype=np.int64))]
        if len(cs):
            line_s = (cs["wait_s"].fillna(0) + cs["ring_s"].fillna(0) + cs["talk_s"].fillna(0)
                      + cs["hold_s"].fillna(0))
            start, end = _period(cs["arrived_at"], t.timezone, c.period)
            voice = (cs["channel"] == "voice").to_numpy()
            s = pd.DataFrame({"period_start": start, "period_end": end,
                              "queue": cs["queue"].fillna(cs["campaign"]),
                              "amount": line_s / 60.0 * c.telephony_per_min})[voice]
            g = s.groupby(["period_start", "period_end", "queue"]).sum().reset_index()
            rows.append(g.assign(cost_type="telephony", amount=g["amount"].round(2)))
        if rows:
            df = pd.concat(rows, ignore_index=True)
            df = df.groupby(["period_start", "period_end", "cost_type", "queue"],
                            dropna=False, sort=True)["amount"].sum().reset_index()
            df["queue"] = df["queue"].astype(object).where(df["queue"].notna(), None)
            for col in ("period_start", "period_end"):
                df[col] = pd.to_datetime(df[col]).dt.date
            df["tenant"] = t.name
            out.append(df[df["amount"] > 0])
    if not out:
        return empty("costs")
    df = pd.concat(out, ignore_index=True)
    return canonical("costs", {c: df[c].reset_index(drop=True) for c in df.columns})
