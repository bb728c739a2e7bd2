"""Typed metric parameters: parse and check values from YAML, the CLI or Python.

``coerce(param, value)`` returns the value in its canonical Python form (durations in
seconds as float, lists as tuples, weights as a tuple of (metric request, weight) pairs) or
raises ``ValueError`` with a sentence the caller wraps into a DefinitionError or QueryError.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from contactkpi.metrics.spec import Param, ParamType

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
_UNITS = {
    "": 1.0, "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "d": 86400.0, "day": 86400.0, "days": 86400.0,
    "w": 604800.0, "week": 604800.0, "weeks": 604800.0,
}
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


def parse_duration(value: Any) -> float:
    """Seconds from ``3600``, ``"90s"``, ``"30 min"``, ``"1 hour"``, ``"7 days"``."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        return float(value)
    m = _DURATION.match(str(value))
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"{value!r} is not a duration (write e.g. 30s, 15 min, 2 hours, 7 days)")
    return float(m.group(1)) * _UNITS[m.group(2).lower()]


def format_duration(seconds: float) -> str:
    """The shortest exact spelling of a duration: ``7 days``, ``90 min``, ``45 s``."""
    for unit, size in (("days", 86400), ("hours", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {unit[:-1] if n == 1 and unit.endswith('s') else unit}"
    return f"{seconds:g} s"


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value]
    raise ValueError(f"{value!r} is not a list")


def _number(value: Any, kind: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a number") from None
    if math.isnan(number) or math.isinf(number):
        raise ValueError(f"{value!r} is not a finite number")
    if kind == "int" and number != int(number):
        raise ValueError(f"{value!r} is not a whole number")
    return number


def _weights(value: Any) -> tuple[tuple[str, float], ...]:
    pairs: list[tuple[str, float]] = []
    if isinstance(value, Mapping):
        items = list(value.items())
    else:
        items = []
        for part in _as_list(value):
            name, sep, weight = part.rpartition("=") if "=" in part else part.rpartition(":")
            if not sep or not name:
                raise ValueError(f"{part!r} is not METRIC=WEIGHT")
            items.append((name, weight))
    for name, weight in items:
        w = _number(weight, "float")
        if w < 0:
            raise ValueError(f"weight of {name} is negative")
        pairs.append((str(name).strip(), w))
    if not pairs or sum(w for _, w in pairs) <= 0:
        raise ValueError("weights need at least one metric with a positive weight")
    return tuple(pairs)


def coerce(param: Param, value: Any) -> Any:
    """Check ``value`` against ``param`` and return it in canonical form."""
    t = param.type
    out: Any
    if t is ParamType.INT or t is ParamType.FLOAT:
        out = _number(value, t.value)
        out = int(out) if t is ParamType.INT else out
    elif t is ParamType.DURATION:
        out = parse_duration(value)
    elif t is ParamType.BOOL:
        if isinstance(value, bool):
            out = value
        elif str(value).strip().lower() in _TRUE:
            out = True
        elif str(value).strip().lower() in _FALSE:
            out = False
        else:
            raise ValueError(f"{value!r} is not true or false")
    elif t is ParamType.STRING or t is ParamType.METRIC:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ValueError(f"{value!r} is not text")
        out = str(value).strip()
    elif t is ParamType.STRINGS or t is ParamType.COLUMNS:
        out = tuple(_as_list(value))
        if not out:
            raise ValueError("the list is empty")
    elif t is ParamType.WEIGHTS:
        out = _weights(value)
    else:  # pragma: no cover - the enum is closed
        raise ValueError(f"unknown parameter type {t}")
    if t in (ParamType.INT, ParamType.FLOAT, ParamType.DURATION):
        if param.min is not None and out < param.min:
            raise ValueError(f"{value!r} is below the minimum {param.min:g}")
        if param.max is not None and out > param.max:
            raise ValueError(f"{value!r} is above the maximum {param.max:g}")
    if param.allowed is not None:
        values = out if isinstance(out, tuple) else (out,)
        bad = [v for v in values if v not in param.allowed]
        if bad:
            raise ValueError(f"{', '.join(map(str, bad))} not allowed; choose from "
                             + ", ".join(param.allowed))
    return out


def show(param: Param, value: Any) -> str:
    """A value as a user would type it back (column names, explain output)."""
    if param.type is ParamType.DURATION:
        return format_duration(float(value)).replace(" ", "")
    if param.type is ParamType.WEIGHTS:
        return ",".join(f"{k}={w:g}" for k, w in value)
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)
