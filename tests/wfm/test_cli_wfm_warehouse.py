"""``contactkpi forecast``, ``forecast accuracy`` and ``plan`` on a simulated warehouse.

The warehouse holds five simulated weeks (from Monday 2026-01-05, London, open Mon-Fri
08:00-20:00 and Sat 09:00-13:00) of two queues and the simulator's own plan in ``forecasts``
(model ``simulator_plan``, made a week before the start).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from contactkpi.cli.main import app, main
from contactkpi.config import load_settings
from contactkpi.metrics import MetricQuery, MetricRequest, query
from contactkpi.simulate import simulate
from contactkpi.simulate.config import QaSim, QueueSim, SimConfig, SurveySim, TenantSim
from contactkpi.store import Warehouse, load_frames
from contactkpi.wfm.forecast import MODELS

runner = CliRunner()
SIM = SimConfig(start=date(2026, 1, 5), days=35, seed=4, tenants=(TenantSim(
    name="acme", timezone="Europe/London", country="GB",
    opening_hours={"mon-fri": "08:00-20:00", "sat": "09:00-13:00"},
    queues=(QueueSim(name="sales", daily_volume=600), QueueSim(name="support",
                                                               daily_volume=250)),
    surveys=SurveySim(rate=0.0),
    qa=QaSim(per_agent_week=0.0, mystery_per_week=0.0, calibration_per_week=0.0)),))


@pytest.fixture(scope="module")
def center(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Global options pointing at the simulated warehouse and its config."""
    root = tmp_path_factory.mktemp("wfm_cli")
    sim = simulate(SIM)
    path = root / "wh.duckdb"
    with Warehouse.open(path) as wh:
        load_frames(wh, {"contacts": sim.tables["contacts"],
                         "forecasts": sim.tables["forecasts"]}, tenant="acme")
    config = root / "contactkpi.toml"
    config.write_text('default_tenant = "acme"\n' + SIM.settings_toml()
                      + "\n[targets.service_level]\nvalue = 0.8\nparams = { threshold_s = 20 }\n")
    return ["--warehouse", str(path), "--config", str(config)]


