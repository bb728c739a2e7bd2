"""Settings: the warehouse, the tenants (time zone, opening hours, holidays) and targets.

Read from ``contactkpi.toml`` (or ``--config`` / ``CONTACTKPI_CONFIG``); the warehouse can be
overridden by ``--warehouse`` or ``CONTACTKPI_WAREHOUSE``. Precedence: flag > env > file >
default. Each value remembers where it came from (``config show`` prints it).

Example::

    default_tenant = "acme"

    [warehouse]
    url = "contactkpi.duckdb"          # a path, or an Ibis URL such as duckdb:///x.duckdb

    [tenants.acme]
    timezone = "Europe/London"
    country = "GB"
    currency = "GBP"
    holidays = ["2026-12-25"]
    opening_hours = { mon-fri = "08:00-20:00", sat = "09:00-13:00", sun = "closed" }

    [targets.service_level]
    value = 0.80
    near = 0.05
    params = { threshold_s = 20 }
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from contactkpi.errors import ConfigError

CONFIG_FILE = "contactkpi.toml"
DEFAULT_WAREHOUSE = "contactkpi.duckdb"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class OpeningHours:
    """Opening hours per weekday (0 = Monday) as half-open local-time ranges."""

    by_weekday: Mapping[int, tuple[tuple[time, time], ...]]

    @classmethod
    def always(cls) -> OpeningHours:
        return cls({d: ((time(0), time(23, 59, 59, 999999)),) for d in range(7)})

    @classmethod
    def parse(cls, spec: Mapping[str, Any], where: str) -> OpeningHours:
        """Parse ``{"mon-fri": "08:00-20:00", "sat": "09:00-13:00,14:00-17:00", "sun": "closed"}``.

        Days not named are closed. ``24:00`` means end of day.
        """
        by_day: dict[int, tuple[tuple[time, time], ...]] = {d: () for d in range(7)}
        for days, ranges in spec.items():
            idx = _weekday_set(str(days), f"{where}.{days}")
            parsed = _ranges(str(ranges), f"{where}.{days}")
            for d in idx:
                by_day[d] = parsed
        return cls(by_day)

    def is_open(self, local: datetime) -> bool:
        t = local.time()
        return any(a <= t < b for a, b in self.by_weekday.get(local.weekday(), ()))


def _weekday_set(spec: str, where: str) -> list[int]:
    out: list[int] = []
    for part in spec.lower().split(","):
        part = part.strip()
        if "-" in part:
            a, b = (p.strip() for p in part.split("-", 1))
            if a not in WEEKDAYS or b not in WEEKDAYS:
                raise ConfigError(f"unknown weekday range {part!r}", where=where,
                                  hint="use mon, tue, wed, thu, fri, sat, sun, e.g. mon-fri")
            out.extend(range(WEEKDAYS.index(a), WEEKDAYS.index(b) + 1))
        elif part in WEEKDAYS:
            out.append(WEEKDAYS.index(part))
        else:
            raise ConfigError(f"unknown weekday {part!r}", where=where,
                              hint="use mon, tue, wed, thu, fri, sat, sun or a range mon-fri")
    return out


def _ranges(spec: str, where: str) -> tuple[tuple[time, time], ...]:
    if spec.strip().lower() in ("closed", ""):
        return ()
    out = []
    for part in spec.split(","):
        m = _RANGE.match(part.strip())
        if not m:
            raise ConfigError(f"bad opening hours {part!r}", where=where,
                              hint='write "HH:MM-HH:MM", several separated by commas, or "closed"')
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        start = time(h1, m1) if h1 < 24 else None
        end = time(23, 59, 59, 999999) if (h2, m2) == (24, 0) else (
            time(h2, m2) if h2 < 24 and m2 < 60 else None)
        if start is None or end is None or m1 >= 60 or end <= start:
            raise ConfigError(f"bad opening hours {part!r}", where=where,
                              hint="times run 00:00 to 24:00 and the end is after the start")
        out.append((start, end))
    return tuple(out)


@dataclass(frozen=True)
class TargetSetting:
    """A KPI target: value, the band within which it is 'near', and the params it assumes."""

    value: float
    near: float = 0.0
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Tenant:
    """A client business served by the center."""

    name: str
    timezone: str = "UTC"
    country: str | None = None
    currency: str = "EUR"
    opening_hours: OpeningHours = field(default_factory=OpeningHours.always)
    holidays: frozenset[date] = frozenset()
    targets: Mapping[str, TargetSetting] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_open(self, local: datetime) -> bool:
        """Whether the center is open at this local wall-clock time."""
        return local.date() not in self.holidays and self.opening_hours.is_open(local)


@dataclass(frozen=True)
class Settings:
    """Everything contactkpi reads from configuration."""

    warehouse: str = DEFAULT_WAREHOUSE
    default_tenant: str | None = None
    tenants: Mapping[str, Tenant] = field(default_factory=dict)
    targets: Mapping[str, TargetSetting] = field(default_factory=dict)
    config_path: Path | None = None
    origins: Mapping[str, str] = field(default_factory=dict)

    def tenant(self, name: str | None) -> Tenant:
        """The tenant called ``name`` (or the default); unknown names are a user error."""
        chosen = name or self.default_tenant
        if chosen is None:
            if len(self.tenants) == 1:
                return next(iter(self.tenants.values()))
            raise ConfigError(
                "no tenant given and no default_tenant set",
                where=str(self.config_path or CONFIG_FILE),
                hint="pass --tenant NAME or set default_tenant in contactkpi.toml",
            )
        if chosen in self.tenants:
            return self.tenants[chosen]
        if not self.tenants:
            return Tenant(name=chosen)  # no config: a tenant in UTC, open always
        raise ConfigError(
            f"unknown tenant {chosen!r}",
            where=str(self.config_path or CONFIG_FILE),
            hint="known tenants: " + ", ".join(sorted(self.tenants))
            + f"; add [tenants.{chosen}] to the config",
        )

    def targets_for(self, tenant: str | None) -> dict[str, TargetSetting]:
        """Default targets overridden by the tenant's own."""
        merged = dict(self.targets)
        if tenant and tenant in self.tenants:
            merged.update(self.tenants[tenant].targets)
        return merged


