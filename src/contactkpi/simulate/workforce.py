"""Agents: roster (hires, leavers), shifts planned for the expected load, breaks, absences,
trainings, and each agent's plan of logins, pauses and logouts for the event loop.

Staffing (``mode = "auto"``) follows the planning chain of a real WFM team, per team and
15-minute slot of each local day:

1. expected arrivals and handle time of the tenant's phone queues -> agents needed by Erlang
   C for the tenant's target (``service_level`` within ``threshold_s``), shared among the teams
   by their part of that work and multiplied by ``factor``, plus each team's written work
   (e-mails: done as they arrive while open, the night's backlog in the two hours before
   opening), grossed up for unplanned shrinkage (sickness, pauses, late logins);
2. shifts covering that need plus an allowance for breaks: long shifts (up to ``shift_h``
   plus lunch) laid under the day's base load, shorter ones (down to ``part_time_h``) under
   its peaks, then every shift cut back where it is not needed, so coverage follows the
   intraday profile, opening rush included;
3. breaks, lunch, trainings and coaching placed where the coverage has most to spare;
   part-time shifts added wherever that still leaves a slot short;
4. shifts given to the agents available that day (not on vacation, not in onboarding, at most
   five shifts a week); headcount is sized on a whole week, so a short run is staffed like the
   same days of a long one. Each team's day is planned from a generator of that team and date
   alone: a calendar day gets the same plan whatever the run length.

Agents then fall sick, log in a little early or late, take their breaks when their contact
ends, and pause for unplanned reasons; volumes stray from the plan half-hour by half-hour and
unforecast surges come, so the staffing the queues see differs from what they need the way it
does in real centers: misses are occasional, from too much volume or too few agents.

``mode = "fixed"`` is the textbook setting: identical agents logged in from the first minute
to an hour after the last (so calls still queued at the end are served), no breaks, no pauses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from contactkpi.simulate.arrivals import QueueLoad
from contactkpi.simulate.calendar import US_PER_MIN, US_PER_S, Clock, TenantCalendar, runs
from contactkpi.simulate.config import (
    CampaignSim,
    Dist,
    QueueSim,
    StaffingSim,
    TeamSim,
    TenantSim,
)
from contactkpi.simulate.engine import LOGIN, LOGOUT, PAUSE, PlanItem
from contactkpi.simulate.erlang import agents_for_service_level

BLOCK_MIN = 30  # forecast intervals
SLOT_MIN = 15  # planning slots
WRITTEN_OCCUPANCY = 0.9  # e-mail work planned at this occupancy
BREAK_ALLOWANCE = 0.1  # shifts cover the need plus this share for breaks placed afterwards
BACKLOG_MIN = 120  # written work that piled up while closed is planned over this long

#: A shift of one day: first and end bin on the tenant's calendar, planned activities
#: (offset from the start and duration in minutes, activity).
Shift = tuple[int, int, list[tuple[int, int, str]]]
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
    planned: dict[str, list[list[Shift]]] = field(default_factory=dict)  # team -> day -> shifts


def mean_of(d: Dist) -> float:
    return 0.0 if d.dist == "never" else d.mean


def handle_time_s(q: QueueSim) -> float:
    """Expected seconds an agent spends per answered contact of ``q``."""
    return mean_of(q.ring_s) + mean_of(q.talk_s) + q.hold_rate * mean_of(q.hold_s) + \
        mean_of(q.acw_s)


@dataclass(frozen=True)
class TeamDemand:
    """What a team is expected to handle, per one-minute bin of the tenant's calendar."""

    arrivals: np.ndarray  # expected phone (and other live-channel) contacts
    work_s: np.ndarray  # their expected handling seconds
    written_erlangs: np.ndarray  # written work, when it gets done (see written_erlangs)


def team_demand(cal: TenantCalendar, tenant: TenantSim,
                loads: Mapping[str, QueueLoad]) -> dict[str, TeamDemand]:
    """Expected load per team (each queue split over the teams holding it by their share)."""
    teams = tenant.effective_teams()
    out = {t.name: TeamDemand(np.zeros(cal.n_bins), np.zeros(cal.n_bins), np.zeros(cal.n_bins))
           for t in teams}
    for q in tenant.queues:
        expected = loads[q.name].expected
        holders = [t for t in teams if q.name in t.skills]
        total = sum(t.share for t in holders)
        if q.written:
            erl = written_erlangs(cal, expected * handle_time_s(q))
        for t in holders:
            share = t.share / total if total > 0 else 0.0
            d = out[t.name]
            if q.written:
                d.written_erlangs[:] += erl * share
            else:
                d.arrivals[:] += expected * share
                d.work_s[:] += expected * (handle_time_s(q) * share)
    return out


