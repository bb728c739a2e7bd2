"""Settings: precedence, tenants, opening hours and clear errors."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from contactkpi.config import config_template, load_settings
from contactkpi.errors import ConfigError


def test_template_loads_and_is_open_on_weekdays(tmp_path: Path) -> None:
    cfg = tmp_path / "contactkpi.toml"
    cfg.write_text(config_template("acme", "Europe/Paris", "FR"))
    s = load_settings(config=cfg, env={})
    t = s.tenant(None)
    assert (t.name, t.timezone) == ("acme", "Europe/Paris")
    assert t.is_open(datetime(2026, 3, 2, 8, 0))  # Monday 08:00
    assert not t.is_open(datetime(2026, 3, 2, 20, 0))  # closing time is exclusive
    assert t.is_open(datetime(2026, 3, 7, 12, 59))  # Saturday
    assert not t.is_open(datetime(2026, 3, 8, 12, 0))  # Sunday closed
    assert s.targets_for("acme")["service_level"].params == {"threshold_s": 20}
    assert s.warehouse == str(tmp_path / "contactkpi.duckdb")


def test_precedence_flag_env_file(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[warehouse]\nurl = "/data/file.duckdb"\n')
    assert load_settings(config=cfg, env={}).warehouse == "/data/file.duckdb"
    env = {"CONTACTKPI_WAREHOUSE": "/env.duckdb"}
    s = load_settings(config=cfg, env=env)
    assert (s.warehouse, s.origins["warehouse"]) == ("/env.duckdb", "env CONTACTKPI_WAREHOUSE")
    s = load_settings(config=cfg, env=env, warehouse="/flag.duckdb")
    assert (s.warehouse, s.origins["warehouse"]) == ("/flag.duckdb", "flag --warehouse")


@pytest.mark.parametrize(("text", "needle"), [
    ('[tenants.a]\ntimezone = "Europe/Pariss"\n', "unknown time zone"),
    ('[tenants.a]\nopening_hours = { mon = "9-17" }\n', "bad opening hours"),
    ('[tenants.a]\nopening_hours = { funday = "09:00-17:00" }\n', "unknown weekday"),
    ('[tenants.a]\nholidays = ["2026-13-01"]\n', "bad holiday date"),
    ('[tenants.a]\ncolour = "red"\n', "unknown key"),
    ('[targets.sl]\nnear = 1\n', "needs a value"),
    ('default_tenant = "b"\n[tenants.a]\n', "not among the tenants"),
    ("this is = = not toml", "not valid TOML"),
])
def test_bad_config_names_the_place(tmp_path: Path, text: str, needle: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=needle) as info:
        load_settings(config=cfg, env={})
    assert str(cfg) in (info.value.where or "")


def test_unknown_tenant_lists_the_known_ones(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(config_template("acme"))
    with pytest.raises(ConfigError, match="unknown tenant") as info:
        load_settings(config=cfg, env={}).tenant("globex")
    assert "acme" in (info.value.hint or "")