def _check_zone(tz: str, where: str) -> str:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        close = sorted(z for z in available_timezones() if tz.lower() in z.lower())[:3]
        raise ConfigError(
            f"unknown time zone {tz!r}",
            where=where,
            hint="use an IANA name such as Europe/Paris"
            + (f" (did you mean {', '.join(close)}?)" if close else ""),
        ) from None
    return tz


def _targets(raw: Any, where: str) -> dict[str, TargetSetting]:
    if not isinstance(raw, dict):
        raise ConfigError("targets must be a table", where=where)
    out = {}
    for metric, spec in raw.items():
        w = f"{where}.{metric}"
        if isinstance(spec, int | float):
            spec = {"value": spec}
        if not isinstance(spec, dict) or "value" not in spec:
            raise ConfigError("a target needs a value", where=w, hint="write value = 0.8")
        unknown = set(spec) - {"value", "near", "params"}
        if unknown:
            raise ConfigError(f"unknown key(s) {sorted(unknown)}", where=w,
                              hint="a target has value, near and params")
        try:
            out[metric] = TargetSetting(float(spec["value"]), float(spec.get("near", 0.0)),
                                        dict(spec.get("params", {})))
        except (TypeError, ValueError):
            raise ConfigError("target value and near must be numbers", where=w) from None
    return out


def _tenant(name: str, raw: Any, where: str) -> Tenant:
    if not isinstance(raw, dict):
        raise ConfigError("a tenant must be a table", where=where)
    known = {"timezone", "country", "currency", "opening_hours", "holidays", "targets", "name"}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"unknown key(s) {sorted(unknown)}", where=where,
                          hint="a tenant has " + ", ".join(sorted(known)))
    try:
        holidays = frozenset(date.fromisoformat(str(d)) for d in raw.get("holidays", []))
    except ValueError as exc:
        raise ConfigError(f"bad holiday date: {exc}", where=f"{where}.holidays",
                          hint="write dates as YYYY-MM-DD") from None
    hours = raw.get("opening_hours")
    return Tenant(
        name=name,
        timezone=_check_zone(str(raw.get("timezone", "UTC")), f"{where}.timezone"),
        country=raw.get("country"),
        currency=str(raw.get("currency", "EUR")),
        opening_hours=OpeningHours.parse(hours, f"{where}.opening_hours")
        if hours is not None else OpeningHours.always(),
        holidays=holidays,
        targets=_targets(raw.get("targets", {}), f"{where}.targets"),
    )