def written_erlangs(cal: TenantCalendar, work_s: np.ndarray) -> np.ndarray:
    """When written work (seconds arriving per bin) gets done, in Erlangs per bin: work that
    arrives while open as it arrives; what piled up while closed in the ``BACKLOG_MIN``
    minutes before the next opening (the back office starts early to clear the night's
    e-mails before the phones open)."""
    out = np.where(cal.open, work_s, 0.0)
    starts, ends = runs(cal.open)
    prev = 0
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        backlog = float(work_s[prev:a].sum())
        k = min(BACKLOG_MIN, a - prev)
        if k > 0:
            out[a - k:a] += backlog / k
        else:  # no closed time before: first thing after opening
            out[a:a + min(BACKLOG_MIN, b - a)] += backlog / min(BACKLOG_MIN, b - a)
        prev = b
    return out / 60.0


def slot_starts(n_bins: int) -> np.ndarray:
    """First bin of each planning slot of a day with ``n_bins`` minutes."""
    return np.arange(0, n_bins, SLOT_MIN)


def required_agents(demand: Mapping[str, TeamDemand], cal: TenantCalendar, tenant: TenantSim,
                    noise: Mapping[str, Sequence[float]]) -> dict[str, list[np.ndarray]]:
    """Agents each team schedules per planning slot of each day.

    The tenant's phone work is pooled (agents with several skills serve several queues): Erlang
    C gives the agents it needs for the tenant's target, times ``factor``, shared among the
    teams in proportion to their part of that work. Each team adds its written work, grosses
    up for unplanned shrinkage and multiplies by its planning error of the day ``noise[d]``.
    """
    st = tenant.staffing
    idx = [slot_starts(int(cal.day_start[d + 1] - cal.day_start[d]))
           for d in range(len(cal.dates))]
    if not idx or not demand:
        return {name: [] for name in demand}
    lengths = [len(ix) for ix in idx]
    day_of_slot = np.repeat(np.arange(len(idx)), lengths)

    def per_slot(x: np.ndarray) -> np.ndarray:
        return np.concatenate([np.add.reduceat(x[int(cal.day_start[d]):int(cal.day_start[d + 1])],
                                               ix) for d, ix in enumerate(idx)])

    minutes = np.concatenate([np.diff(np.append(ix, int(cal.day_start[d + 1] - cal.day_start[d])))
                              for d, ix in enumerate(idx)]).astype(np.float64)
    arrivals = {name: per_slot(d.arrivals) for name, d in demand.items()}
    work = {name: per_slot(d.work_s) for name, d in demand.items()}
    total_arr = sum(arrivals.values())
    total_work = sum(work.values())
    erl = total_work / (minutes * 60.0)
    aht = np.divide(total_work, total_arr, out=np.ones(len(erl)), where=total_arr > 0)
    pooled = agents_for_service_level(np.where(erl > 1e-4, erl, 0.0), aht, st.service_level,
                                      st.threshold_s)
    out = {}
    for name, d in demand.items():
        share = np.divide(work[name], total_work, out=np.zeros(len(erl)), where=total_work > 0)
        written = per_slot(d.written_erlangs) / minutes  # mean over the slot's minutes
        need = (pooled * share * st.factor + written / WRITTEN_OCCUPANCY) / (1.0 - st.shrinkage)
        need = need * np.asarray(noise[name], dtype=np.float64)[day_of_slot]
        req = np.where(need > 0.01, np.ceil(need - 0.1), 0).astype(np.int64)
        out[name] = np.split(req, np.cumsum(lengths)[:-1])
    return out


def shift_lengths(st: StaffingSim) -> list[int]:
    """Shift lengths in planning slots, shortest first: whole hours from the part-time length
    to the full one (a lunch is added to shifts of six hours or more)."""
    lunch = st.lunch_min if st.breaks else 0.0
    hours = np.arange(st.part_time_h, st.shift_h + 1e-9, 1.0)
    if len(hours) == 0 or hours[-1] < st.shift_h:
        hours = np.append(hours, st.shift_h)
    return sorted({int(math.ceil((h * 60 + (lunch if h >= 6 else 0.0)) / SLOT_MIN))
                   for h in hours})


