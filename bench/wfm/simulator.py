"""Workforce planning against the simulator: Erlang A vs long runs, and a forecast backtest.

Run through ``bench/wfm/run.py --part erlang_sim`` or ``--part sim_backtest``.

- Erlang A: one queue, Poisson arrivals at a constant rate, exponential handle time (no
  wrap-up, ringing, breaks or redials), exponential patience, a fixed number of agents logged
  in all the time: the simulator is then exactly M/M/N+M, so its service level, abandon rate
  and mean wait must match :func:`contactkpi.wfm.erlang.queue_stats` up to sampling noise.
- Forecast backtest: a simulated tenant (two queues, 20 weeks) is loaded into a warehouse,
  its history read back through the KPI engine (:func:`contactkpi.wfm.history.history`), and
  ``forecast()`` is judged at rolling origins against the seasonal-naive baselines and
  against the simulator's own expected volume (the mean it drew arrivals from, without its
  unforecast surges: the best any forecast could do on average).
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter
from datetime import date, timedelta

import numpy as np
import pandas as pd

from contactkpi.config import Settings
from contactkpi.simulate import simulate
from contactkpi.simulate.config import (
    Dist,
    QaSim,
    QueueSim,
    SimConfig,
    StaffingSim,
    SurveySim,
    TenantSim,
)
from contactkpi.store import Warehouse, load_frames
from contactkpi.wfm import erlang
from contactkpi.wfm.accuracy import accuracy
from contactkpi.wfm.forecast import forecast
from contactkpi.wfm.history import Scope, history

AHT_S = 180.0
THRESHOLD_S = 20.0
#: (traffic in Erlangs, agents, average patience in seconds); None = never abandons.
CELLS = [(5.0, 6, 60.0), (5.0, 5, 180.0), (10.0, 12, 300.0), (20.0, 22, 120.0),
         (20.0, 20, 600.0), (50.0, 52, 180.0), (50.0, 46, 60.0), (20.0, 24, None)]
CALLS_PER_RUN = 200_000


def textbook_center(traffic: float, agents: int, patience_s: float | None,
                    days: int) -> SimConfig:
    """A single M/M/N+M queue (M/M/N when ``patience_s`` is None) open around the clock."""
    queue = QueueSim(
        name="q", channel="voice", daily_volume=traffic / AHT_S * 86_400,
        talk_s=Dist("exponential", AHT_S), hold_rate=0.0, acw_s=Dist("constant", 0.0),
        ring_s=Dist("constant", 0.0),
        patience_s=Dist("exponential", patience_s) if patience_s else Dist("never"),
        max_wait_s=math.inf, repeat_rate=0.0, redial_rate=0.0, resolution_rate=1.0)
    tenant = TenantSim(
        name="textbook", timezone="UTC", opening_hours={"mon-sun": "00:00-24:00"},
        profile="flat", outside_hours_rate=0.0, surge_rate=0.0, queues=(queue,),
        staffing=StaffingSim(mode="fixed", agents=agents, rna_rate=0.0),
        surveys=SurveySim(rate=0.0),
        qa=QaSim(per_agent_week=0.0, mystery_per_week=0.0, calibration_per_week=0.0))
    return SimConfig(days=days, tenants=(tenant,))


def bench_erlang_sim(seeds: int = 5) -> None:
    print("\n## Erlang A against the simulator\n")
    print(f"One queue, AHT {AHT_S:.0f} s exponential, exponential patience, N agents always "
          f"logged in, Poisson arrivals; about {CALLS_PER_RUN:,} calls per run, {seeds} seeds "
          f"per row (mean and standard deviation over seeds). SL = answered within "
          f"{THRESHOLD_S:.0f} s / all offered; wait = mean over all offered (abandons count "
          f"their wait).\n")
    print("| A (Erl) | N | patience | days | SL Erlang A | SL sim (sd) | diff (pts) "
          "| abandon Erlang A | abandon sim (sd) | wait Erlang A | wait sim (sd) | s/run |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    worst = 0.0
    for traffic, agents, patience in CELLS:
        days = max(2, round(CALLS_PER_RUN / (traffic / AHT_S * 86_400)))
        theory = erlang.queue_stats(agents, traffic, AHT_S, THRESHOLD_S, patience)
        sl, ab, wait, secs = [], [], [], []
        for seed in range(seeds):
            t0 = time.perf_counter()
            c = simulate(textbook_center(traffic, agents, patience, days),
                         seed=100 + seed)["contacts"]
            secs.append(time.perf_counter() - t0)
            sl.append(float(((c["outcome"] == "answered") & (c["wait_s"] <= THRESHOLD_S)).mean()))
            ab.append(float((c["outcome"] == "abandoned").mean()))
            wait.append(float(c["wait_s"].mean()))
        s, a, w = np.array(sl), np.array(ab), np.array(wait)
        diff = 100 * (s.mean() - float(theory.service_level))
        worst = max(worst, abs(diff))
        pat = "never" if patience is None else f"{patience:.0f} s"
        print(f"| {traffic:g} | {agents} | {pat} | {days} | {float(theory.service_level):.4f} | "
              f"{s.mean():.4f} ({s.std(ddof=1):.4f}) | {diff:+.2f} | "
              f"{float(theory.abandon_rate):.4f} | {a.mean():.4f} ({a.std(ddof=1):.4f}) | "
              f"{float(theory.asa_s):.2f} | {w.mean():.2f} ({w.std(ddof=1):.2f}) | "
              f"{np.mean(secs):.1f} |")
    print(f"\nLargest service-level difference: {worst:.2f} points.")


# --------------------------------------------------------------------------- backtest


def backtest_center(weeks: int = 20, seed: int = 5) -> SimConfig:
    """A London tenant (GB holidays closed) with two voice queues, ``weeks`` weeks."""
    queues = (QueueSim(name="sales", daily_volume=900), QueueSim(name="support",
                                                                 daily_volume=350))
    tenant = TenantSim(name="acme", timezone="Europe/London", country="GB",
                       opening_hours={"mon-fri": "08:00-20:00", "sat": "09:00-13:00"},
                       holidays=("2026-04-03", "2026-04-06", "2026-05-04"), queues=queues,
                       surveys=SurveySim(rate=0.0),
                       qa=QaSim(per_agent_week=0.0, mystery_per_week=0.0,
                                calibration_per_week=0.0))
    return SimConfig(start=date(2026, 1, 5), days=7 * weeks, seed=seed, tenants=(tenant,))


def bench_sim_backtest(test_weeks: int = 8) -> None:
    cfg = backtest_center()
    t0 = time.perf_counter()
    sim = simulate(cfg)
    t_sim = time.perf_counter() - t0
    wh = Warehouse.memory()
    load_frames(wh, {"contacts": sim.tables["contacts"]}, tenant="acme")
    scope = Scope.resolve(wh, Settings(tenants=cfg.settings_tenants(), default_tenant="acme"))
    t0 = time.perf_counter()
    hist = history(scope, ["sales", "support"], interval_s=1800)
    t_read = time.perf_counter() - t0
    expected = sim.tables["forecasts"]
    exp = pd.DataFrame({"unique_id": expected["queue"],
                        "ds": expected["interval_start_at"].dt.tz_convert("Europe/London")
                        .dt.tz_localize(None), "oracle": expected["volume"]})
    days = sorted({d.date() for d in hist["ds"].dt.normalize().unique()})
    origins = days[-test_weeks * 6:]
    print("\n## Forecast backtest on simulator data\n")
    print(f"Simulated tenant: London, Mon-Fri 08:00-20:00 and Sat 09:00-13:00, closed on 3 "
          f"public holidays, queues sales (900/day) and support (350/day), {cfg.days // 7} "
          f"weeks from {cfg.start} with the simulator's unforecast surges (5% of queue-days); "
          f"simulated in {t_sim:.1f} s, history read back through the KPI engine at 30 min "
          f"in {t_read:.1f} s ({len(hist):,} queue-intervals). Origins: each of the last "
          f"{len(origins)} open days; at each, `forecast()` sees only the days before it. "
          f"'oracle' is the simulator's own expected volume (no surges).\n")
    print("| horizon | origins | chosen WAPE | snaive-day WAPE | snaive-week WAPE "
          "| oracle WAPE | chosen / snaive-week | chosen MAPE | snaive-week MAPE "
          "| chosen models |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for horizon, label in ((1, "next day"), (6, "next week")):
        parts, picks = [], Counter()
        t0 = time.perf_counter()
        usable = [o for o in origins if o + timedelta(days=7) <= days[-1] or horizon == 1]
        for origin in usable:
            past = hist[hist["ds"] < pd.Timestamp(origin)]
            window = [d for d in days if d >= origin][:horizon]
            ahead = hist[hist["ds"].dt.date.isin(window)][["unique_id", "ds", "volume"]]
            row = ahead.rename(columns={"volume": "actual"})
            for name, models in (("chosen", None), ("snaive_day", ["seasonal_naive_day"]),
                                 ("snaive_week", ["seasonal_naive_week"])):
                kwargs = {} if models is None else {"models": models}
                res = forecast(past.rename(columns={"volume": "y"})[["unique_id", "ds", "y"]],
                               horizon_days=horizon, backtest_horizon_days=min(horizon, 6),
                               interval_s=1800, country="GB", **kwargs)
                if models is None:
                    picks.update(res.chosen.values())
                got = res.forecast.rename(columns={"y_hat": name})[["unique_id", "ds", name]]
                row = row.merge(got, on=["unique_id", "ds"], how="left")
            parts.append(row.merge(exp, on=["unique_id", "ds"], how="left"))
        secs = time.perf_counter() - t0
        frame = pd.concat(parts, ignore_index=True)
        # A horizon that runs over a closed holiday ends one open day short: the intervals
        # it does not reach are left out (for every method alike).
        frame = frame.dropna(subset=["chosen", "snaive_day", "snaive_week"])
        frame = frame.fillna({"oracle": 0.0})
        acc = {k: accuracy(frame[k], frame["actual"])
               for k in ("chosen", "snaive_day", "snaive_week", "oracle")}
        ratio = acc["chosen"].wape / acc["snaive_week"].wape
        pick_text = ", ".join(f"{k} {v}" for k, v in picks.most_common())
        print(f"| {label} | {len(usable)} | **{acc['chosen'].wape:.4f}** | "
              f"{acc['snaive_day'].wape:.4f} | {acc['snaive_week'].wape:.4f} | "
              f"{acc['oracle'].wape:.4f} | {ratio:.2f} | {acc['chosen'].mape:.4f} | "
              f"{acc['snaive_week'].mape:.4f} | {pick_text} |")
        sys.stderr.write(f"  sim backtest {label}: {secs:.1f} s\n")