def load_settings(
    config: str | Path | None = None,
    warehouse: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Read settings: flag > environment > config file > default."""
    env = os.environ if env is None else env
    origins: dict[str, str] = {}
    path: Path | None
    if config is not None:
        path = Path(config)
        if not path.exists():
            raise ConfigError(f"config file {path} not found",
                              hint="run `contactkpi init` or pass an existing --config")
    elif env.get("CONTACTKPI_CONFIG"):
        path = Path(env["CONTACTKPI_CONFIG"])
    else:
        path = Path(CONFIG_FILE) if Path(CONFIG_FILE).exists() else None
    raw: dict[str, Any] = {}
    if path is not None and path.exists():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"not valid TOML: {exc}", where=str(path)) from None
        except UnicodeDecodeError:
            raise ConfigError("not UTF-8 text", where=str(path)) from None
    where = str(path or CONFIG_FILE)
    unknown = set(raw) - {"warehouse", "default_tenant", "tenants", "targets"}
    if unknown:
        raise ConfigError(f"unknown key(s) {sorted(unknown)}", where=where,
                          hint="top-level keys are warehouse, default_tenant, tenants, targets")

    wh = DEFAULT_WAREHOUSE
    origins["warehouse"] = "default"
    file_wh = raw.get("warehouse", {})
    if isinstance(file_wh, str):
        file_wh = {"url": file_wh}
    if file_wh.get("url"):
        wh = str(file_wh["url"])
        origins["warehouse"] = f"file {where}"
        if path is not None and "://" not in wh and not Path(wh).is_absolute():
            wh = str(path.parent / wh)
    if env.get("CONTACTKPI_WAREHOUSE"):
        wh, origins["warehouse"] = env["CONTACTKPI_WAREHOUSE"], "env CONTACTKPI_WAREHOUSE"
    if warehouse:
        wh, origins["warehouse"] = warehouse, "flag --warehouse"

    tenants_raw = raw.get("tenants", {})
    if not isinstance(tenants_raw, dict):
        raise ConfigError("tenants must be a table", where=f"{where}: tenants")
    tenants = {n: _tenant(n, t, f"{where}: tenants.{n}") for n, t in tenants_raw.items()}
    default_tenant = raw.get("default_tenant")
    if env.get("CONTACTKPI_TENANT"):
        default_tenant = env["CONTACTKPI_TENANT"]
    if default_tenant is not None and tenants and default_tenant not in tenants:
        raise ConfigError(f"default_tenant {default_tenant!r} is not among the tenants",
                          where=where, hint="known tenants: " + ", ".join(sorted(tenants)))
    return Settings(
        warehouse=wh,
        default_tenant=default_tenant,
        tenants=tenants,
        targets=_targets(raw.get("targets", {}), f"{where}: targets"),
        config_path=path,
        origins=origins,
    )


def config_template(tenant: str = "default", timezone: str = "UTC", country: str = "",
                    warehouse: str = DEFAULT_WAREHOUSE) -> str:
    """The commented ``contactkpi.toml`` that ``contactkpi init`` writes."""
    _check_zone(timezone, "--timezone")
    country_line = f'country = "{country}"' if country else '# country = "GB"'
    return f'''# contactkpi configuration.
# Precedence: flag > environment (CONTACTKPI_*) > this file.
default_tenant = "{tenant}"

[warehouse]
# A DuckDB file (relative to this file) or an Ibis URL such as duckdb:///abs/path.duckdb
url = "{warehouse}"

# One block per client business. Timestamps are stored in UTC; KPIs are cut in local time.
[tenants.{tenant}]
timezone = "{timezone}"
{country_line}        # ISO country code, for public holidays in forecasts
currency = "EUR"
holidays = []           # closed days, e.g. ["2026-12-25"]
opening_hours = {{ mon-fri = "08:00-20:00", sat = "09:00-13:00", sun = "closed" }}

# Targets for every tenant; a tenant may override them in [tenants.NAME.targets].
# value is the goal; within +/- near of it the status is "near", beyond it "missed".
[targets.service_level]
value = 0.80
near = 0.05
params = {{ threshold_s = 20 }}

[targets.abandon_rate]
value = 0.05
near = 0.02

[targets.asa_s]
value = 30
near = 10

[targets.fcr]
value = 0.75
near = 0.05

[targets.csat]
value = 4.2
near = 0.2
'''