def place_shifts(req: np.ndarray, lengths: Sequence[int],
                 rng: np.random.Generator) -> list[tuple[int, int]]:
    """Shifts (first slot, end slot) covering ``req`` with little coverage beyond it.

    Longest shifts first: the closing shift, the opening shift, then every start from the
    first slot on takes as many shifts of that length as fit under what is still needed over
    their whole span (no agent beyond the need), so long shifts carry the day's base load and
    shorter ones its peaks. What is left (short spikes) is covered greedily with the shortest
    shifts from the first slot short.
    """
    active = np.flatnonzero(req > 0)
    if len(active) == 0:
        return []
    lo, hi = int(active[0]), int(active[-1]) + 1
    left = req.astype(np.int64).copy()
    shifts: list[tuple[int, int]] = []
    for length in sorted(lengths, reverse=True):
        if length > hi - lo:
            continue
        # the fewest still needed over each window [t, t + length)
        for t in (hi - length, lo, *range(lo + 1, hi - length)):
            k = int(left[t:t + length].min())
            if k > 0:
                left[t:t + length] -= k
                shifts.extend([(t, t + length)] * k)
    length = min(min(lengths), hi - lo)
    for b in range(lo, hi):
        while left[b] > 0:
            start = b if b + length <= hi else max(lo, hi - length)
            left[start:start + length] -= 1
            shifts.append((start, start + length))
    return trim_shifts(shifts, -left, min(min(lengths), hi - lo), rng)


def trim_shifts(shifts: list[tuple[int, int]], surplus: np.ndarray, min_slots: int,
                rng: np.random.Generator) -> list[tuple[int, int]]:
    """Drop shifts covering only slots with agents to spare, then shorten the others (down
    to ``min_slots``) at either end while that end has agents to spare (``surplus``: agents
    beyond the need per slot, updated)."""
    out = []
    for i in rng.permutation(len(shifts)):  # no meaning in the order agents are listed
        a, b = shifts[i]
        if surplus[a:b].min() > 0:
            surplus[a:b] -= 1
            continue
        while b - a > min_slots and surplus[b - 1] > 0:
            b -= 1
            surplus[b] -= 1
        while b - a > min_slots and surplus[a] > 0:
            surplus[a] -= 1
            a += 1
        out.append((a, b))
    return out


def activity_windows(length_min: int, st: StaffingSim) -> list[tuple[str, int, int, int]]:
    """Breaks of a shift as (activity, duration min, earliest and latest start offset min)."""
    if not st.breaks:
        return []
    br, lunch = int(st.break_min), int(st.lunch_min)
    half = length_min // 2
    if length_min >= 6 * 60:
        return [("lunch", lunch, half - 90, half + 45), ("break", br, 60, 150),
                ("break", br, length_min - 150, length_min - 60)]
    if length_min > 4 * 60:
        return [("break", br, half - 45, half + 30)]
    return []  # four hours or less: no break


def extra_activities(length_min: int, st: StaffingSim,
                     rng: np.random.Generator) -> list[tuple[str, int, int, int]]:
    """Trainings, coaching and meetings drawn for one shift (at the weekly rates)."""
    extras: list[tuple[str, int]] = []
    weekly = 1.0 / 5.0
    if rng.random() < st.training_rate * weekly:
        extras.append(("training", int(rng.choice([60, 90]))))
    if rng.random() < st.coaching_rate * weekly:
        extras.append(("coaching", 30))
    if rng.random() < 0.1 * weekly:
        extras.append(("meeting", 30))
    return [(a, d, 30, length_min - 30 - d) for a, d in extras if length_min - 60 >= d]


