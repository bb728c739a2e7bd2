"""``contactkpi staff``: the worked example end to end, JSON output, and bad input."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from contactkpi.cli import wfm as wfm_cli
from contactkpi.errors import QueryError

runner = CliRunner()


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:  # keeps "staff" a sub-command, as in the real CLI
        pass

    wfm_cli.register(app)
    return app


def test_worked_example_as_json(app):
    result = runner.invoke(app, ["staff", "--volume", "100", "--interval", "30m", "--aht", "180",
                                 "--target", "80/20", "--shrinkage", "0.3", "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["model"] == "erlang_c"
    assert (out["agents"], out["scheduled"]) == (14, 20)
    assert round(out["service_level"], 3) == 0.888
    assert round(out["occupancy"], 3) == 0.714
    assert round(out["wait_probability"], 3) == 0.174
    assert out["abandon_rate"] == 0.0 and out["traffic_erlangs"] == 10.0


def test_table_output_and_erlang_a(app):
    result = runner.invoke(app, ["staff", "--volume", "120", "--interval", "1h", "--aht", "240",
                                 "--target", "80/20", "--patience", "90",
                                 "--max-occupancy", "0.85"])
    assert result.exit_code == 0, result.output
    assert "Erlang A" in result.stdout and "abandonment" in result.stdout
    data = json.loads(runner.invoke(app, ["staff", "--volume", "120", "--interval", "3600s",
                                          "--aht", "240", "--patience", "90",
                                          "--max-occupancy", "0.85", "--format", "json"]).stdout)
    assert data["model"] == "erlang_a" and data["interval_s"] == 3600
    assert data["occupancy"] <= 0.85 and data["service_level"] >= 0.8
    assert 0 < data["abandon_rate"] < 0.1


@pytest.mark.parametrize("interval", ["30", "30x", "0m", "25h", "1.5s"])
def test_bad_interval_is_a_query_error(app, interval):
    result = runner.invoke(app, ["staff", "--volume", "120", "--interval", interval,
                                 "--aht", "240"])
    assert isinstance(result.exception, QueryError)
    assert result.exception.where == "--interval"
    assert "15m" in result.exception.hint


@pytest.mark.parametrize(("args", "where"), [
    (["--target", "80"], "--target"),
    (["--target", "100/20"], "--target"),
    (["--shrinkage", "30"], "--shrinkage"),
    (["--max-occupancy", "1.5"], "--max-occupancy"),
    (["--patience", "0"], "--patience"),
])
def test_other_bad_options(app, args, where):
    result = runner.invoke(app, ["staff", "--volume", "120", "--aht", "240", *args])
    assert isinstance(result.exception, QueryError)
    assert result.exception.where == where


def test_real_entry_point_exits_2_on_bad_interval(capsys):
    from contactkpi.cli.main import COMMAND_MODULES, main

    assert "wfm" in COMMAND_MODULES
    with pytest.raises(SystemExit) as exit_info:
        main(["staff", "--volume", "120", "--interval", "30", "--aht", "240"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "error: --interval:" in err and "hint:" in err


def test_parsers():
    assert wfm_cli.parse_interval("15m") == 900
    assert wfm_cli.parse_interval("60m") == wfm_cli.parse_interval("1h") == 3600
    assert wfm_cli.parse_target("80%/20s") == (0.8, 20.0)
    assert wfm_cli.parse_target("0.9/15") == (0.9, 15.0)
