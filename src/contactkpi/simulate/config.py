"""Simulator configuration: frozen dataclasses, read from TOML with sensible defaults.

Every field has a default, so the smallest useful file is one tenant with one queue::

    [tenants.acme]
    timezone = "Europe/Paris"

    [[tenants.acme.queues]]
    name = "support"
    daily_volume = 800

The package ships ``default.toml`` (a demo outsourcer with two clients); ``load_config()``
without a path reads it. Durations may be written as seconds (``240``) or with a unit
(``"90s"``, ``"15m"``, ``"36h"``, ``"2d"``); ``"inf"`` means never. A random duration is a
table ``{ dist = "lognormal", mean = "4m", cv = 0.8 }`` with ``dist`` one of ``lognormal``,
``exponential``, ``constant`` or ``never``; a bare number is a constant.
"""

from __future__ import annotations

import math
import random
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, is_dataclass, replace
from datetime import date
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from contactkpi.config import OpeningHours, Tenant
from contactkpi.errors import ConfigError

DEFAULT_CONFIG = "default.toml"
WRITTEN_CHANNELS = frozenset({"email", "ticket"})
_UNIT_S = {"": 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(s|m|min|h|d)?\s*$")
_DISTS = ("lognormal", "exponential", "constant", "never")


@dataclass(frozen=True)
class Dist:
    """A random non-negative quantity: a duration in seconds, or an amount of money.

    ``lognormal`` is set by its mean and coefficient of variation (sd / mean);
    ``exponential`` by its mean; ``constant`` always gives ``mean``; ``never`` gives infinity
    (a customer who never abandons).
    """

    dist: str = "constant"
    mean: float = 0.0
    cv: float = 1.0

    @cached_property
    def _mu_sigma(self) -> tuple[float, float]:
        sigma2 = math.log1p(self.cv**2)
        return math.log(self.mean) - sigma2 / 2.0, math.sqrt(sigma2)

    @property
    def is_never(self) -> bool:
        return self.dist == "never"

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws as float64 (``inf`` for ``never``)."""
        if self.dist == "never":
            return np.full(n, np.inf)
        if self.dist == "constant" or self.mean <= 0:
            return np.full(n, float(self.mean))
        if self.dist == "exponential":
            return rng.exponential(self.mean, n)
        mu, sigma = self._mu_sigma
        return rng.lognormal(mu, sigma, n)

    def survival(self, x: np.ndarray) -> np.ndarray:
        """P(value > x) for each ``x`` (a delay still to come after ``x`` seconds)."""
        x = np.asarray(x, dtype=np.float64)
        if self.dist == "never":
            return np.ones(x.shape)
        if self.dist == "constant" or self.mean <= 0:
            return (x < self.mean).astype(np.float64)
        if self.dist == "exponential":
            return np.exp(-np.maximum(x, 0.0) / self.mean)
        mu, sigma = self._mu_sigma
        z = (np.log(np.maximum(x, 1e-9)) - mu) / (sigma * math.sqrt(2.0))
        return 0.5 * np.vectorize(math.erfc, otypes=[np.float64])(z)

    def one(self, r: random.Random) -> float:
        """One draw from Python's generator (used inside the event loop)."""
        if self.dist == "never":
            return math.inf
        if self.dist == "constant" or self.mean <= 0:
            return float(self.mean)
        if self.dist == "exponential":
            return r.expovariate(1.0 / self.mean)
        mu, sigma = self._mu_sigma
        return r.lognormvariate(mu, sigma)


def _lognormal(mean: float, cv: float) -> Dist:
    return Dist("lognormal", mean, cv)


@dataclass(frozen=True)
class Peak:
    """One bump of the intraday arrival profile (local time)."""

    at: str = "10:30"
    width_min: float = 80.0
    weight: float = 1.0

    @property
    def at_minute(self) -> float:
        h, m = self.at.split(":")
        return int(h) * 60 + int(m)


@dataclass(frozen=True)
class QueueSim:
    """One queue: its arrivals, service times, customer patience and what happens after."""

    name: str = "support"
    channel: str = "voice"
    daily_volume: float = 500.0  # expected contacts on a day whose weekly factor is 1.0
    arrivals: str = ""  # open_hours | always ("" = open_hours for voice/chat, always for email)
    talk_s: Dist = _lognormal(240.0, 0.8)
    hold_rate: float = 0.2  # share of answered contacts put on hold
    hold_s: Dist = _lognormal(60.0, 0.9)
    acw_s: Dist = _lognormal(45.0, 0.7)
    ring_s: Dist = _lognormal(6.0, 0.4)
    patience_s: Dist = Dist("exponential", 180.0)
    max_wait_s: float = 1200.0  # the queue times the contact out after this wait
    transfer_rate: float = 0.0
    transfer_to: tuple[str, ...] = ()
    resolution_rate: float = 0.8
    repeat_rate: float = 0.6  # chance an unresolved customer contacts again
    repeat_delay_s: Dist = _lognormal(129600.0, 1.0)
    redial_rate: float = 0.45  # chance a customer who abandoned tries again
    redial_delay_s: Dist = _lognormal(900.0, 1.2)
    reasons: Mapping[str, float] = field(default_factory=lambda: {"general": 1.0})
    reopen_rate: float = 0.08  # tickets: share of solved tickets reopened
    resolve_s: Dist = _lognormal(86400.0, 1.2)  # tickets: first response to solved
    priority: int = 1  # routing: a free agent serves its queues of priority 1 first, then 2...

    @property
    def written(self) -> bool:
        return self.channel in WRITTEN_CHANNELS

    @property
    def arrival_mode(self) -> str:
        return self.arrivals or ("always" if self.written else "open_hours")


def _queue_defaults(channel: str) -> dict[str, Any]:
    """Defaults that differ for written channels (e-mail, tickets)."""
    if channel not in WRITTEN_CHANNELS:
        return {}
    return {
        "talk_s": _lognormal(420.0, 0.9),
        "hold_rate": 0.0,
        "acw_s": _lognormal(60.0, 0.6),
        "ring_s": Dist("constant", 0.0),
        "patience_s": Dist("never"),
        "max_wait_s": math.inf,
        "redial_rate": 0.0,
        "priority": 2,  # written work waits while calls queue (a routing profile's priorities)
    }


@dataclass(frozen=True)
class TeamSim:
    """A team of agents sharing skills; ``share`` of the tenant's staffing need is theirs."""

    name: str = "team"
    skills: tuple[str, ...] = ()
    share: float = 1.0
    site: str = "main"


@dataclass(frozen=True)
class StaffingSim:
    """How agents are rostered, scheduled and behave."""

    mode: str = "auto"  # auto: shifts sized to expected load | fixed: `agents` always logged in
    agents: int = 0  # fixed mode: agents logged in from start to end, no breaks
    service_level: float = 0.8  # auto mode plans (Erlang C) for this share answered ...
    threshold_s: float = 20.0  # ... within this many seconds, in every 15-minute slot
    factor: float = 0.8  # multiplies the Erlang C need of the phone queues: Erlang C counts
    # every caller as waiting until answered, while callers who hang up shorten the queue, so
    # the target takes fewer agents than it says (0.8 reaches it on the default center;
    # lower: understaffed)
    daily_noise: float = 0.06  # sd of the day-to-day staffing error
    shrinkage: float = 0.06  # unplanned absence allowed for (sickness, pauses, late logins);
    # breaks, lunch, trainings and coaching are placed in the schedule, not grossed up
    shift_h: float = 8.0
    part_time_h: float = 4.0
    lunch_min: float = 30.0
    break_min: float = 15.0
    breaks: bool = True
    pauses_per_shift: float = 1.5  # unplanned pauses (personal, technical)
    coaching_rate: float = 0.3  # per agent per week
    training_rate: float = 0.3  # per agent per week
    sick_rate: float = 0.035  # per scheduled shift
    vacation_rate: float = 0.05  # per agent per week
    attrition_monthly: float = 0.04
    hire_lag_days: int = 10
    onboarding_days: int = 3
    rna_rate: float = 0.01  # an offered contact rings unanswered at the agent
    rna_timeout_s: float = 15.0
    rna_pause_s: float = 60.0
    login_jitter_s: float = 90.0
    hourly_cost: float = 22.0
    part_time_share: float = 0.25


@dataclass(frozen=True)
class CampaignSim:
    """An outbound campaign worked by dedicated agents in preview/progressive mode."""

    name: str = "outbound"
    agents: int = 6
    hours: Mapping[str, str] = field(default_factory=lambda: {"mon-fri": "10:00-19:00"})
    leads: int = 20000
    max_attempts: int = 4
    retry_delay_s: Dist = _lognormal(86400.0, 0.8)
    outcomes: Mapping[str, float] = field(default_factory=lambda: {
        "answered": 0.32, "no_answer": 0.42, "busy": 0.09, "voicemail": 0.14, "failed": 0.03})
    dispositions: Mapping[str, float] = field(default_factory=lambda: {
        "sale": 0.13, "appointment": 0.08, "callback": 0.12, "no_interest": 0.57,
        "do_not_call": 0.10})
    ring_s: Dist = _lognormal(12.0, 0.5)
    no_answer_s: float = 30.0
    voicemail_s: float = 25.0
    talk_s: Dist = _lognormal(210.0, 0.7)
    acw_s: Dist = _lognormal(40.0, 0.6)
    revenue: Dist = _lognormal(240.0, 0.6)
    script: str = "standard"
    gap_s: float = 5.0  # preview time between two dials


@dataclass(frozen=True)
class SurveySim:
    """Post-contact surveys: who is asked, who answers."""

    rate: float = 0.35
    response_rate: float = 0.3
    comment_rate: float = 0.25


@dataclass(frozen=True)
class QaSim:
    """Quality evaluations per agent and week, plus mystery and calibration calls."""

    per_agent_week: float = 2.0
    mystery_per_week: float = 3.0
    calibration_per_week: float = 1.0
    max_score: float = 100.0
    evaluators: int = 3


@dataclass(frozen=True)
class CostSim:
    """Unit costs; labour comes from each agent's hourly cost."""

    period: str = "week"  # week | month
    telephony_per_min: float = 0.012
    licence_per_agent_month: float = 95.0
    facilities_per_hour: float = 2.5
    training_per_hour: float = 15.0


@dataclass(frozen=True)
class TenantSim:
    """A client business: calendar, arrival profile, queues, agents and campaigns."""

    name: str = "default"
    timezone: str = "UTC"
    country: str | None = None
    currency: str = "EUR"
    opening_hours: Mapping[str, str] = field(default_factory=lambda: {
        "mon-fri": "08:00-20:00", "sat": "09:00-13:00"})
    holidays: tuple[str, ...] = ()
    customers: int = 100000
    profile: str = "contact_center"  # contact_center | flat (constant rate: no weekly or
    # intraday profile, no volume noise; for tests against queueing theory)
    weekly: tuple[float, ...] = (1.15, 1.05, 1.0, 1.0, 0.92, 0.55, 0.3)
    peaks: tuple[Peak, ...] = (Peak("10:30", 80.0, 1.0), Peak("14:30", 90.0, 0.7))
    base: float = 0.35
    outside_hours_rate: float = 0.15  # arrival rate just outside opening hours, relative
    outside_hours_min: float = 15.0  # how far outside opening hours such arrivals occur
    volume_noise: float = 0.12  # sd of the half-hourly deviation of volume from the plan
    surge_rate: float = 0.05  # chance per queue and day of an unforecast surge
    surge_factor: tuple[float, ...] = (1.5, 2.5)
    surge_hours: tuple[float, ...] = (1.0, 3.0)
    queues: tuple[QueueSim, ...] = ()
    teams: tuple[TeamSim, ...] = ()
    staffing: StaffingSim = StaffingSim()
    campaigns: tuple[CampaignSim, ...] = ()
    surveys: SurveySim = SurveySim()
    qa: QaSim = QaSim()
    costs: CostSim = CostSim()

    def settings_tenant(self) -> Tenant:
        """The same tenant as :class:`contactkpi.config.Tenant` (time zone, hours, holidays)."""
        where = f"tenants.{self.name}"
        return Tenant(
            name=self.name,
            timezone=self.timezone,
            country=self.country,
            currency=self.currency,
            opening_hours=OpeningHours.parse(self.opening_hours, f"{where}.opening_hours"),
            holidays=frozenset(date.fromisoformat(d) for d in self.holidays),
        )

    def queue(self, name: str) -> QueueSim:
        for q in self.queues:
            if q.name == name:
                return q
        raise KeyError(name)

    def effective_teams(self) -> tuple[TeamSim, ...]:
        """The configured teams, or one team with every queue when none is given."""
        if self.teams:
            return self.teams
        return (TeamSim(name="team", skills=tuple(q.name for q in self.queues), share=1.0),)


@dataclass(frozen=True)
class SimConfig:
    """A whole simulated center: the period, the seed and the tenants."""

    start: date = date(2026, 1, 5)
    days: int = 28
    seed: int = 1
    volume_scale: float = 1.0
    tenants: tuple[TenantSim, ...] = ()

    def with_overrides(self, seed: int | None = None, days: int | None = None,
                       start: date | None = None,
                       volume_scale: float | None = None) -> SimConfig:
        """A copy with the given run parameters replaced (``None`` keeps the value)."""
        out = self
        if seed is not None:
            out = replace(out, seed=seed)
        if days is not None:
            if days < 1:
                raise ConfigError(f"days must be at least 1, got {days}", where="days",
                                  hint="simulate one day or more")
            out = replace(out, days=days)
        if start is not None:
            out = replace(out, start=start)
        if volume_scale is not None:
            out = replace(out, volume_scale=volume_scale)
        return out

    def settings_tenants(self) -> dict[str, Tenant]:
        """Tenants as :mod:`contactkpi.config` knows them (for KPIs in local time)."""
        return {t.name: t.settings_tenant() for t in self.tenants}

    def settings_toml(self) -> str:
        """``[tenants.NAME]`` blocks for ``contactkpi.toml`` matching the simulated tenants
        (time zone, country, currency, opening hours, holidays)."""
        lines = []
        for t in self.tenants:
            hours = ", ".join(f'{k} = "{v}"' for k, v in t.opening_hours.items())
            lines += [f"[tenants.{t.name}]", f'timezone = "{t.timezone}"']
            if t.country:
                lines.append(f'country = "{t.country}"')
            lines += [f'currency = "{t.currency}"',
                      "holidays = [" + ", ".join(f'"{d}"' for d in t.holidays) + "]",
                      f"opening_hours = {{ {hours} }}", ""]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Loading


def parse_duration(value: Any, where: str) -> float:
    """Seconds from ``240``, ``"90s"``, ``"15m"``, ``"36h"``, ``"2d"`` or ``"inf"``."""
    if isinstance(value, bool):
        raise ConfigError(f"expected a duration, got {value!r}", where=where,
                          hint='write seconds (240) or a duration such as "4m" or "2h"')
    if isinstance(value, int | float):
        if value < 0 or math.isnan(value):
            raise ConfigError(f"a duration cannot be negative: {value}", where=where,
                              hint="durations are zero or more seconds")
        return float(value)
    text = str(value).strip().lower()
    if text in ("inf", "never", "infinite"):
        return math.inf
    m = _DURATION.match(text)
    if not m:
        raise ConfigError(f"not a duration: {value!r}", where=where,
                          hint='write seconds (240) or "90s", "15m", "36h", "2d", "inf"')
    return float(m.group(1)) * _UNIT_S[m.group(2) or ""]


def _parse_dist(raw: Any, where: str, default: Dist) -> Dist:
    if isinstance(raw, int | float | str) and not isinstance(raw, bool):
        seconds = parse_duration(raw, where)
        return Dist("never") if math.isinf(seconds) else Dist("constant", seconds)
    if not isinstance(raw, dict):
        raise ConfigError(f"expected a number or a table, got {raw!r}", where=where,
                          hint='write { dist = "lognormal", mean = "4m", cv = 0.8 }')
    unknown = set(raw) - {"dist", "mean", "cv"}
    if unknown:
        raise ConfigError(f"unknown key(s) {sorted(unknown)}", where=where,
                          hint="a distribution has dist, mean and cv")
    kind = str(raw.get("dist", default.dist))
    if kind not in _DISTS:
        raise ConfigError(f"unknown distribution {kind!r}", where=f"{where}.dist",
                          hint="use one of " + ", ".join(_DISTS))
    mean = parse_duration(raw.get("mean", default.mean), f"{where}.mean")
    cv = raw.get("cv", default.cv)
    if not isinstance(cv, int | float) or isinstance(cv, bool) or cv < 0:
        raise ConfigError(f"cv must be a number >= 0, got {cv!r}", where=f"{where}.cv")
    if kind in ("lognormal", "exponential") and not (0 < mean < math.inf):
        raise ConfigError(f"a {kind} distribution needs a positive finite mean", where=where,
                          hint='give mean, e.g. mean = "4m"')
    return Dist(kind, mean, float(cv))


def _fail(where: str, expected: str, raw: Any) -> ConfigError:
    return ConfigError(f"expected {expected}, got {raw!r}", where=where)


def _parse_value(tp: Any, raw: Any, where: str, default: Any, name: str) -> Any:
    """Convert one TOML value to the annotated field type ``tp``."""
    origin = typing.get_origin(tp)
    if tp is Dist:
        return _parse_dist(raw, where, default if isinstance(default, Dist) else Dist())
    if is_dataclass(tp):
        return _build(tp, raw, where)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return None if raw is None else _parse_value(args[0], raw, where, default, name)
    if tp is bool:
        if not isinstance(raw, bool):
            raise _fail(where, "true or false", raw)
        return raw
    if tp is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise _fail(where, "a whole number", raw)
        return raw
    if tp is float:
        if name.endswith(("_s", "_min")):
            secs = parse_duration(raw, where)
            return secs / 60.0 if name.endswith("_min") and isinstance(raw, str) else secs
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise _fail(where, "a number", raw)
        return float(raw)
    if tp is str:
        if not isinstance(raw, str):
            raise _fail(where, "a string", raw)
        return raw
    if tp is date:
        if isinstance(raw, date):
            return raw
        try:
            return date.fromisoformat(str(raw))
        except ValueError:
            raise ConfigError(f"not a date: {raw!r}", where=where,
                              hint="write YYYY-MM-DD") from None
    if origin is tuple:
        (item,) = typing.get_args(tp)[:1]
        if not isinstance(raw, list):
            raise _fail(where, "a list", raw)
        return tuple(_parse_value(item, v, f"{where}[{i}]", None, name)
                     for i, v in enumerate(raw))
    if origin in (Mapping, dict):
        _, vtype = typing.get_args(tp)
        if not isinstance(raw, dict):
            raise _fail(where, "a table", raw)
        return {str(k): _parse_value(vtype, v, f"{where}.{k}", None, "")
                for k, v in raw.items()}
    raise AssertionError(f"unsupported field type {tp!r}")  # pragma: no cover


def _build(cls: Any, raw: Any, where: str, overrides: Mapping[str, Any] | None = None) -> Any:
    """Build dataclass ``cls`` from a TOML table, checking for unknown keys."""
    if not isinstance(raw, dict):
        raise _fail(where, "a table", raw)
    hints = typing.get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    unknown = set(raw) - names
    if unknown:
        raise ConfigError(f"unknown key(s) {sorted(unknown)}", where=where,
                          hint="known keys: " + ", ".join(sorted(names)))
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in raw:
            continue
        if f.default is not MISSING:
            default = f.default
        elif f.default_factory is not MISSING:
            default = f.default_factory()
        else:
            default = None
        if overrides and f.name in overrides:
            default = overrides[f.name]
        values[f.name] = _parse_value(hints[f.name], raw[f.name], f"{where}.{f.name}",
                                      default, f.name)
    for k, v in (overrides or {}).items():
        values.setdefault(k, v)
    return cls(**values)


def _check_rate(value: float, where: str) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"a rate must be within 0..1, got {value}", where=where,
                          hint="rates are shares: 0.05 means 5%")


