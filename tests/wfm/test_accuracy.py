"""Forecast accuracy: hand-worked numbers, zero actuals, day aggregation, properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactkpi.wfm.accuracy import accuracy, accuracy_table


def test_hand_worked_intervals():
    # forecast 12, 9, 20, 0 vs actual 10, 10, 25, 4:
    # |e| = 2, 1, 5, 4 -> WAPE 12 / 49; APE 0.2, 0.1, 0.2, 1.0 -> MAPE 0.375;
    # bias (41 - 49) / 49; within 5%: none; within 10%: the 9 vs 10.
    acc = accuracy([12, 9, 20, 0], [10, 10, 25, 4])
    assert acc.intervals == 4
    assert acc.wape == pytest.approx(12 / 49)
    assert acc.mape == pytest.approx(0.375)
    assert acc.bias == pytest.approx(-8 / 49)
    assert acc.within_5 == 0.0
    assert acc.within_10 == 0.25
    assert acc.mape_skipped == 0 and acc.missing == 0


def test_zero_actuals_are_skipped_by_mape_and_counted():
    acc = accuracy([5, 0, 11, 9], [0, 0, 10, 10])
    assert acc.mape == pytest.approx(0.1)  # only the two non-zero actuals
    assert acc.mape_skipped == 2
    assert acc.wape == pytest.approx(7 / 20)  # zeros still count in WAPE's numerator
    # 0 vs 0 is within any band; 5 vs 0 is not.
    assert acc.within_10 == pytest.approx(3 / 4)


def test_all_zero_actuals_and_missing_values():
    acc = accuracy([1.0, 0.0], [0.0, 0.0])
    assert math.isnan(acc.wape) and math.isnan(acc.mape) and math.isnan(acc.bias)
    acc = accuracy([10.0, np.nan, 8.0], [10.0, 5.0, np.nan])
    assert acc.intervals == 1 and acc.missing == 2 and acc.wape == 0.0


def test_shape_mismatch():
    with pytest.raises(ValueError, match="3 values"):
        accuracy([1, 2, 3], [1, 2])


def test_table_per_queue_and_day():
    ds = pd.to_datetime(["2026-03-02 09:00", "2026-03-02 09:30",
                         "2026-03-03 09:00", "2026-03-03 09:30"])
    frame = pd.DataFrame({
        "unique_id": ["a"] * 4 + ["b"] * 4,
        "ds": list(ds) * 2,
        "forecast": [10, 10, 10, 10, 50, 50, 50, 50],
        "actual": [12, 8, 10, 11, 50, 50, 0, 0],
    })
    t = accuracy_table(frame).set_index("unique_id")
    # a: |e| 2, 2, 0, 1 over 41; days: 20 vs 20, 20 vs 21 -> day WAPE 1/41.
    assert t.loc["a", "wape"] == pytest.approx(5 / 41)
    assert t.loc["a", "days"] == 2
    assert t.loc["a", "day_wape"] == pytest.approx(1 / 41)
    assert t.loc["a", "day_within_5"] == 1.0  # 20 vs 21 is 4.8% off
    # b: day 2 has zero actuals: skipped by MAPE at both grains.
    assert t.loc["b", "mape_skipped"] == 2 and t.loc["b", "day_mape_skipped"] == 1
    assert t.loc["b", "day_mape"] == 0.0


def test_table_without_days_and_missing_columns():
    frame = pd.DataFrame({"unique_id": ["q"] * 2, "ds": [1, 2], "forecast": [1.0, 2.0],
                          "actual": [1.0, 1.0]})
    t = accuracy_table(frame)
    assert t.loc[0, "days"] == 0 and math.isnan(t.loc[0, "day_wape"])
    with pytest.raises(KeyError, match="actual"):
        accuracy_table(frame.drop(columns="actual"))


values = st.lists(st.floats(0, 1e4, allow_nan=False, allow_subnormal=False), min_size=1,
                  max_size=40)


@settings(max_examples=80, deadline=None)
@given(values, st.floats(0.5, 2.0))
def test_properties(actual, scale):
    actual_arr = np.array(actual)
    forecast = actual_arr * scale
    acc = accuracy(forecast, actual_arr)
    for share in (acc.within_5, acc.within_10):
        assert 0.0 <= share <= 1.0
    assert acc.within_5 <= acc.within_10
    if actual_arr.sum() > 0:
        # A forecast off by a constant factor has WAPE = MAPE = |scale - 1|.
        assert acc.wape == pytest.approx(abs(scale - 1), abs=1e-9)
        assert acc.bias == pytest.approx(scale - 1, abs=1e-9)
        if (actual_arr > 0).any():
            assert acc.mape == pytest.approx(abs(scale - 1), abs=1e-9)
    perfect = accuracy(actual_arr, actual_arr)
    assert perfect.within_5 == 1.0