class DayPlan:
    """One team's day: shifts on the planning-slot grid with their activities placed where
    the coverage (agents on shift, not on a break) has most to spare over the need."""

    def __init__(self, req: np.ndarray, st: StaffingSim, rng: np.random.Generator) -> None:
        self.req = req
        self.st = st
        self.rng = rng
        self.surplus = (-req).astype(np.int64).tolist()  # coverage - need, per slot
        self.shifts: list[tuple[int, int]] = []
        self.acts: list[list[tuple[int, int, str]]] = []  # per shift: (offset min, min, what)
        self.busy: list[list[tuple[int, int]]] = []  # per shift: occupied slot ranges

    def add(self, start: int, end: int, extras: bool = True) -> None:
        """A shift of slots ``start .. end - 1`` with its breaks (and extras) placed."""
        for k in range(start, end):
            self.surplus[k] += 1
        self.shifts.append((start, end))
        self.acts.append([])
        self.busy.append([])
        i = len(self.shifts) - 1
        length = (end - start) * SLOT_MIN
        wanted = activity_windows(length, self.st)
        if extras:
            wanted += extra_activities(length, self.st, self.rng)
        for what, dur, lo_min, hi_min in wanted:
            self._place(i, what, dur, lo_min, hi_min)

    def _place(self, i: int, what: str, dur: int, lo_min: int, hi_min: int) -> None:
        start, end = self.shifts[i]
        n = max(1, -(-dur // SLOT_MIN))
        first = start + max(0, -(-lo_min // SLOT_MIN))
        last = min(start + max(0, hi_min) // SLOT_MIN, end - n)
        best, best_k = None, -1
        surplus = self.surplus
        for k in range(first, last + 1):
            if any(k < b and a < k + n for a, b in self.busy[i]):
                continue
            score = min(surplus[k:k + n]) if n > 1 else surplus[k]
            if best is None or score > best:
                best, best_k = score, k
        if best_k < 0:
            return
        for k in range(best_k, best_k + n):
            surplus[k] -= 1
        self.busy[i].append((best_k, best_k + n))
        self.acts[i].append(((best_k - start) * SLOT_MIN, dur, what))

    def fill_gaps(self, part_slots: int) -> None:
        """Part-time shifts wherever a slot is still short (breaks taken into account)."""
        active = np.flatnonzero(self.req > 0)
        if len(active) == 0:
            return
        lo, hi = int(active[0]), int(active[-1]) + 1
        length = min(part_slots, hi - lo)
        for _ in range(4):
            short = [k for k in range(lo, hi) if self.surplus[k] < 0]
            if not short:
                return
            for b in short:
                while self.surplus[b] < 0:
                    start = b if b + length <= hi else max(lo, hi - length)
                    self.add(start, start + length, extras=False)


def plan_day(req: np.ndarray, st: StaffingSim, rng: np.random.Generator) -> DayPlan:
    """Shifts and their activities for one team and day (slots of ``SLOT_MIN`` minutes)."""
    plan = DayPlan(req, st, rng)
    lengths = shift_lengths(st)
    part_slots = lengths[0]
    # cover the need plus the agents expected on a break at the time
    gross = np.where(req > 0, np.ceil(req * (1.0 + BREAK_ALLOWANCE) - 0.2), 0).astype(np.int64)
    for a, b in place_shifts(gross, lengths, rng):
        plan.add(a, b)
    plan.fill_gaps(part_slots)
    for acts in plan.acts:
        acts.sort()
    return plan


def _open_on(tenant: TenantSim, weekday: int) -> bool:
    """Whether the tenant opens at all on ``weekday`` (0 = Monday)."""
    return bool(tenant.settings_tenant().opening_hours.by_weekday.get(weekday))


def week_headcount(dates: Sequence[date], shifts: Sequence[int], weights: Sequence[float],
                   margin: float) -> int:
    """Agents a team needs so every day's shifts find someone working at most five a week.

    A week only partly inside the run is completed from the days present, in proportion to
    the weekday ``weights`` (weekly volume factors, zero where closed), so a short run gets
    the headcount of the same days in a long one.
    """
    if not shifts or max(shifts) == 0:
        return 0
    weeks: dict[tuple[int, int], dict[int, int]] = {}
    for d, n in zip(dates, shifts, strict=True):
        weeks.setdefault(d.isocalendar()[:2], {})[d.weekday()] = n
    rate = max((n / weights[d.weekday()] for d, n in zip(dates, shifts, strict=True)
                if weights[d.weekday()] > 0), default=0.0)
    peak = 0.0
    for days in weeks.values():
        total = sum(days.values()) + sum(rate * weights[wd] for wd in range(7) if wd not in days)
        peak = max(peak, total)
    need = max(peak / 5.0, float(max(shifts)))
    return int(math.ceil(need * margin)) + 1


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
        self.planned: dict[str, list[list[Shift]]] = {}
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
    def assign(self, agents: list[Agent], day: int, shifts: list[Shift],
               worked: dict[str, int], part_len: int) -> list[tuple[Agent, Shift]]:
        """Give the day's shifts (longest first) to available agents, fewest shifts worked
        this week first; part-time shifts to part-timers when there are some."""
        rng = self.rng
        pool = [a for a in agents if a.first_day <= day <= a.last_day
                and day not in self.vacation[a.agent_id] and worked[a.agent_id] < 5]
        keys = rng.random(len(pool))
        order = sorted(range(len(pool)), key=lambda i: (worked[pool[i].agent_id], keys[i]))
        pool = [pool[i] for i in order]
        out = []
        for shift in sorted(shifts, key=lambda se: (-(se[1] - se[0]), se[0])):
            short = shift[1] - shift[0] <= part_len
            pick = next((a for a in pool if (a.employment == "part_time") == short), None)
            if pick is None:
                pick = pool[0] if pool else None
            if pick is None:
                self.unfilled += 1
                continue
            pool.remove(pick)
            worked[pick.agent_id] += 1
            out.append((pick, shift))
        return out

    def work_shift(self, ag: Agent, day: int, start_us: int, end_us: int,
                   queue: str | None, acts: list[tuple[int, int, str]]) -> None:
        """Schedule rows, sickness, the planned breaks and trainings (``acts``: offset and
        duration in minutes, activity) and the agent's plan for one shift."""
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
        self._schedule_rows(ag, start_us, end_us, acts, queue)
        jit = s.login_jitter_s * US_PER_S
        login = start_us + int(np.clip(rng.normal(-0.5, 1.0), -3.0, 4.0) * jit)  # most a bit early
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
        part = shift_lengths(s)[0]
        demand = team_demand(cal, t, loads)
        weights = [w if _open_on(t, wd) else 0.0 for wd, w in enumerate(
            t.weekly if t.profile != "flat" else (1.0,) * 7)]
        margin = (1.0 + s.vacation_rate) * 1.05
        teams = t.effective_teams()
        # each team's day is planned from a generator of that team and date alone, so a
        # calendar day gets the same plan whatever the run length
        base = int(rng.integers(0, 2**62))
        gens = {team.name: [np.random.default_rng([base, j, day.toordinal()])
                            for day in cal.dates] for j, team in enumerate(teams)}
        noise = {name: [max(0.5, 1.0 + float(g.normal(0.0, s.daily_noise))) for g in days]
                 for name, days in gens.items()}
        reqs = required_agents(demand, cal, t, noise)
        for team in teams:
            by_day: list[list[Shift]] = []
            for d, req in enumerate(reqs[team.name]):
                a0, b0 = int(cal.day_start[d]), int(cal.day_start[d + 1])
                plan = plan_day(req, s, gens[team.name][d])
                by_day.append([(a0 + i * SLOT_MIN, min(b0, a0 + j * SLOT_MIN), acts)
                               for (i, j), acts in zip(plan.shifts, plan.acts, strict=True)])
            self.planned[team.name] = by_day
            headcount = week_headcount(cal.dates, [len(x) for x in by_day], weights, margin)
            members: list[Agent] = []
            self.staff_team(members, team.name, team.skills, None, team.site, headcount,
                            s.part_time_share)
            self._work_days(members, by_day, part * SLOT_MIN, self._queue_of(team))

    def _queue_of(self, team: TeamSim) -> str | None:
        return team.skills[0] if len(team.skills) == 1 else None

    def _work_days(self, members: list[Agent], by_day: list[list[Shift]], part_len: int,
                   queue: str | None) -> None:
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
            for ag, (a, b, acts) in self.assign(members, d, shifts, worked, part_len):
                end = b + (CLOSE_WRAP_MIN if b >= close else 0)
                self.work_shift(ag, d, (cal.first_minute + a) * US_PER_MIN,
                                (cal.first_minute + end) * US_PER_MIN, queue, acts)

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
        by_day: list[list[Shift]] = []
        for d in range(self.days):
            a, b = int(cal.day_start[d]), int(cal.day_start[d + 1])
            s_runs, e_runs = runs(mask[a:b])
            if not len(s_runs):
                by_day.append([])
                continue
            w0, w1 = a + int(s_runs[0]), a + int(e_runs[0])
            # the whole window for every agent; breaks staggered across the team
            plan = DayPlan(np.zeros(-(-(w1 - w0) // SLOT_MIN), dtype=np.int64),
                           self.t.staffing, self.rng)
            for _ in range(c.agents):
                plan.add(0, len(plan.req))
            by_day.append([(w0, w1, sorted(acts)) for acts in plan.acts])
        members: list[Agent] = []
        self.staff_team(members, f"{c.name}_team", (), c.name, "main", c.agents, 0.0)
        cal_first = cal.first_minute
        worked: dict[str, int] = {}
        for d, shifts in enumerate(by_day):
            if not shifts:
                continue
            worked = dict.fromkeys((a.agent_id for a in members), 0)  # every window day
            for ag, (a, b, acts) in self.assign(members, d, shifts, worked, 0):
                self.work_shift(ag, d, (cal_first + a) * US_PER_MIN, (cal_first + b) * US_PER_MIN,
                                None, acts)


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
                     trainings=b.trainings, unfilled_shifts=b.unfilled, planned=b.planned)