def _check_probs(probs: Mapping[str, float], where: str, allowed: frozenset[str] | None) -> None:
    if not probs or any(p < 0 for p in probs.values()) or sum(probs.values()) <= 0:
        raise ConfigError("weights must be non-negative with a positive sum", where=where)
    if allowed is not None and set(probs) - allowed:
        raise ConfigError(f"unknown key(s) {sorted(set(probs) - allowed)}", where=where,
                          hint="use " + ", ".join(sorted(allowed)))


def _check_tenant(t: TenantSim, where: str) -> None:
    """Cross-field checks: the loader has already checked types."""
    from contactkpi.model.contacts import CHANNELS

    try:
        ZoneInfo(t.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {t.timezone!r}", where=f"{where}.timezone",
                          hint="use an IANA name such as Europe/Paris") from None
    for day in t.holidays:
        try:
            date.fromisoformat(day)
        except ValueError:
            raise ConfigError(f"not a date: {day!r}", where=f"{where}.holidays",
                              hint="write dates as YYYY-MM-DD") from None
    t.settings_tenant()  # opening hours parse
    if len(t.weekly) != 7 or any(w < 0 for w in t.weekly):
        raise ConfigError("weekly needs 7 non-negative factors, Monday first",
                          where=f"{where}.weekly")
    if t.profile not in ("contact_center", "flat"):
        raise ConfigError(f"unknown profile {t.profile!r}", where=f"{where}.profile",
                          hint="use contact_center or flat")
    for name, pair in (("surge_factor", t.surge_factor), ("surge_hours", t.surge_hours)):
        if len(pair) != 2 or pair[0] > pair[1] or pair[0] < 0:
            raise ConfigError(f"{name} needs [low, high] with 0 <= low <= high",
                              where=f"{where}.{name}")
    _check_rate(t.surge_rate, f"{where}.surge_rate")
    if not 0.0 <= t.volume_noise <= 1.0:
        raise ConfigError(f"volume_noise must be within 0..1, got {t.volume_noise}",
                          where=f"{where}.volume_noise",
                          hint="the sd of the half-hourly volume error, e.g. 0.12 for 12%")
    names = [q.name for q in t.queues]
    if len(set(names)) != len(names):
        raise ConfigError("queue names repeat", where=f"{where}.queues",
                          hint="give every queue of a tenant its own name")
    for i, q in enumerate(t.queues):
        w = f"{where}.queues[{i}]"
        if q.channel not in CHANNELS:
            raise ConfigError(f"unknown channel {q.channel!r}", where=f"{w}.channel",
                              hint="use one of " + ", ".join(sorted(CHANNELS)))
        if q.arrival_mode not in ("open_hours", "always"):
            raise ConfigError(f"unknown arrivals {q.arrivals!r}", where=f"{w}.arrivals",
                              hint="use open_hours or always")
        if q.daily_volume < 0:
            raise ConfigError("daily_volume cannot be negative", where=f"{w}.daily_volume")
        for rate in ("hold_rate", "transfer_rate", "resolution_rate", "repeat_rate",
                     "redial_rate", "reopen_rate"):
            _check_rate(getattr(q, rate), f"{w}.{rate}")
        for target in q.transfer_to:
            if target not in names or target == q.name:
                raise ConfigError(f"transfer target {target!r} is not another queue",
                                  where=f"{w}.transfer_to",
                                  hint="known queues: " + ", ".join(names))
        if q.priority < 1:
            raise ConfigError(f"priority must be 1 or more, got {q.priority}",
                              where=f"{w}.priority", hint="1 is served first, then 2, ...")
        if q.transfer_rate > 0 and not q.transfer_to:
            raise ConfigError("transfer_rate > 0 needs transfer_to", where=f"{w}.transfer_to",
                              hint='name the target queue(s), e.g. transfer_to = ["sales"]')
        _check_probs(q.reasons, f"{w}.reasons", None)
    for i, team in enumerate(t.effective_teams()):
        for skill in team.skills:
            if skill not in names:
                raise ConfigError(f"skill {skill!r} is not a queue of {t.name}",
                                  where=f"{where}.teams[{i}].skills",
                                  hint="known queues: " + ", ".join(names))
    s = t.staffing
    if s.mode not in ("auto", "fixed"):
        raise ConfigError(f"unknown staffing mode {s.mode!r}", where=f"{where}.staffing.mode",
                          hint="use auto or fixed")
    if s.mode == "fixed" and s.agents < 1 and t.queues:
        raise ConfigError("fixed staffing needs agents >= 1", where=f"{where}.staffing.agents")
    for rate in ("sick_rate", "vacation_rate", "attrition_monthly", "rna_rate", "shrinkage",
                 "part_time_share"):
        _check_rate(getattr(s, rate), f"{where}.staffing.{rate}")
    if not 0.0 < s.service_level < 1.0:
        raise ConfigError(f"service_level must be within 0..1 (exclusive), got {s.service_level}",
                          where=f"{where}.staffing.service_level",
                          hint="0.8 with threshold_s = 20 plans for 80% answered in 20 s")
    if s.shrinkage >= 1.0:
        raise ConfigError("shrinkage must be below 1", where=f"{where}.staffing.shrinkage",
                          hint="the share of scheduled time lost to unplanned absence, e.g. 0.06")
    for i, c in enumerate(t.campaigns):
        w = f"{where}.campaigns[{i}]"
        OpeningHours.parse(c.hours, f"{w}.hours")
        _check_probs(c.outcomes, f"{w}.outcomes",
                     frozenset({"answered", "no_answer", "busy", "voicemail", "failed"}))
        _check_probs(c.dispositions, f"{w}.dispositions", None)
        if c.max_attempts < 1 or c.leads < 1 or c.agents < 0:
            raise ConfigError("a campaign needs leads >= 1, max_attempts >= 1, agents >= 0",
                              where=w)
    if t.costs.period not in ("week", "month"):
        raise ConfigError(f"unknown cost period {t.costs.period!r}",
                          where=f"{where}.costs.period", hint="use week or month")


