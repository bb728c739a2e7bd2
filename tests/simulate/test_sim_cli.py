"""``contactkpi simulate``: one file per table, the same data as the Python API, no warehouse."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from contactkpi.cli.simulate import register
from contactkpi.errors import ConfigError
from contactkpi.simulate import TABLE_NAMES, simulate


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:
        """Test root."""

    return app


def test_writes_every_table_as_parquet_and_matches_the_api(app: typer.Typer, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["simulate", "--seed", "5", "--days", "2", "--out",
                                      str(out), "--volume-scale", "0.2", "--events"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {f"{t}.parquet" for t in TABLE_NAMES} | {
        "events.parquet", "tenants.toml"}
    sim = simulate(seed=5, days=2, volume_scale=0.2)
    for name in ("contacts", "agent_states", "roster", "costs"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"{name}.parquet"), sim[name],
                                      check_dtype=False, obj=name)
    assert not list(tmp_path.rglob("*.duckdb"))  # the command never opens a warehouse
    assert "[tenants.kestrel_bank]" in (out / "tenants.toml").read_text()


def test_csv_and_a_config_file(app: typer.Typer, tmp_path: Path) -> None:
    cfg = tmp_path / "sim.toml"
    cfg.write_text('[tenants.acme]\ntimezone = "Europe/Paris"\n'
                   '[[tenants.acme.queues]]\nname = "support"\ndaily_volume = 300\n')
    result = CliRunner().invoke(app, ["simulate", "--config", str(cfg), "--days", "1",
                                      "--start", "2026-06-01", "--out", str(tmp_path / "o"),
                                      "--format", "csv"])
    assert result.exit_code == 0, result.output
    contacts = pd.read_csv(tmp_path / "o" / "contacts.csv")
    assert set(contacts["tenant"]) == {"acme"}
    assert contacts["arrived_at"].str.startswith("2026-06-01").all()


def test_a_bad_start_date_is_a_user_error(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["simulate", "--start", "01/06/2026", "--out",
                                      str(tmp_path)])
    assert isinstance(result.exception, ConfigError)
    assert result.exception.where == "--start"
