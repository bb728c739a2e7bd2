"""Agents: roster (hires, leavers), shifts sized to the expected load, breaks, absences,
trainings, and each agent's plan of logins, pauses and logouts for the event loop.

Staffing (``mode = "auto"``) follows the usual planning chain: expected load per 30-minute
block (Erlangs = arrivals x handle time) -> agents needed by square-root staffing
(``load + beta * sqrt(load)``) grossed up for shrinkage -> shifts placed greedily from the
first uncovered block -> shifts given to the agents available that day (not on vacation, not
in onboarding, at most five shifts a week). Agents then fall sick, log in a little late, take
their breaks when their contact ends, and pause for unplanned reasons, so the staffing the
queues see differs from the plan the way it does in real centers.

``mode = "fixed"`` is the textbook setting: identical agents logged in from the first minute
to an hour after the last (so calls still queued at the end are served), no breaks, no pauses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from contactkpi.simulate.arrivals import QueueLoad
from contactkpi.simulate.calendar import US_PER_MIN, US_PER_S, Clock, TenantCalendar, runs
from contactkpi.simulate.config import CampaignSim, Dist, QueueSim, TeamSim, TenantSim
from contactkpi.simulate.engine import LOGIN, LOGOUT, PAUSE, PlanItem

BLOCK_MIN = 30
CLOSE_WRAP_MIN = 10
FIXED_DRAIN_MIN = 60
_FIRST = ("Alex", "Sam", "Jo", "Priya", "Mateo", "Lena", "Omar", "Chloe", "Ivan", "Mei",
          "Tom", "Ana", "Kofi", "Sara", "Luca", "Nina", "Raj", "Eva", "Noah", "Aisha")
_LAST = ("Smith", "Garcia", "Okafor", "Novak", "Khan", "Rossi", "Silva", "Muller", "Chen",
         "Brown", "Kowalski", "Haddad", "Jones", "Costa", "Lind", "Patel", "Moreau", "Berg")
_LEAVE_REASONS = ("resigned", "resigned", "better_offer", "relocation", "dismissed",
                  "end_of_contract")
_COURSES = {"system": ("crm_update", "telephony_tools"),
            "skills": ("de_escalation", "active_listening"),
            "product": ("new_tariffs", "product_refresh"),
            "compliance": ("gdpr_refresher", "complaints_handling")}


@dataclass(eq=False)
class Agent:
    """One agent of one tenant: HR facts, behaviour and the shifts it works (compared by
    identity)."""

    agent_id: str
    tenant: str
    name: str
    team: str
    site: str
    supervisor: str
    skills: tuple[str, ...]
    campaign: str | None
    employment: str
    fte: float
    hourly_cost: float
    hired_on: date
    left_on: date | None
    leave_reason: str | None
    speed: float  # multiplies talk time
    resolve: float  # multiplies the queue's resolution rate
    quality: float  # standard score used by QA and surveys
    first_day: int  # first simulated day the agent can take calls (after onboarding)
    last_day: int  # last simulated day employed
    plan: list[PlanItem] = field(default_factory=list)
    shifts: list[tuple[int, int]] = field(default_factory=list)  # clock us (start, end)


@dataclass
class Workforce:
    """Everything about a tenant's people for one run."""

    agents: list[Agent]
    schedules: list[tuple[str, str, str | None, int, int]]  # agent, activity, queue, start, end
    absences: list[tuple[str, date, str, float, bool]]  # agent, date, kind, hours, planned
    trainings: list[tuple[str, str, str, int, float]]  # agent, course, category, start, hours
    unfilled_shifts: int = 0


def mean_of(d: Dist) -> float:
    return 0.0 if d.dist == "never" else d.mean


def handle_time_s(q: QueueSim) -> float:
    """Expected seconds an agent spends per answered contact of ``q``."""
    return mean_of(q.ring_s) + mean_of(q.talk_s) + q.hold_rate * mean_of(q.hold_s) + \
        mean_of(q.acw_s)


def team_loads(cal: TenantCalendar, tenant: TenantSim,
               loads: Mapping[str, QueueLoad]) -> dict[str, np.ndarray]:
    """Expected Erlangs per one-minute bin for each team (queues split by team share)."""
    teams = tenant.effective_teams()
    starts = cal.day_start[:-1]
    out = {t.name: np.zeros(cal.n_bins) for t in teams}
    for q in tenant.queues:
        expected = loads[q.name].expected
        if q.arrival_mode == "always":  # deferrable work: spread over the day's open minutes
            work = np.add.reduceat(expected, starts) * handle_time_s(q) if cal.n_bins else []
            open_min = np.add.reduceat(cal.open.astype(np.float64), starts)
            per_min = np.divide(work, open_min * 60.0, out=np.zeros(len(starts)),
                                where=open_min > 0)
            erl = per_min[cal.day] * cal.open
        else:
            erl = expected * handle_time_s(q) / 60.0
        holders = [t for t in teams if q.name in t.skills]
        total = sum(t.share for t in holders)
        for t in holders:
            out[t.name] += erl * (t.share / total if total > 0 else 0.0)
    return out


