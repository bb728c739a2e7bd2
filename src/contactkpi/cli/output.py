"""Printing for the CLI: data to stdout, messages and progress to stderr."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def print_error(message: str, where: str | None = None, hint: str | None = None) -> None:
    """``error: where: message`` then ``hint: ...`` on stderr, without markup surprises."""
    text = f"error: {where}: {message}" if where else f"error: {message}"
    print(text, file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)


def _plain(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp | datetime | date):
        return v.isoformat()
    if hasattr(v, "item"):
        return v.item()
    return v


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: NaN/NaT become null, times ISO-8601."""
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def show_frame(frame: pd.DataFrame, fmt: Format, title: str | None = None,
               json_key: str = "rows", extra: dict[str, Any] | None = None) -> None:
    """Print a frame as a Rich table, JSON (``{json_key: [...]}``) or CSV on stdout."""
    if fmt is Format.json:
        payload = dict(extra or {})
        payload[json_key] = records(frame)
        sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
    elif fmt is Format.csv:
        frame.to_csv(sys.stdout, index=False)
    else:
        table = Table(title=title, show_lines=False)
        for col in frame.columns:
            table.add_column(str(col), overflow="fold")
        for row in frame.itertuples(index=False):
            table.add_row(*("" if _plain(v) is None else str(_plain(v)) for v in row))
        stdout.print(table)


def show_pairs(pairs: Sequence[tuple[str, Any]], title: str | None = None) -> None:
    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for k, v in pairs:
        table.add_row(k, str(v))
    stdout.print(table)
