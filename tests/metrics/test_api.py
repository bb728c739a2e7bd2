"""The Python API: outputs, names as asked, targets, explain, drill, one scan per table."""

from __future__ import annotations

import json
import re

import ibis
import pandas as pd
import pyarrow as pa
import pytest

from contactkpi.config import Settings, TargetSetting, Tenant
from contactkpi.errors import QueryError
from contactkpi.metrics import MetricQuery, drill, explain, query, run
from contactkpi.store import Warehouse, load_frames

T0 = pd.Timestamp("2026-03-02 08:00", tz="UTC")  # 09:00 in Paris


@pytest.fixture(scope="module")
def wh() -> Warehouse:
    w = Warehouse.memory()
    rows = pd.DataFrame({
        "contact_id": [f"c{i}" for i in range(6)], "channel": "voice", "direction": "inbound",
        "queue": ["sales", "sales", "sales", "support", "support", "sales"],
        "arrived_at": [T0, T0 + pd.Timedelta(minutes=10), T0 + pd.Timedelta(minutes=40),
                       T0, T0 + pd.Timedelta(minutes=5), T0 + pd.Timedelta(days=1)],
        "outcome": ["answered", "answered", "abandoned", "answered", "answered", "answered"],
        "wait_s": [5.0, 40.0, 50.0, 10.0, 25.0, 15.0],
        "talk_s": [100.0, 200.0, None, 60.0, 80.0, 90.0], "hold_s": 0.0,
        "acw_s": [10.0, 20.0, None, 5.0, 5.0, 10.0]})
    load_frames(w, {"contacts": rows}, tenant="acme")
    return w


SETTINGS = Settings(
    default_tenant="acme",
    tenants={"acme": Tenant(name="acme", timezone="Europe/Paris")},
    targets={"service_level": TargetSetting(0.9, 0.2, {"threshold_s": 20}),
             "asa_s": TargetSetting(18.0, 5.0)},
)


def test_outputs_pandas_arrow_ibis_and_json(wh: Warehouse) -> None:
    q = MetricQuery(["offered", "service_level@of_offered:threshold_s=30"], by=["queue"],
                    grain="day")
    frame = query(wh, q, settings=SETTINGS)
    assert list(frame.columns) == ["queue", "period_start", "offered",
                                   "service_level@of_offered:threshold_s=30"]
    assert str(frame["period_start"].dt.tz) == "Europe/Paris"
    table = query(wh, q, output="arrow", settings=SETTINGS)
    assert isinstance(table, pa.Table) and table.num_rows == len(frame) == 3
    expr = query(wh, q, output="ibis", settings=SETTINGS)
    assert isinstance(expr, ibis.Table) and "_pn" in expr.columns
    payload = json.loads(json.dumps(run(wh, q, settings=SETTINGS).to_dict()))
    assert [m["name"] for m in payload["metrics"]] == ["offered",
                                                       "service_level@of_offered:threshold_s=30"]
    assert payload["metrics"][1]["params"] == {"threshold_s": "30", "short_abandon_s": "5"}
    first = payload["rows"][0]
    assert first == {"queue": "sales", "period_start": "2026-03-02T00:00:00+01:00",
                     "offered": 3, "service_level@of_offered:threshold_s=30": 1 / 3}


def test_targets_from_config_with_direction_aware_status(wh: Warehouse) -> None:
    q = MetricQuery(["service_level", "service_level:threshold_s=30", "asa_s"], by=["queue"])
    frame = query(wh, q, settings=SETTINGS).set_index("queue")
    # sales: answered within 20 s = c0, c5 of 4 offered -> 0.5 vs target 0.9 (near 0.2)
    assert frame.loc["sales", "service_level"] == 0.5
    assert frame.loc["sales", "service_level.target"] == 0.9
    assert frame.loc["sales", "service_level.status"] == "missed"  # below 0.9 - 0.2
    # the config target is stated for threshold_s=20: it does not apply at 30 s
    assert "service_level:threshold_s=30.target" not in frame.columns
    # asa, lower is better, target 18 near 5: sales (5+40+15)/3 = 20, support 17.5
    assert frame.loc["sales", "asa_s.status"] == "near"
    assert frame.loc["support", "asa_s.status"] == "met"


def test_no_targets_when_asked(wh: Warehouse) -> None:
    frame = query(wh, MetricQuery(["service_level"], targets=False), settings=SETTINGS)
    assert list(frame.columns) == ["period_start", "service_level"]


