"""Properties on generated contacts (hypothesis): monotone service level, ratios in [0, 1],
counts additive across intervals, FCR pending never counted as resolved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactkpi.config import Settings, Tenant
from contactkpi.metrics import MetricQuery, drill, run
from contactkpi.metrics.loader import default_catalog
from contactkpi.metrics.spec import Unit
from contactkpi.store import Warehouse, load_frames

START = datetime(2026, 10, 24, tzinfo=UTC)  # the days around the autumn DST change
SETTINGS = Settings(default_tenant="t", tenants={"t": Tenant(name="t", timezone="Europe/Paris")})

contact = st.fixed_dictionaries({
    "queue": st.sampled_from(["a", "b"]),
    "minute": st.integers(min_value=0, max_value=3 * 24 * 60),
    "outcome": st.sampled_from(["answered", "answered", "abandoned", "overflowed"]),
    "wait_s": st.one_of(st.none(), st.integers(min_value=0, max_value=90)),
    "talk_s": st.integers(min_value=1, max_value=600),
    "customer": st.one_of(st.none(), st.sampled_from(["c1", "c2", "c3", "c4"])),
    "reason": st.sampled_from(["billing", "tech"]),
})


def _warehouse(rows: list[dict]) -> Warehouse:
    frame = pd.DataFrame([{
        "contact_id": f"k{i}", "channel": "voice", "direction": "inbound", "queue": r["queue"],
        "arrived_at": START + timedelta(minutes=r["minute"]), "outcome": r["outcome"],
        "wait_s": r["wait_s"], "customer_id": r["customer"], "reason": r["reason"],
        "talk_s": r["talk_s"] if r["outcome"] == "answered" else None,
        "ended_at": START + timedelta(minutes=r["minute"], seconds=(r["wait_s"] or 0)
                                      + (r["talk_s"] if r["outcome"] == "answered" else 0)),
    } for i, r in enumerate(rows)])
    wh = Warehouse.memory()
    load_frames(wh, {"contacts": frame}, tenant="t")
    return wh


def _run(wh: Warehouse, metrics: list[str], **kw: object) -> pd.DataFrame:
    return run(wh, MetricQuery(metrics=tuple(metrics), tenant="t", targets=False, **kw),
               settings=SETTINGS).frame


common = settings(max_examples=8, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])


@common
@given(st.lists(contact, min_size=1, max_size=40))
def test_service_level_never_falls_as_the_threshold_grows(rows: list[dict]) -> None:
    wh = _warehouse(rows)
    thresholds = [0, 5, 10, 20, 30, 60, 120]
    variants = ("", "@of_offered", "@of_answered", "@abandons_in_threshold_met",
                "@abandons_in_threshold_excluded")
    out = _run(wh, [f"service_level{v}:threshold_s={t}" for v in variants for t in thresholds],
               by=("queue",))
    for variant in variants:
        names = [f"service_level{variant}:threshold_s={t}" for t in thresholds]
        for _, row in out.iterrows():
            values = [row[n] for n in names if not pd.isna(row[n])]
            assert values == sorted(values), (variant, values)


@common
@given(st.lists(contact, min_size=1, max_size=40))
def test_every_ratio_is_between_0_and_1(rows: list[dict]) -> None:
    wh = _warehouse(rows)
    catalog = default_catalog()
    ratios = [m.name for m in catalog.metrics.values()
              if m.unit is Unit.RATIO and m.family in ("inbound", "resolution")
              and m.type.value != "trend"]
    out = _run(wh, ratios, by=("queue",), grain="day")
    values = out[ratios].to_numpy(dtype=float).ravel()
    values = values[~pd.isna(values)]
    assert ((values >= 0) & (values <= 1)).all()


@common
@given(st.lists(contact, min_size=1, max_size=40))
def test_counts_add_up_across_intervals(rows: list[dict]) -> None:
    wh = _warehouse(rows)
    counts = ["offered", "answered", "abandoned", "short_abandons", "fcr_pending"]
    total = _run(wh, counts)
    for grain in ("interval_15m", "day"):
        parts = _run(wh, counts, grain=grain, by=("queue",))
        for c in counts:
            assert parts[c].sum() == total[c].iloc[0], (grain, c)
    assert total["offered"].iloc[0] == len(rows)


@common
@given(st.lists(contact, min_size=1, max_size=40))
def test_fcr_pending_is_never_counted_as_resolved(rows: list[dict]) -> None:
    wh = _warehouse(rows)
    q = MetricQuery(("fcr",), tenant="t", targets=False)
    behind = drill(wh, q, "fcr", settings=SETTINGS)
    end = pd.Timestamp(START) + pd.Timedelta(minutes=max(r["minute"] for r in rows))
    window = pd.Timedelta(days=7)
    for _, r in behind.iterrows():
        closes = r["ended_at"] + window
        if r["fcr_status"] == "resolved":
            assert closes <= end
        if r["fcr_status"] == "pending":
            assert closes > end
            assert pd.isna(r["next_arrived_at"]) or r["next_arrived_at"] > closes
    out = _run(wh, ["fcr", "fcr_pending", "repeat_contact_rate"])
    judged = (behind["fcr_status"] != "pending").sum()
    assert out["fcr_pending"].iloc[0] == (behind["fcr_status"] == "pending").sum()
    if judged:
        resolved = (behind["fcr_status"] == "resolved").sum()
        assert abs(out["fcr"].iloc[0] - resolved / judged) < 1e-12
        assert abs(out["fcr"].iloc[0] + out["repeat_contact_rate"].iloc[0] - 1) < 1e-12
    else:
        assert pd.isna(out["fcr"].iloc[0])
