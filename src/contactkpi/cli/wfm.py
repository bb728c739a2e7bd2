"""Workforce-planning commands: ``contactkpi staff`` (agents for one interval's load)."""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

import typer

from contactkpi.cli.output import Format, show_pairs
from contactkpi.errors import QueryError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
_TARGET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%?)\s*/\s*(\d+(?:\.\d+)?)\s*s?\s*$")


def parse_interval(text: str, where: str = "--interval") -> int:
    """``15m``, ``30m``, ``60m``, ``1h``, ``900s`` -> seconds (whole, 1 s to 24 h).

    Examples:
        >>> parse_interval("30m"), parse_interval("1h"), parse_interval("900s")
        (1800, 3600, 900)
    """
    m = _DURATION.match(text)
    hint = "write a length with its unit: 15m, 30m, 60m, 1h or 900s"
    if not m:
        raise QueryError(f"cannot read interval {text!r}", where=where, hint=hint)
    seconds = float(m.group(1)) * _UNIT_S[m.group(2).lower()]
    if seconds <= 0 or seconds > 86400 or seconds != int(seconds):
        raise QueryError(f"interval {text!r} is not a whole number of seconds between 1 s "
                         "and 24 h", where=where, hint=hint)
    return int(seconds)


def parse_target(text: str) -> tuple[float, float]:
    """``80/20`` (or ``80%/20s``, ``0.8/20``) -> (0.8, 20.0).

    Examples:
        >>> parse_target("80/20"), parse_target("0.9/15s")
        ((0.8, 20.0), (0.9, 15.0))
    """
    m = _TARGET.match(text)
    hint = "write SL/seconds, e.g. 80/20 for 80% answered within 20 seconds"
    if not m:
        raise QueryError(f"cannot read target {text!r}", where="--target", hint=hint)
    value, pct, seconds = float(m.group(1)), m.group(2), float(m.group(3))
    share = value / 100 if (pct or value > 1) else value
    if not 0 < share < 1:
        raise QueryError(f"service level {text.split('/')[0]!r} is not between 0% and 100%",
                         where="--target", hint=hint)
    return share, seconds


def _fraction(value: float | None, where: str, upper_inclusive: bool) -> float | None:
    if value is None:
        return None
    ok = 0 <= value <= 1 if upper_inclusive else 0 <= value < 1
    if not ok or math.isnan(value):
        interval = "[0, 1]" if upper_inclusive else "[0, 1)"
        raise QueryError(f"{value!r} is not a fraction in {interval}", where=where,
                         hint="write it as a fraction, e.g. 0.3 for 30%")
    return value


def register(app: typer.Typer) -> None:
    """Add ``staff`` to ``app``."""

    @app.command("staff")
    def staff(
        volume: float = typer.Option(..., "--volume", help="Contacts offered in the interval."),
        interval: str = typer.Option("30m", "--interval",
                                     help="Interval length: 15m, 30m, 60m, 1h, 900s."),
        aht: float = typer.Option(..., "--aht", help="Average handle time in seconds."),
        target: str = typer.Option("80/20", "--target",
                                   help="Service level target SL/seconds, e.g. 80/20."),
        asa: float | None = typer.Option(None, "--asa",
                                         help="Also keep the ASA at or below this (seconds)."),
        patience: float | None = typer.Option(
            None, "--patience", help="Average patience in seconds: Erlang A (with abandons)."),
        shrinkage: float = typer.Option(0.0, "--shrinkage",
                                        help="Share of paid time not answering, e.g. 0.3."),
        max_occupancy: float | None = typer.Option(None, "--max-occupancy",
                                                   help="Highest occupancy, e.g. 0.85."),
        fmt: Format = typer.Option(Format.table, "--format", help="table or json (csv too)."),
    ) -> None:
        """Agents needed for one interval's load, and the SL, ASA, occupancy they give."""
        from contactkpi.wfm import erlang

        interval_s = parse_interval(interval)
        sl, threshold_s = parse_target(target)
        if not volume >= 0:
            raise QueryError(f"volume {volume!r} is negative", where="--volume",
                             hint="give the contacts offered in the interval, e.g. 120")
        if not aht > 0:
            raise QueryError(f"AHT {aht!r} is not positive", where="--aht",
                             hint="give the average handle time in seconds, e.g. 240")
        if asa is not None and not asa > 0:
            raise QueryError(f"ASA {asa!r} is not positive", where="--asa", hint="e.g. 30")
        if patience is not None and not patience > 0:
            raise QueryError(f"patience {patience!r} is not positive", where="--patience",
                             hint="give the customers' average patience in seconds, e.g. 90")
        _fraction(shrinkage, "--shrinkage", upper_inclusive=False)
        _fraction(max_occupancy, "--max-occupancy", upper_inclusive=True)
        if max_occupancy == 0:
            raise QueryError("max occupancy 0 admits no work", where="--max-occupancy",
                             hint="e.g. 0.85")

        traffic = float(erlang.traffic_erlangs(volume, aht, interval_s))
        agents = int(erlang.required_agents(
            traffic, aht, service_level=sl, threshold_s=threshold_s, asa_s=asa,
            max_occupancy=max_occupancy, patience_s=patience))
        stats = erlang.queue_stats(agents, traffic, aht, threshold_s, patience)
        result = {
            "model": "erlang_a" if patience is not None else "erlang_c",
            "volume": volume,
            "interval_s": interval_s,
            "aht_s": aht,
            "traffic_erlangs": traffic,
            "target_service_level": sl,
            "threshold_s": threshold_s,
            "agents": agents,
            "scheduled": int(erlang.scheduled_agents(agents, shrinkage)),
            "shrinkage": shrinkage,
            "service_level": float(stats.service_level),
            "asa_s": float(stats.asa_s),
            "occupancy": float(stats.occupancy) if agents else 0.0,
            "wait_probability": float(stats.wait_probability),
            "abandon_rate": float(stats.abandon_rate),
        }
        if fmt is Format.json:
            sys.stdout.write(json.dumps(result, indent=2) + "\n")
        elif fmt is Format.csv:
            sys.stdout.write(",".join(result) + "\n")
            sys.stdout.write(",".join(str(v) for v in result.values()) + "\n")
        else:
            show_pairs(_pairs(result), title="Staffing (Erlang A)" if patience is not None
                       else "Staffing (Erlang C)")


def _pairs(r: dict[str, Any]) -> list[tuple[str, str]]:
    def pct(v: float) -> str:
        return f"{v:.1%}"

    return [
        ("traffic", f"{r['traffic_erlangs']:.2f} Erlangs"),
        ("agents", str(r["agents"])),
        ("scheduled", f"{r['scheduled']} (shrinkage {pct(r['shrinkage'])})"),
        ("service level", f"{pct(r['service_level'])} within {r['threshold_s']:g} s "
                          f"(target {pct(r['target_service_level'])})"),
        ("ASA", f"{r['asa_s']:.1f} s"),
        ("occupancy", pct(r["occupancy"])),
        ("P(wait)", pct(r["wait_probability"])),
        ("abandonment", pct(r["abandon_rate"])),
    ]
