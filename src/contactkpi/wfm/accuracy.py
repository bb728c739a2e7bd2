"""Forecast accuracy: MAPE, WAPE, bias and the share of intervals (and days) within +/-5% and 10%.

Definitions (``f`` forecast, ``a`` actual, sums over the compared intervals):

- ``wape = sum|f - a| / sum a``: weighted absolute percentage error; busy intervals weigh
  more, and zero actuals need no special case.
- ``mape = mean(|f - a| / a)`` over intervals with ``a > 0``. Intervals with ``a = 0`` have
  no percentage error: they are **left out** and counted in ``mape_skipped``.
- ``bias = (sum f - sum a) / sum a``: signed; above 0 the forecast was too high.
- ``within_5`` / ``within_10``: share of intervals with ``|f - a| <= 5% (10%) of a``. An
  interval with ``a = 0`` is within only when ``f = 0`` too.
- Day versions (``day_*``) do the same after summing forecast and actual per day.

Pairs where either value is missing (NaN) are dropped and counted in ``missing``. Ratios are
0..1 (shown as percent by outputs). ``nan`` where a value has no meaning (e.g. WAPE when
every actual is 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = ["Accuracy", "accuracy", "accuracy_table"]


@dataclass(frozen=True)
class Accuracy:
    """Accuracy of one forecast against actuals (see the module docstring)."""

    intervals: int
    wape: float
    mape: float
    mape_skipped: int
    bias: float
    within_5: float
    within_10: float
    missing: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def accuracy(forecast: ArrayLike, actual: ArrayLike) -> Accuracy:
    """Accuracy of ``forecast`` against ``actual`` (same shape, any number of intervals).

    Examples:
        >>> acc = accuracy([110, 90, 5, 0], [100, 100, 0, 0])
        >>> acc.wape  # (10 + 10 + 5 + 0) / 200
        0.125
        >>> acc.mape, acc.mape_skipped  # (0.10 + 0.10) / 2; two zero actuals skipped
        (0.1, 2)
        >>> acc.bias, acc.within_5, acc.within_10
        (0.025, 0.25, 0.75)
    """
    f = np.asarray(forecast, dtype=float).ravel()
    a = np.asarray(actual, dtype=float).ravel()
    if f.shape != a.shape:
        raise ValueError(f"forecast has {f.size} values, actual {a.size}")
    keep = ~(np.isnan(f) | np.isnan(a))
    missing = int((~keep).sum())
    f, a = f[keep], a[keep]
    err = np.abs(f - a)
    total = a.sum()
    positive = a > 0
    with np.errstate(all="ignore"):
        wape = float(err.sum() / total) if total > 0 else float("nan")
        bias = float((f.sum() - total) / total) if total > 0 else float("nan")
        mape = float(np.mean(err[positive] / a[positive])) if positive.any() else float("nan")
    n = int(f.size)
    # A tiny tolerance keeps 105 vs 100 inside the 5% band despite rounding.
    tol = 1e-12 * np.maximum(np.abs(a), 1.0)
    within_5 = float(np.mean(err <= 0.05 * np.abs(a) + tol)) if n else float("nan")
    within_10 = float(np.mean(err <= 0.10 * np.abs(a) + tol)) if n else float("nan")
    return Accuracy(
        intervals=n,
        wape=wape,
        mape=mape,
        mape_skipped=int((~positive).sum()),
        bias=bias,
        within_5=within_5,
        within_10=within_10,
        missing=missing,
    )


def accuracy_table(
    frame: pd.DataFrame,
    *,
    by: Sequence[str] = ("unique_id",),
    forecast: str = "forecast",
    actual: str = "actual",
    ds: str = "ds",
    day: str | None = None,
) -> pd.DataFrame:
    """Accuracy per group of a long frame of forecast and actual per interval.

    Args:
        frame: One row per interval (and group), with the forecast and actual columns.
        by: Group columns (e.g. ``["unique_id"]`` or ``["queue", "model"]``); empty for one row.
        forecast: Forecast column.
        actual: Actual column.
        ds: Interval start column; when it holds timestamps, days are its calendar dates.
        day: Column naming the day of each row; overrides the dates taken from ``ds``. With
            neither, the ``day_*`` columns are NaN.

    Returns:
        One row per group: ``intervals, wape, mape, mape_skipped, bias, within_5, within_10,
        missing`` and ``days, day_wape, day_mape, day_mape_skipped, day_bias, day_within_5,
        day_within_10``.

    Examples:
        >>> f = pd.DataFrame({"unique_id": ["q"] * 4, "day": [1, 1, 2, 2],
        ...                   "forecast": [10.0, 10.0, 12.0, 8.0],
        ...                   "actual": [8.0, 12.0, 10.0, 10.0]})
        >>> t = accuracy_table(f, day="day")
        >>> float(t.wape.iloc[0]), float(t.day_wape.iloc[0]), float(t.day_within_5.iloc[0])
        (0.2, 0.0, 1.0)
    """
    by = list(by)
    missing_cols = [c for c in [*by, forecast, actual] if c not in frame.columns]
    if missing_cols:
        raise KeyError(f"accuracy_table: missing columns {missing_cols}")
    day_key: pd.Series | None = None
    if day is not None:
        day_key = frame[day]
    elif ds in frame.columns and pd.api.types.is_datetime64_any_dtype(frame[ds]):
        day_key = frame[ds].dt.normalize()

    rows = []
    groups = frame.groupby(by, sort=True, dropna=False) if by else [((), frame)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        row: dict[str, object] = dict(zip(by, key, strict=True))
        row.update(accuracy(part[forecast], part[actual]).as_dict())
        if day_key is not None:
            daily = (
                part[[forecast, actual]]
                .assign(_day=day_key.loc[part.index])
                .groupby("_day")[[forecast, actual]]
                .sum(min_count=1)
            )
            d = accuracy(daily[forecast], daily[actual])
            row.update(
                days=d.intervals, day_wape=d.wape, day_mape=d.mape,
                day_mape_skipped=d.mape_skipped, day_bias=d.bias,
                day_within_5=d.within_5, day_within_10=d.within_10,
            )
        else:
            row.update(days=0, day_wape=np.nan, day_mape=np.nan, day_mape_skipped=0,
                       day_bias=np.nan, day_within_5=np.nan, day_within_10=np.nan)
        rows.append(row)
    return pd.DataFrame(rows)