def run_json(center: list[str], *args: str) -> dict:
    result = runner.invoke(app, [*center, *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_forecast_saves_and_accuracy_reads_it_back(center):
    out = run_json(center, "forecast", "--queue", "sales", "--start", "2026-02-02",
                   "--days", "6", "--save")
    assert (out["start"], out["end"]) == ("2026-02-02", "2026-02-07")
    assert out["history"] == {"from": "2026-01-05", "to": "2026-01-31"}
    rows = pd.DataFrame(out["rows"])
    stamps = pd.to_datetime(rows["interval_start"], utc=True).dt.tz_convert("Europe/London")
    assert set(stamps.dt.date.astype(str)) == {f"2026-02-0{d}" for d in range(2, 8)}
    assert (rows["volume"] >= 0).all() and (rows["aht_s"] > 0).all()
    assert set(rows["queue"]) == {"sales"} and rows["interval_s"].eq(1800).all()
    model = out["models"][0]["model"]
    assert model in MODELS and set(rows["model"]) == {model}
    assert out["saved"]["rows"] == len(rows)
    # The saved run, judged over the same days: the WAPE printed equals one computed here
    # from the forecast rows and the contacts offered per interval (read through the engine).
    acc = run_json(center, "forecast", "accuracy", "--from", "2026-02-02", "--to",
                   "2026-02-07", "--queue", "sales", "--model", model, "--detail")
    summary = acc["rows"][0]
    assert (summary["model"], summary["created_at"]) == (model, out["saved"]["created_at"])
    detail = pd.DataFrame(acc["intervals"])
    assert summary["intervals"] == len(detail)
    assert summary["wape"] == pytest.approx(
        (detail["forecast"] - detail["actual"]).abs().sum() / detail["actual"].sum())
    fc = rows.assign(period_start=pd.to_datetime(rows["interval_start"], utc=True))
    merged = detail.assign(period_start=pd.to_datetime(detail["period_start"], utc=True)) \
        .merge(fc, on="period_start", how="left")
    assert merged["forecast"].to_numpy() == pytest.approx(merged["volume"].fillna(0).to_numpy())
    # ... and its bias equals the catalog KPI forecast_bias pinned to that run.
    settings = load_settings(config=center[3], warehouse=center[1])
    made = out["saved"]["created_at"]
    with Warehouse.open(center[1], create=False, read_only=True) as wh:
        kpi = query(wh, MetricQuery([MetricRequest("forecast_bias", params={
            "model": model, "created_from": made, "created_to": made}, column="bias")],
            by=("queue",), start="2026-02-02", end="2026-02-08", where="queue = 'sales'",
            targets=False), settings=settings)
    assert summary["bias"] == pytest.approx(float(kpi["bias"].iloc[0]))


def test_one_week_of_history_gives_the_week_naive_forecast(center):
    out = run_json(center, "forecast", "--queue", "support", "--start", "2026-01-12",
                   "--days", "1")
    assert out["history"] == {"from": "2026-01-05", "to": "2026-01-10"}
    assert out["models"][0]["model"] == "seasonal_naive_week"
    assert out["models"][0]["backtest_wape"] is None  # too short to backtest
    # Monday 12th forecast = Monday 5th's contacts, interval by interval.
    plan = run_json(center, "plan", "--from", "2026-01-05", "--to", "2026-01-05", "--queue",
                    "support")
    came = {r["interval_start"][11:16]: r["actual_volume"] for r in plan["rows"]}
    for row in out["rows"]:
        assert row["volume"] == came.get(row["interval_start"][11:16], 0.0)


def test_accuracy_of_the_simulator_plan(center):
    acc = run_json(center, "forecast", "accuracy", "--from", "2026-01-12", "--to",
                   "2026-01-17")
    assert [r["model"] for r in acc["runs"]] == ["simulator_plan", "simulator_plan"]
    for row in acc["rows"]:
        assert row["days"] == 6 and 0 < row["wape"] < 0.5
        assert 0 <= row["within_5"] <= row["within_10"] <= 1
        assert abs(row["bias"]) < 0.2 and row["day_wape"] < 0.25


def test_plan_rows_agree_with_the_staff_command(center):
    out = run_json(center, "plan", "--from", "2026-01-13", "--to", "2026-01-13", "--queue",
                   "sales", "--shrinkage", "0.3")
    assert out["target"] == {"service_level": 0.8, "threshold_s": 20.0, "shrinkage": 0.3}
    # the simulator's sessions carry no queue: the plan says why staffed is empty
    assert "sessions must carry their queue" in out["notes"][0]
    assert [r["model"] for r in out["runs"]] == ["simulator_plan"]
    rows = pd.DataFrame(out["rows"])
    assert set(rows["volume_source"]) <= {"forecast", "actual"}
    busy = rows[rows["volume_source"] == "forecast"].sort_values("planned_volume").iloc[-1]
    patience = out["patience_s"]["sales"]
    assert busy["erlang"] == "A" and patience > 0
    staff = run_json(center, "staff", "--volume", str(busy["planned_volume"]), "--aht",
                     str(busy["planned_aht_s"]), "--interval", "30m", "--patience",
                     str(patience), "--shrinkage", "0.3")
    assert staff["agents"] == busy["agents_required"]
    assert staff["scheduled"] == busy["agents_scheduled"]
    # Erlang A at the estimated patience, for the contacts that actually came.
    assert busy["actual_volume"] > 0 and busy["agents_required_actual"] >= 1


def test_plan_table_prints_a_note(center):
    result = runner.invoke(app, [*center, "plan", "--from", "2026-01-13", "--to",
                                 "2026-01-13", "--queue", "support", "--patience", "120"])
    assert result.exit_code == 0, result.output
    assert "Staffing plan 2026-01-13" in result.stdout
    assert "support: Erlang A, patience 120 s" in result.output


@pytest.mark.parametrize(("args", "where"), [
    (["forecast", "--queue", "nope"], "--queue"),
    (["forecast", "--interval", "45m"], "--interval"),
    (["forecast", "--days", "0"], "--days"),
    (["forecast", "--start", "2026-02-30"], "--start"),
    (["forecast", "--start", "2026-01-10"], "--queue"),  # 5 days of history
    (["plan", "--from", "2026-01-10", "--to", "2026-01-05"], "--to"),
    (["plan", "--from", "2026-01-05", "--to", "2026-01-05", "--queue", "nope"], "--queue"),
    (["plan", "--from", "5 Jan", "--to", "2026-01-05"], "--from"),
    (["plan", "--from", "2026-01-05", "--to", "2026-01-05", "--target", "80"], "--target"),
    (["forecast", "accuracy", "--from", "2026-01-10", "--to", "2026-01-05"], "--to"),
    (["forecast", "--queue", "sales", "accuracy", "--from", "2026-01-12", "--to",
      "2026-01-13"], "forecast"),
    (["forecast", "accuracy", "--from", "2026-01-12", "--to", "2026-01-13",
      "--model", "nope"], "--model"),
])
def test_bad_input_exits_2_with_where_and_hint(center, capsys, args, where):
    with pytest.raises(SystemExit) as exit_info:
        main([*center, *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"error: {where}:" in err and "hint:" in err


def test_no_history(tmp_path: Path, capsys):
    path = tmp_path / "empty.duckdb"
    Warehouse.open(path).close()
    config = tmp_path / "contactkpi.toml"
    config.write_text('default_tenant = "acme"\n' + SIM.settings_toml())
    for args in (["forecast"], ["plan", "--from", "2026-01-05", "--to", "2026-01-06"],
                 ["forecast", "accuracy", "--from", "2026-01-05", "--to", "2026-01-06"]):
        with pytest.raises(SystemExit) as exit_info:
            main(["--warehouse", str(path), "--config", str(config), *args])
        assert exit_info.value.code == 2, args
        err = capsys.readouterr().err
        assert err.startswith("error: --") and "hint:" in err, err