def config_from_dict(raw: Mapping[str, Any], where: str = "<config>") -> SimConfig:
    """Build and check a :class:`SimConfig` from a parsed TOML document."""
    raw = dict(raw)
    tenants_raw = raw.pop("tenants", {})
    if not isinstance(tenants_raw, dict):
        raise ConfigError("tenants must be a table", where=f"{where}: tenants")
    cfg = _build(SimConfig, raw, where)
    tenants = []
    for name, traw in tenants_raw.items():
        w = f"{where}: tenants.{name}"
        if not isinstance(traw, dict):
            raise _fail(w, "a table", traw)
        traw = dict(traw)
        queues_raw = traw.pop("queues", [])
        if not isinstance(queues_raw, list):
            raise _fail(f"{w}.queues", "a list of tables ([[tenants.NAME.queues]])", queues_raw)
        queues = []
        for i, qraw in enumerate(queues_raw):
            if not isinstance(qraw, dict):
                raise _fail(f"{w}.queues[{i}]", "a table", qraw)
            channel = str(qraw.get("channel", "voice"))
            queues.append(_build(QueueSim, qraw, f"{w}.queues[{i}]", _queue_defaults(channel)))
        tenant = _build(TenantSim, traw, w, {"name": name, "queues": tuple(queues)})
        _check_tenant(tenant, w)
        tenants.append(tenant)
    if not tenants:
        raise ConfigError("no tenants configured", where=where,
                          hint="add [tenants.NAME] with at least one [[tenants.NAME.queues]]")
    if cfg.days < 1:
        raise ConfigError(f"days must be at least 1, got {cfg.days}", where=f"{where}: days")
    if cfg.volume_scale < 0:
        raise ConfigError("volume_scale cannot be negative", where=f"{where}: volume_scale")
    return replace(cfg, tenants=tuple(tenants))


def load_config(path: str | Path | None = None) -> SimConfig:
    """Read a simulator TOML file; without a path, the default shipped with the package."""
    if path is None:
        text = resources.files("contactkpi.simulate").joinpath(DEFAULT_CONFIG).read_text(
            encoding="utf-8")
        where = f"contactkpi/simulate/{DEFAULT_CONFIG}"
    else:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"simulator config {p} not found", where=str(p),
                              hint="pass an existing TOML file, or omit --config for the "
                              "default demo center")
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ConfigError("not UTF-8 text", where=str(p)) from None
        where = str(p)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", where=where) from None
    return config_from_dict(raw, where)


def default_config() -> SimConfig:
    """The shipped demo center (two client tenants)."""
    return load_config(None)