def test_several_kpis_share_one_scan_of_contacts() -> None:
    q = MetricQuery(["offered", "answered", "service_level", "service_level@of_offered",
                     "asa_s", "awt_s", "aht_s", "abandon_rate", "longest_wait_s"],
                    by=["queue"], grain="interval_30m")
    sql = explain("offered", sql=True, query=q).sql  # one KPI's SQL: one FROM contacts
    assert sql is not None and sql.count('FROM "contacts"') == 1
    from contactkpi.metrics.compile import compile_query
    from contactkpi.metrics.loader import default_catalog
    from contactkpi.metrics.query import unbound_tables

    _, expr = compile_query(default_catalog(), q, unbound_tables(), Settings())
    full = ibis.to_sql(expr, dialect="duckdb")
    assert full.count('FROM "contacts"') == 1
    assert len(re.findall(r"GROUP BY", full)) == 1


def test_explain_shows_words_source_params_missing_and_sql_without_running() -> None:
    e = explain("service_level", params={"threshold_s": 30}, variant="of_offered", sql=True)
    text = e.render()
    for part in ("Share of offered contacts", "Amazon Connect", "threshold_s = 30   (request)",
                 "missing values:", "variant: of_offered", "SQL (DuckDB, not executed):"):
        assert part in text
    assert '"wait_s" <= 30' in (e.sql or "")
    assert e.to_dict()["params"]["threshold_s"] == {
        "value": "30", "from": "request",
        "description": "Answered within this many seconds of waiting counts as met."}


def test_unknown_names_are_user_errors_with_hints(wh: Warehouse) -> None:
    with pytest.raises(QueryError, match="unknown metric") as info:
        query(wh, MetricQuery(["servce_level"]))
    assert "service_level" in (info.value.hint or "")
    with pytest.raises(QueryError, match="unknown dimension"):
        query(wh, MetricQuery(["offered"], by=["queu"]))
    with pytest.raises(QueryError, match="unknown grain"):
        query(wh, MetricQuery(["offered"], grain="fortnight"))
    with pytest.raises(QueryError, match="no parameter"):
        query(wh, MetricQuery(["offered:threshold_s=3"]))
    with pytest.raises(QueryError, match="cannot be cut by team"):
        query(wh, MetricQuery(["cost_per_contact"], by=["team"]))


def test_drill_returns_the_rows_behind_a_cell(wh: Warehouse) -> None:
    q = MetricQuery(["service_level"], by=["queue"], grain="interval_30m")
    rows = drill(wh, q, "service_level", {"queue": "sales",
                                          "period_start": "2026-03-02T09:00:00+01:00"},
                 settings=SETTINGS)
    assert rows["contact_id"].tolist() == ["c0", "c1"]
    assert rows["in_numerator"].tolist() == [True, False]
    assert rows["in_denominator"].tolist() == [True, True]
    out = run(wh, q, settings=SETTINGS).frame
    cell = out[(out["queue"] == "sales")].iloc[0]
    assert cell["service_level"] == rows["in_numerator"].sum() / rows["in_denominator"].sum()


def test_drill_of_an_average_shows_the_values(wh: Warehouse) -> None:
    rows = drill(wh, MetricQuery(["aht_s"], by=["queue"]), "aht_s", {"queue": "support"},
                 settings=SETTINGS)
    assert rows["value_value"].tolist() == [65.0, 85.0]


def test_empty_warehouse() -> None:
    empty = Warehouse.memory()
    frame = query(empty, MetricQuery(["offered", "service_level", "fcr", "csat"]))
    assert frame["offered"].tolist() == [0]
    assert frame[["service_level", "fcr", "csat"]].isna().all(axis=None)
    assert query(empty, MetricQuery(["offered"], grain="day")).empty


def test_every_tenant_at_once_for_agents_per_client() -> None:
    w = Warehouse.memory()
    t = pd.Timestamp("2026-03-02 09:00", tz="UTC")
    for tenant, agents in (("acme", ["a1", "a2", "a1"]), ("beta", ["a1", "b7", "b8"])):
        rows = pd.DataFrame({"contact_id": ["1", "2", "3"], "channel": "voice",
                             "direction": "inbound", "queue": "q", "arrived_at": t,
                             "outcome": "answered", "agent_id": agents})
        load_frames(w, {"contacts": rows}, tenant=tenant)
    settings = Settings(default_tenant="acme", tenants={
        "acme": Tenant(name="acme", timezone="Europe/Paris"),
        "beta": Tenant(name="beta", timezone="Europe/Paris")})
    both = query(w, MetricQuery(["agents_assigned", "offered"], by=["tenant"], tenant="*"),
                 settings=settings)
    assert both.set_index("tenant")["agents_assigned"].to_dict() == {"acme": 2, "beta": 3}
    one = query(w, MetricQuery(["agents_assigned"]), settings=settings)
    assert one["agents_assigned"].tolist() == [2]  # the default tenant only


def test_the_query_docstring_example_runs() -> None:
    import doctest
    import importlib

    module = importlib.import_module("contactkpi.metrics.query")

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 1 and result.failed == 0
