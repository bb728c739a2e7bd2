"""The CLI: `contactkpi metrics list|explain|validate|docs` and `contactkpi kpi`."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from kpihelpers import REPO

from contactkpi.cli.main import main
from contactkpi.store import Warehouse, load_frames

CONFIG = """\
default_tenant = "acme"
[warehouse]
url = "w.duckdb"
[tenants.acme]
timezone = "Europe/Paris"
opening_hours = { mon-fri = "08:00-18:00" }
[targets.service_level]
value = 0.8
near = 0.05
params = { threshold_s = 20 }
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    (root / "contactkpi.toml").write_text(CONFIG)
    wh = Warehouse.open(root / "w.duckdb")
    t = pd.Timestamp("2026-03-02 08:05", tz="UTC")  # 09:05 in Paris
    rows = pd.DataFrame({
        "contact_id": ["1", "2", "3", "4"], "channel": "voice", "direction": "inbound",
        "queue": ["sales", "sales", "support", "sales"],
        "arrived_at": [t, t, t, t + pd.Timedelta(days=1)],
        "outcome": ["answered", "answered", "abandoned", "answered"],
        "wait_s": [10.0, 25.0, 40.0, 5.0]})
    load_frames(wh, {"contacts": rows}, tenant="acme")
    wh.close()
    return root


def _cli(home: Path, args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = 0
    try:
        main(["--config", str(home / "contactkpi.toml"), *args])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_metrics_list_json(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(home, ["metrics", "list", "--format", "json"], capsys)
    assert code == 0
    names = {m["name"] for m in json.loads(out)["metrics"]}
    assert {"service_level", "fcr", "conversion_rate", "nps", "backlog"} <= names


def test_metrics_explain_with_sql(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(home, ["metrics", "explain", "service_level", "--param",
                               "threshold_s=30", "--variant", "of_offered", "--sql"], capsys)
    assert code == 0
    assert "threshold_s = 30" in out and "missing values:" in out
    assert '"wait_s" <= 30' in out and "Amazon Connect" in out


def test_kpi_json_by_queue_and_interval(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(home, ["kpi", "offered", "service_level@of_offered:threshold_s=30",
                               "service_level", "--by", "queue", "--grain", "interval_30m",
                               "--from", "2026-03-02", "--to", "2026-03-02",
                               "--param", "service_level.threshold_s=20",
                               "--format", "json"], capsys)
    assert code == 0
    payload = json.loads(out)
    assert [m["name"] for m in payload["metrics"]] == [
        "offered", "service_level@of_offered:threshold_s=30", "service_level"]
    assert payload["rows"] == [
        {"queue": "sales", "period_start": "2026-03-02T09:00:00+01:00", "offered": 2,
         "service_level@of_offered:threshold_s=30": 1.0, "service_level": 0.5,
         "service_level.target": 0.8, "service_level.status": "missed"},
        {"queue": "support", "period_start": "2026-03-02T09:00:00+01:00", "offered": 1,
         "service_level@of_offered:threshold_s=30": 0.0, "service_level": 0.0,
         "service_level.target": 0.8, "service_level.status": "missed"},
    ]


def test_kpi_where_injection_is_a_user_error(home: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(home, ["kpi", "offered", "--where",
                                 "queue='x'; DROP TABLE contacts; --"], capsys)
    assert code == 2 and out == ""
    assert err.startswith("error: --where:")
    code, out, _ = _cli(home, ["kpi", "offered", "--where", "queue=sales", "--format", "csv"],
                        capsys)
    assert code == 0 and out.splitlines()[1].endswith(",3")


def test_kpi_parquet_and_csv_files(home: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out.parquet"
    code, _, _ = _cli(home, ["kpi", "offered", "asa_s", "--by", "queue", "--format", "parquet",
                             "--out", str(target), "--no-targets"], capsys)
    assert code == 0
    frame = pd.read_parquet(target)
    assert frame.set_index("queue")["offered"].to_dict() == {"sales": 3, "support": 1}
    code, _, err = _cli(home, ["kpi", "offered", "--format", "parquet"], capsys)
    assert code == 2 and "--out" in err


def test_kpi_drill(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(home, ["kpi", "service_level", "--by", "queue", "--grain", "day",
                               "--drill", "queue=sales,period_start=2026-03-02T00:00:00+01:00",
                               "--format", "json"], capsys)
    assert code == 0
    rows = json.loads(out)["rows"]
    assert [r["contact_id"] for r in rows] == ["1", "2"]
    assert [r["in_numerator"] for r in rows] == [True, False]


def test_unknown_metric_exits_2_with_a_hint(home: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(home, ["kpi", "servce_level"], capsys)
    assert code == 2 and "did you mean 'service_level'" in err


def test_metrics_validate_and_docs_are_up_to_date(home: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(home, ["metrics", "validate"], capsys)
    assert code == 0 and err.startswith("ok:")
    code, _, err = _cli(home, ["metrics", "docs", "--out", str(REPO / "docs" / "metrics.md"),
                               "--check"], capsys)
    assert code == 0, err
