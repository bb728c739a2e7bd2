"""Simulator configuration: the shipped default, defaults for a tiny file, clear errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from contactkpi.config import load_settings
from contactkpi.errors import ConfigError
from contactkpi.simulate import load_config, simulate
from contactkpi.simulate.config import Dist, parse_duration


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sim.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_default_center_has_two_clients_in_their_own_time_zones() -> None:
    cfg = load_config()
    assert [t.name for t in cfg.tenants] == ["brightpower", "kestrel_bank"]
    assert {t.timezone for t in cfg.tenants} == {"Europe/London", "America/New_York"}
    queues = {q.name: q for t in cfg.tenants for q in t.queues}
    assert set(queues) == {"billing", "moving_home", "helpdesk", "cards"}
    assert queues["helpdesk"].channel == "email"
    assert queues["helpdesk"].patience_s.is_never  # e-mails do not hang up
    assert queues["billing"].patience_s == Dist("exponential", 180.0)
    assert queues["billing"].max_wait_s == 1200.0
    assert [c.name for t in cfg.tenants for c in t.campaigns] == ["card_upgrade"]


def test_a_tiny_file_gets_sensible_defaults_and_runs(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, """
        days = 1
        [tenants.acme]
        timezone = "Europe/Paris"
        [[tenants.acme.queues]]
        name = "support"
        daily_volume = 200
    """))
    (t,) = cfg.tenants
    assert t.queues[0].talk_s.dist == "lognormal" and t.staffing.mode == "auto"
    assert t.effective_teams()[0].skills == ("support",)
    sim = simulate(cfg, seed=2)
    c = sim["contacts"]
    assert set(c["tenant"]) == {"acme"} and 100 < len(c) < 300


@pytest.mark.parametrize(("text", "where", "message"), [
    ("[tenants.a]\nspeed = 3\n", "tenants.a", "unknown key(s) ['speed']"),
    ("[tenants.a]\n[[tenants.a.queues]]\nname = 'q'\ntalk_s = '4 minutes'\n",
     "tenants.a.queues[0].talk_s", "not a duration"),
    ("[tenants.a]\n[[tenants.a.queues]]\nname = 'q'\nchannel = 'pigeon'\n",
     "tenants.a.queues[0].channel", "unknown channel"),
    ("[tenants.a]\n[[tenants.a.queues]]\nname = 'q'\ntransfer_rate = 0.1\n"
     "transfer_to = ['sales']\n", "tenants.a.queues[0].transfer_to", "not another queue"),
    ("[tenants.a]\ntimezone = 'Mars/Olympus'\n", "tenants.a.timezone", "unknown time zone"),
    ("[tenants.a]\nweekly = [1, 1]\n", "tenants.a.weekly", "7 non-negative factors"),
    ("[tenants.a]\n[[tenants.a.queues]]\nname = 'q'\npatience_s = { dist = 'gamma' }\n",
     "tenants.a.queues[0].patience_s.dist", "unknown distribution"),
    ("[tenants.a]\n[[tenants.a.queues]]\nname = 'q'\nresolution_rate = 80\n",
     "tenants.a.queues[0].resolution_rate", "within 0..1"),
    ("[tenants.a]\nopening_hours = { mon = '9-5' }\n", "opening_hours", "bad opening hours"),
    ("days = 3\n", "sim.toml", "no tenants configured"),
    ("days = \n", "sim.toml", "not valid TOML"),
])
def test_mistakes_are_reported_with_where_and_a_hint(tmp_path: Path, text: str, where: str,
                                                     message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(_write(tmp_path, text))
    assert where in (exc.value.where or "")
    assert message in exc.value.message


def test_a_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(tmp_path / "nope.toml")
    assert "omit --config" in (exc.value.hint or "")


@pytest.mark.parametrize(("text", "seconds"), [
    (240, 240.0), ("90s", 90.0), ("15m", 900.0), ("36h", 129_600.0), ("2d", 172_800.0),
    ("1.5h", 5_400.0), ("inf", math.inf),
])
def test_durations_read_with_units(text: object, seconds: float) -> None:
    assert parse_duration(text, "x") == seconds


def test_distributions_have_the_mean_and_spread_asked_for() -> None:
    rng = np.random.default_rng(0)
    x = Dist("lognormal", 240.0, 0.8).sample(rng, 400_000)
    assert x.mean() == pytest.approx(240.0, rel=0.01)
    assert x.std() / x.mean() == pytest.approx(0.8, rel=0.03)
    assert Dist("exponential", 60.0).sample(rng, 400_000).mean() == pytest.approx(60, rel=0.01)
    assert (Dist("constant", 5.0).sample(rng, 3) == 5.0).all()
    assert np.isinf(Dist("never").sample(rng, 2)).all()


def test_settings_toml_gives_contactkpi_the_same_tenants(tmp_path: Path) -> None:
    cfg = load_config()
    path = tmp_path / "contactkpi.toml"
    path.write_text(cfg.settings_toml(), encoding="utf-8")
    settings = load_settings(config=path, env={})
    assert dict(settings.tenants) == cfg.settings_tenants()
    kestrel = settings.tenants["kestrel_bank"]
    assert kestrel.timezone == "America/New_York" and len(kestrel.holidays) == 1


def test_days_must_be_positive() -> None:
    with pytest.raises(ConfigError):
        load_config().with_overrides(days=0)