def required_agents(erlangs: np.ndarray, beta: float, shrinkage: float,
                    factor: float) -> np.ndarray:
    """Agents to schedule per block: square-root staffing grossed up for shrinkage."""
    need = (erlangs + beta * np.sqrt(erlangs)) / (1.0 - shrinkage) * factor
    return np.where(erlangs > 0.01, np.ceil(need - 0.15), 0).astype(np.int64)


def place_shifts(req: np.ndarray, full_blocks: int, part_blocks: int, part_share: float,
                 rng: np.random.Generator) -> list[tuple[int, int]]:
    """Shifts (first block, end block) covering ``req`` greedily from the left."""
    need = req.copy()
    active = np.flatnonzero(req > 0)
    if len(active) == 0:
        return []
    lo, hi = int(active[0]), int(active[-1]) + 1
    shifts = []
    for b in range(lo, hi):
        while need[b] > 0:
            length = part_blocks if rng.random() < part_share else full_blocks
            length = min(length, hi - lo)
            start = b if b + length <= hi else max(lo, hi - length)
            need[start:start + length] -= 1
            shifts.append((start, start + length))
    return shifts


def _activities(length_min: int, s: TenantSim, rng: np.random.Generator,
                extras: list[tuple[str, int]]) -> list[tuple[int, int, str]]:
    """Planned non-work activities of a shift: (offset min, duration min, activity)."""
    st = s.staffing
    acts: list[tuple[int, int, str]] = []
    if st.breaks:
        br, lunch = int(st.break_min), int(st.lunch_min)
        jitter = [int(x) for x in rng.integers(-4, 5, 3) * 5]
        if length_min >= 6 * 60:
            acts.append((120 + jitter[0], br, "break"))
            acts.append((240 + jitter[1], lunch, "lunch"))
            acts.append((length_min - 120 + jitter[2], br, "break"))
        elif length_min >= 3 * 60:
            acts.append((length_min // 2 + jitter[0], br, "break"))
    acts.sort()
    for activity, dur in extras:
        bounds = [0] + [a + d for a, d, _ in acts]
        nexts = [a for a, _, _ in acts] + [length_min]
        gaps = [(b0 + 15, b1 - 15) for b0, b1 in zip(bounds, nexts, strict=True)
                if b1 - b0 - 30 >= dur]
        if not gaps:
            continue
        g0, g1 = gaps[int(rng.integers(len(gaps)))]
        start = g0 + int(rng.integers(0, g1 - g0 - dur + 1)) // 5 * 5
        acts.append((start, dur, activity))
        acts.sort()
    return acts


class _Builder:
    """Builds one tenant's workforce."""

    def __init__(self, tenant: TenantSim, cal: TenantCalendar, clock: Clock,
                 rng: np.random.Generator, code: str) -> None:
        self.t = tenant
        self.cal = cal
        self.clock = clock
        self.rng = rng
        self.days = len(cal.dates)
        self.start = cal.dates[0]
        self.agents: list[Agent] = []
        self.schedules: list[tuple[str, str, str | None, int, int]] = []
        self.absences: list[tuple[str, date, str, float, bool]] = []
        self.trainings: list[tuple[str, str, str, int, float]] = []
        self.unfilled = 0
        self.vacation: dict[str, set[int]] = {}
        self.code = code

    # -- people ---------------------------------------------------------------------------
    def new_agent(self, team: str, skills: tuple[str, ...], campaign: str | None,
                  site: str, hired_on: date | None = None, part_time: bool = False,
                  uniform: bool = False) -> Agent:
        rng = self.rng
        n = len(self.agents) + 1
        new_hire = hired_on is not None
        if hired_on is None:
            hired_on = self.start - timedelta(days=int(rng.integers(60, 6 * 365)))
        q = 0.0 if uniform else float(rng.normal(-0.6 if new_hire else 0.0, 1.0))
        speed = 1.0 if uniform else float(np.exp(rng.normal(0.0, 0.12) - 0.04 * q)) * (
            1.2 if new_hire else 1.0)
        resolve = 1.0 if uniform else float(np.exp(0.05 * q))
        first = max(0, (hired_on - self.start).days + (self.t.staffing.onboarding_days
                                                      if new_hire else 0))
        agent = Agent(
            agent_id=f"{self.code}{n:04d}", tenant=self.t.name,
            name=f"{_FIRST[int(rng.integers(len(_FIRST)))]} "
                 f"{_LAST[int(rng.integers(len(_LAST)))]}",
            team=team, site=site, supervisor=f"tl-{team}", skills=skills, campaign=campaign,
            employment="part_time" if part_time else "full_time",
            fte=0.5 if part_time else 1.0,
            hourly_cost=round(self.t.staffing.hourly_cost * float(rng.uniform(0.9, 1.15)), 2),
            hired_on=hired_on, left_on=None, leave_reason=None, speed=speed, resolve=resolve,
            quality=q, first_day=first, last_day=self.days - 1,
        )
        self.agents.append(agent)
        if new_hire:
            for k in range(self.t.staffing.onboarding_days):
                day = (hired_on - self.start).days + k
                if 0 <= day < self.days:
                    self.trainings.append((agent.agent_id, "new_starter", "onboarding",
                                           self.local_us(day, 9 * 60), 8.0 * agent.fte))
        return agent

    def local_us(self, day: int, minute_of_day: int) -> int:
        """Clock time of the first bin of ``day`` at or after wall-clock ``minute_of_day``."""
        a, b = int(self.cal.day_start[day]), int(self.cal.day_start[day + 1])
        wall = self.cal.wall_minute[a:b]
        k = int(np.argmax(wall >= minute_of_day)) if (wall >= minute_of_day).any() else b - a - 1
        return (self.cal.first_minute + a + k) * US_PER_MIN

    def staff_team(self, agents: list[Agent], team: str, skills: tuple[str, ...],
                   campaign: str | None, site: str, headcount: int, part_share: float) -> None:
        """Initial agents, then leavers and their replacements."""
        s = self.t.staffing
        rng = self.rng
        for _ in range(headcount):
            agents.append(self.new_agent(team, skills, campaign, site,
                                         part_time=bool(rng.random() < part_share)))
        for ag in list(agents):
            if rng.random() < s.attrition_monthly * self.days / 30.0:
                day = int(rng.integers(0, self.days))
                ag.left_on = self.start + timedelta(days=day)
                ag.last_day = day
                ag.leave_reason = _LEAVE_REASONS[int(rng.integers(len(_LEAVE_REASONS)))]
                hire_day = day + s.hire_lag_days
                if hire_day < self.days:
                    agents.append(self.new_agent(team, skills, campaign, site,
                                                 hired_on=self.start + timedelta(days=hire_day),
                                                 part_time=ag.employment == "part_time"))
        for ag in agents:
            off: set[int] = set()
            for week0 in range(-(self.start.weekday()), self.days, 7):
                if rng.random() < s.vacation_rate:
                    for d in range(max(week0, 0), min(week0 + 5, self.days)):
                        if ag.first_day <= d <= ag.last_day:
                            off.add(d)
                            self.absences.append((ag.agent_id, self.cal.dates[d], "vacation",
                                                  8.0 * ag.fte, True))
            self.vacation[ag.agent_id] = off

    # -- shifts ---------------------------------------------------------------------------
    def assign(self, agents: list[Agent], day: int, shifts: list[tuple[int, int]],
               worked: dict[str, int], part_len: int) -> list[tuple[Agent, int, int]]:
        rng = self.rng
        pool = [a for a in agents if a.first_day <= day <= a.last_day
                and day not in self.vacation[a.agent_id] and worked[a.agent_id] < 5]
        keys = rng.random(len(pool))
        order = sorted(range(len(pool)), key=lambda i: (worked[pool[i].agent_id], keys[i]))
        pool = [pool[i] for i in order]
        out = []
        for start, end in sorted(shifts, key=lambda se: (-(se[1] - se[0]), se[0])):
            short = end - start <= part_len
            pick = next((a for a in pool if (a.employment == "part_time") == short), None)
            if pick is None:
                pick = pool[0] if pool else None
            if pick is None:
                self.unfilled += 1
                continue
            pool.remove(pick)
            worked[pick.agent_id] += 1
            out.append((pick, start, end))
        return out

    def work_shift(self, ag: Agent, day: int, start_us: int, end_us: int,
                   queue: str | None) -> None:
        """Schedule rows, sickness, breaks, trainings and the agent's plan for one shift."""
        s = self.t.staffing
        rng = self.rng
        length_min = (end_us - start_us) // US_PER_MIN
        hours = (length_min - (s.lunch_min if length_min >= 360 else 0)) / 60.0
        if rng.random() < s.sick_rate:
            kind = "sick" if rng.random() < 0.85 else ("personal" if rng.random() < 0.6
                                                        else "unexcused")
            self.absences.append((ag.agent_id, self.cal.dates[day], kind, round(hours, 2),
                                  False))
            self._schedule_rows(ag, start_us, end_us, [], queue)
            return
        extras: list[tuple[str, int]] = []
        weekly = 1.0 / 5.0
        if rng.random() < s.training_rate * weekly:
            extras.append(("training", int(rng.choice([60, 90]))))
        if rng.random() < s.coaching_rate * weekly:
            extras.append(("coaching", 30))
        if rng.random() < 0.1 * weekly:
            extras.append(("meeting", 30))
        acts = _activities(length_min, self.t, rng, extras)
        self._schedule_rows(ag, start_us, end_us, acts, queue)
        jit = s.login_jitter_s * US_PER_S
        login = start_us + int(np.clip(rng.normal(0.3, 1.0), -2.0, 6.0) * jit)
        logout = end_us + int(np.clip(abs(rng.normal(0.0, 1.0)), 0.0, 3.0) * jit)
        plan: list[PlanItem] = [(login, LOGIN, "", 0), (logout, LOGOUT, "", 0)]
        for offset, dur, activity in acts:
            t0 = start_us + offset * US_PER_MIN
            overrun = 1.0 + max(0.0, float(rng.normal(0.04, 0.08))) if activity in (
                "break", "lunch") else 1.0
            plan.append((t0, PAUSE, activity, int(dur * US_PER_MIN * overrun)))
            if activity == "training":
                category = ("system", "skills", "product", "compliance")[int(rng.integers(4))]
                course = _COURSES[category][int(rng.integers(2))]
                self.trainings.append((ag.agent_id, course, category, t0, dur / 60.0))
        n_pauses = int(rng.poisson(s.pauses_per_shift * length_min / 510.0))
        for _ in range(n_pauses):
            t0 = start_us + int(rng.uniform(10, max(11, length_min - 10)) * US_PER_MIN)
            reason, mean = ("personal", 240.0) if rng.random() < 0.7 else ("technical", 180.0)
            plan.append((t0, PAUSE, reason, int(rng.lognormal(math.log(mean), 0.6) * US_PER_S)))
        plan.sort(key=lambda p: (p[0], p[1] != LOGIN))
        if plan[0][1] != LOGIN:  # a pause planned before a late login: drop it
            plan = [p for p in plan if not (p[1] == PAUSE and p[0] < login)]
            plan.sort(key=lambda p: (p[0], p[1] != LOGIN))
        last = max(p[0] for p in plan if p[1] != LOGOUT)
        plan = [p if p[1] != LOGOUT else (max(p[0], last + 1), LOGOUT, "", 0) for p in plan]
        plan.sort(key=lambda p: (p[0], p[1] != LOGIN))
        ag.plan.extend(plan)
        ag.shifts.append((start_us, end_us))

    def _schedule_rows(self, ag: Agent, start_us: int, end_us: int,
                       acts: list[tuple[int, int, str]], queue: str | None) -> None:
        t = start_us
        for offset, dur, activity in acts:
            a0 = start_us + offset * US_PER_MIN
            if a0 > t:
                self.schedules.append((ag.agent_id, "work", queue, t, a0))
            self.schedules.append((ag.agent_id, activity, None, a0, a0 + dur * US_PER_MIN))
            t = a0 + dur * US_PER_MIN
        if end_us > t:
            self.schedules.append((ag.agent_id, "work", queue, t, end_us))

    # -- teams ----------------------------------------------------------------------------
    def inbound_auto(self, loads: Mapping[str, QueueLoad]) -> None:
        t, s, rng, cal = self.t, self.t.staffing, self.rng, self.cal
        full = int(math.ceil((s.shift_h * 60 + (s.lunch_min if s.breaks else 0)) / BLOCK_MIN))
        part = int(math.ceil(s.part_time_h * 60 / BLOCK_MIN))
        erl = team_loads(cal, t, loads)
        for team in t.effective_teams():
            by_day: list[list[tuple[int, int]]] = []
            for d in range(self.days):
                a0, b0 = int(cal.day_start[d]), int(cal.day_start[d + 1])
                idx = np.arange(0, b0 - a0, BLOCK_MIN)
                load = np.add.reduceat(erl[team.name][a0:b0], idx) / np.diff(
                    np.append(idx, b0 - a0))
                noise = max(0.5, 1.0 + float(rng.normal(0.0, s.daily_noise)))
                req = required_agents(load, s.beta, s.shrinkage, s.factor * noise)
                placed = place_shifts(req, full, part, s.part_time_share, rng)
                by_day.append([(a0 + int(idx[i]), min(b0, a0 + int(idx[j - 1]) + BLOCK_MIN))
                               for i, j in placed])
            weeks: dict[tuple[int, int], int] = {}
            for d, shifts in enumerate(by_day):
                key = cal.dates[d].isocalendar()[:2]
                weeks[key] = weeks.get(key, 0) + len(shifts)
            peak = max(weeks.values(), default=0)
            headcount = int(math.ceil(peak / 5.0 * (1 + s.vacation_rate + s.sick_rate) + 1)) \
                if peak else 0
            members: list[Agent] = []
            self.staff_team(members, team.name, team.skills, None, team.site, headcount,
                            s.part_time_share)
            self._work_days(members, by_day, part * BLOCK_MIN, self._queue_of(team))

    def _queue_of(self, team: TeamSim) -> str | None:
        return team.skills[0] if len(team.skills) == 1 else None

    def _work_days(self, members: list[Agent], by_day: list[list[tuple[int, int]]],
                   part_len: int, queue: str | None) -> None:
        cal = self.cal
        worked: dict[str, int] = {a.agent_id: 0 for a in members}
        last_week = None
        for d, shifts in enumerate(by_day):
            week = cal.dates[d].isocalendar()[:2]
            if week != last_week:
                worked = dict.fromkeys(worked, 0)
                last_week = week
            day_end = int(cal.day_start[d + 1])
            open_bins = np.flatnonzero(cal.open[cal.day_start[d]:day_end])
            close = int(cal.day_start[d] + open_bins[-1] + 1) if len(open_bins) else day_end
            for ag, a, b in self.assign(members, d, shifts, worked, part_len):
                end = b + (CLOSE_WRAP_MIN if b >= close else 0)
                self.work_shift(ag, d, (cal.first_minute + a) * US_PER_MIN,
                                (cal.first_minute + end) * US_PER_MIN, queue)

    def inbound_fixed(self) -> None:
        t, cal = self.t, self.cal
        skills = tuple(q.name for q in t.queues)
        start = cal.first_minute * US_PER_MIN
        end = self.clock.end_us + FIXED_DRAIN_MIN * US_PER_MIN  # serve who is still queued
        for _ in range(t.staffing.agents):
            ag = self.new_agent("team", skills, None, "main", uniform=True)
            ag.plan = [(start, LOGIN, "", 0), (end, LOGOUT, "", 0)]
            ag.shifts.append((start, end))
            self.schedules.append((ag.agent_id, "work", None, start, end))
        self.vacation = {a.agent_id: set() for a in self.agents}

    def campaign(self, c: CampaignSim) -> None:
        from contactkpi.config import OpeningHours

        cal = self.cal
        mask = cal.hours_mask(OpeningHours.parse(c.hours, f"{self.t.name}.campaigns"))
        by_day: list[list[tuple[int, int]]] = []
        for d in range(self.days):
            a, b = int(cal.day_start[d]), int(cal.day_start[d + 1])
            s_runs, e_runs = runs(mask[a:b])
            window = [(a + int(s0), a + int(e0)) for s0, e0 in zip(s_runs, e_runs, strict=True)]
            by_day.append([window[0]] * c.agents if window else [])
        members: list[Agent] = []
        self.staff_team(members, f"{c.name}_team", (), c.name, "main", c.agents, 0.0)
        cal_first = cal.first_minute
        worked: dict[str, int] = {}
        for d, shifts in enumerate(by_day):
            if not shifts:
                continue
            worked = dict.fromkeys((a.agent_id for a in members), 0)  # every window day
            for ag, a, b in self.assign(members, d, shifts, worked, 0):
                self.work_shift(ag, d, (cal_first + a) * US_PER_MIN, (cal_first + b) * US_PER_MIN,
                                None)


def build_workforce(tenant: TenantSim, cal: TenantCalendar, clock: Clock,
                    loads: Mapping[str, QueueLoad], rng: np.random.Generator,
                    code: str) -> Workforce:
    """Roster, shifts, absences, trainings and plans of one tenant (agent ids ``code0001``)."""
    b = _Builder(tenant, cal, clock, rng, code)
    if tenant.queues:
        if tenant.staffing.mode == "fixed":
            b.inbound_fixed()
        else:
            b.inbound_auto(loads)
    for c in tenant.campaigns:
        b.campaign(c)
    return Workforce(agents=b.agents, schedules=b.schedules, absences=b.absences,
                     trainings=b.trainings, unfilled_shifts=b.unfilled)
