"""Run a whole simulated center: arrivals, agents, the event loop, campaigns, then tables."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from functools import cached_property

import numpy as np
import pandas as pd

from contactkpi.simulate import contacts as contact_tables
from contactkpi.simulate import costs, feedback, people
from contactkpi.simulate import states as state_tables
from contactkpi.simulate.arrivals import draw_day_times, intraday_shape, queue_load
from contactkpi.simulate.calendar import US_PER_MIN, Clock, build_calendar, build_clock
from contactkpi.simulate.config import SimConfig, default_config
from contactkpi.simulate.engine import (
    ABANDONED,
    NEVER,
    TIMEOUT,
    AgentSpec,
    ContactBook,
    QueueSpec,
    run,
)
from contactkpi.simulate.outbound import run_campaign
from contactkpi.simulate.rundata import QueueInfo, RunData
from contactkpi.simulate.workforce import build_workforce

#: Canonical tables a run produces, in load order.
TABLE_NAMES = ("contacts", "agent_states", "surveys", "qa_evaluations", "roster", "absences",
               "trainings", "costs", "schedules", "forecasts")

@dataclass
class Simulation:
    """A finished run: canonical tables (pandas), the raw queue events and the config used."""

    config: SimConfig
    clock: Clock
    tables: dict[str, pd.DataFrame]
    data: RunData

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    @cached_property
    def events(self) -> pd.DataFrame:
        """Queue events (enterqueue, ringnoanswer, connect, transfer, complete, abandon,
        timeout) of the inbound contacts in time order, for raw-format writers; built on first
        use."""
        return contact_tables.events(self.data)

    @property
    def start_at(self) -> pd.Timestamp:
        return self.clock.origin

    @property
    def end_at(self) -> pd.Timestamp:
        return self.clock.origin + pd.Timedelta(microseconds=self.clock.end_us)


def _to_us(seconds: np.ndarray) -> np.ndarray:
    out = np.full(len(seconds), NEVER, dtype=np.int64)
    finite = np.isfinite(seconds) & (seconds < 4e12)
    out[finite] = np.round(seconds[finite] * 1e6).astype(np.int64)
    return out


def _fresh_columns(info: QueueInfo, times: np.ndarray, cfg: SimConfig, reason_base: int,
                   rng: np.random.Generator, queue_index: dict[str, int]) -> dict[str, np.ndarray]:
    """Everything drawn up front for the fresh arrivals of one queue (clock microseconds)."""
    q = info.sim
    tenant = cfg.tenants[info.tenant]
    n = len(times)
    patience = q.patience_s.sample(rng, n)
    limit_us = _to_us(np.minimum(patience, q.max_wait_s))
    deadline = np.where(limit_us >= NEVER, NEVER, times + np.minimum(limit_us, NEVER - times))
    give_up = np.where(patience <= q.max_wait_s, ABANDONED, TIMEOUT)
    hold = np.where(rng.random(n) < q.hold_rate, q.hold_s.sample(rng, n), 0.0)
    xfer = np.full(n, -1, dtype=np.int64)
    if q.transfer_to and q.transfer_rate > 0:
        targets = np.array([queue_index[name] for name in q.transfer_to])
        hit = rng.random(n) < q.transfer_rate
        xfer[hit] = targets[rng.integers(0, len(targets), int(hit.sum()))]
    weights = np.array(list(q.reasons.values()), dtype=np.float64)
    reason = reason_base + rng.choice(len(weights), size=n, p=weights / weights.sum())
    return {
        "arr": times,
        "queue": np.full(n, info.index, dtype=np.int64),
        "deadline": deadline,
        "give_up": give_up,
        "ring": _to_us(q.ring_s.sample(rng, n)),
        "talk": np.maximum(_to_us(q.talk_s.sample(rng, n)), 1_000_000),
        "hold": _to_us(hold),
        "acw": _to_us(q.acw_s.sample(rng, n)),
        "rna": rng.random(n) < tenant.staffing.rna_rate,
        "xfer": xfer,
        "res_u": rng.random(n),
        "rep_u": rng.random(n),
        "rep_delay": _to_us(q.repeat_delay_s.sample(rng, n)),
        "redial_u": rng.random(n),
        "redial_delay": _to_us(q.redial_delay_s.sample(rng, n)),
        "customer": rng.integers(0, max(tenant.customers, 1), n),
        "reason": reason,
    }


def _next_open_for(at: Callable[[int, random.Random], int | None] | None,
                   r: random.Random) -> Callable[[int], int | None]:
    if at is None:
        return lambda t: t
    return lambda t: at(t, r)


def prepare(cfg: SimConfig) -> RunData:
    """Draw arrivals and agents and run the event loop and campaigns (no tables yet)."""
    settings = [t.settings_tenant() for t in cfg.tenants]
    clock = build_clock(settings, cfg.start, cfg.days)
    cals = [build_calendar(s, cfg.start, cfg.days, clock) for s in settings]
    codes: list[str] = []
    for i, t in enumerate(cfg.tenants):
        code = "".join(ch for ch in t.name if ch.isalnum())[:3].lower() or "t"
        codes.append(code if code not in codes else f"{code}{i}")

    def rng(*keys: int) -> np.random.Generator:
        return np.random.default_rng([cfg.seed, *keys])

    def day_rng(*keys: int) -> Callable[[date], np.random.Generator]:
        """Generators of one local day each: the same date, the same draws in any run."""
        return lambda day: rng(*keys, day.toordinal())

    queues: list[QueueInfo] = []
    reasons: list[str] = []
    reason_base: list[int] = []
    for ti, t in enumerate(cfg.tenants):
        for qi, q in enumerate(t.queues):
            load = queue_load(cals[ti], t, q, cfg.volume_scale, day_rng(ti, 1, qi))
            queues.append(QueueInfo(index=len(queues), tenant=ti, sim=q, load=load))
            reason_base.append(len(reasons))
            reasons.extend(q.reasons)
    index_of = {(info.tenant, info.sim.name): info.index for info in queues}
    for info in list(queues):  # plan transferred-in contacts in the target queues
        src = info.sim
        for target in src.transfer_to:
            j = index_of[(info.tenant, target)]
            extra = queues[j].load.expected + info.load.expected * src.transfer_rate / len(
                src.transfer_to)
            queues[j] = replace(queues[j], load=replace(queues[j].load, expected=extra))

    parts: dict[str, list[np.ndarray]] = {}
    blocked: dict[str, list] = {"arr": [], "queue": [], "customer": []}
    for info in queues:
        ti = info.tenant
        t = cfg.tenants[ti]
        qi = t.queues.index(info.sim)
        times = draw_day_times(day_rng(ti, 2, qi), info.load.fresh, cals[ti])
        local_index = {q.name: index_of[(ti, q.name)] for q in t.queues}
        part = _fresh_columns(info, times, cfg, reason_base[info.index], rng(ti, 4, qi),
                              local_index)
        for k, v in part.items():
            parts.setdefault(k, []).append(v)
        # callers of this queue's number while closed: they hear the closed message
        out = draw_day_times(day_rng(ti, 3, qi), info.load.outside, cals[ti])
        brng = rng(ti, 6, qi)
        blocked["arr"].extend(out.tolist())
        blocked["queue"].extend([info.index] * len(out))
        blocked["customer"].extend(brng.integers(0, max(t.customers, 1), len(out)).tolist())
    cols: dict[str, list] = {}
    if parts:
        merged = {k: np.concatenate(v) for k, v in parts.items()}
        order = np.argsort(merged["arr"], kind="stable")
        cols = {k: v[order].tolist() for k, v in merged.items()}

    specs = []
    for info in queues:
        q = info.sim
        t = cfg.tenants[info.tenant]
        specs.append(QueueSpec(
            talk_s=q.talk_s, hold_rate=q.hold_rate, hold_s=q.hold_s, acw_s=q.acw_s,
            ring_s=q.ring_s, patience_s=q.patience_s, max_wait_s=q.max_wait_s,
            transfer_rate=q.transfer_rate,
            transfer_to=tuple(index_of[(info.tenant, name)] for name in q.transfer_to),
            resolution_rate=q.resolution_rate, repeat_rate=q.repeat_rate,
            repeat_delay_s=q.repeat_delay_s, redial_rate=q.redial_rate,
            redial_delay_s=q.redial_delay_s, rna_rate=t.staffing.rna_rate,
            rna_timeout_s=t.staffing.rna_timeout_s, priority=q.priority))
    open_rng = random.Random(cfg.seed * 7919 + 1)
    returns = [cal.return_times(intraday_shape(t, cal.wall_minute))
               for t, cal in zip(cfg.tenants, cals, strict=True)]
    next_open = [
        _next_open_for(None if info.sim.arrival_mode == "always" else
                       returns[info.tenant].at, open_rng)
        for info in queues
    ]
    # follow-ups stop at the end of their tenant's last local day
    tenant_end = [(cal.first_minute + cal.n_bins) * US_PER_MIN for cal in cals]
    book = ContactBook(specs, cfg.seed * 104729 + 3, next_open,
                       [tenant_end[info.tenant] for info in queues])
    if cols:
        book.add_fresh(cols)

    workforces = []
    engine_agents = []
    agent_specs = []
    campaigns = []
    for ti, t in enumerate(cfg.tenants):
        loads = {info.sim.name: info.load for info in queues if info.tenant == ti}
        wf = build_workforce(t, cals[ti], clock, loads, rng(ti, 5), codes[ti])
        workforces.append(wf)
        for ag in wf.agents:
            if ag.campaign is None:
                engine_agents.append(ag)
                agent_specs.append(AgentSpec(
                    skills=tuple(index_of[(ti, s)] for s in ag.skills), plan=ag.plan,
                    speed=ag.speed, resolve=ag.resolve, rna_pause_s=t.staffing.rna_pause_s))
        for ci, c in enumerate(t.campaigns):
            members = [a for a in wf.agents if a.campaign == c.name]
            campaigns.append((ti, c, run_campaign(c, members, cfg.seed * 31 + ti * 1009 + ci,
                                                  clock.end_us)))
    log = run(book, agent_specs)
    return RunData(
        cfg=cfg, clock=clock, calendars=cals, codes=codes, queues=queues, reasons=reasons,
        book=book, log=log, engine_agents=engine_agents, workforces=workforces,
        blocked={k: np.asarray(v, dtype=np.int64) for k, v in blocked.items()},
        campaigns=campaigns,
    )


def simulate(config: SimConfig | None = None, *, seed: int | None = None,
             days: int | None = None, start: date | None = None,
             volume_scale: float | None = None) -> Simulation:
    """Simulate a contact center and return its canonical tables.

    Args:
        config: the center to simulate; the shipped default (two client tenants) if None.
        seed: overrides ``config.seed``; the same seed gives exactly the same data.
        days: overrides ``config.days`` (local days per tenant from ``start``).
        start: overrides ``config.start`` (first local day).
        volume_scale: overrides ``config.volume_scale`` (multiplies every queue's volume;
            staffing follows).

    Returns:
        A :class:`Simulation` with ``tables`` (``contacts``, ``agent_states``, ``surveys``,
        ``qa_evaluations``, ``roster``, ``absences``, ``trainings``, ``costs``, ``schedules``,
        ``forecasts``) and ``events`` (queue events kept for raw-format writers).
    """
    cfg = (config or default_config()).with_overrides(seed=seed, days=days, start=start,
                                                      volume_scale=volume_scale)
    data = prepare(cfg)
    contacts = contact_tables.build(data)
    agent_states = state_tables.build(data)
    trainings = people.trainings(data)
    tables = {
        "contacts": contacts,
        "agent_states": agent_states,
        "surveys": feedback.surveys(data, contacts),
        "qa_evaluations": feedback.qa_evaluations(data, contacts),
        "roster": people.roster(data),
        "absences": people.absences(data),
        "trainings": trainings,
        "costs": costs.build(data, contacts, agent_states, trainings),
        "schedules": people.schedules(data),
        "forecasts": people.forecasts(data),
    }
    return Simulation(config=cfg, clock=data.clock, tables=tables, data=data)
