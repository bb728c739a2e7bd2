"""``contactkpi demo``: the real command, run as a new user runs it, on eight simulated days.

The demo runs as a subprocess of the installed ``contactkpi``. Its JSON form must carry the
same numbers as ``contactkpi kpi ... --format json`` (the dashboard-equals-CLI rule), every
command it suggests must run, and a second run must replace the demo warehouse, not add to it.
The suggested commands are split as a shell splits them and run through the console script's
entry point (``contactkpi.cli.main:main``) in this process, which keeps the test fast on a busy
machine; two of them are also pasted into bash and run by the installed command.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import statistics
import subprocess
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from contactkpi.cli.demo import TENANT_TARGETS, config_text
from contactkpi.cli.main import main
from contactkpi.config import load_settings
from contactkpi.metrics import MetricQuery
from contactkpi.reports.demo import VOICE, kpi_argv, shell_line
from contactkpi.reports.terminal import duration, shown
from contactkpi.simulate import TABLE_NAMES, default_config
from contactkpi.store import Warehouse, load_frames
from contactkpi.wfm import erlang

BIN_DIR = Path(sys.executable).parent
DAYS = 8  # two Mondays: a week-over-week change and a median of two for the usual volume


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTKPI_")}
    env["PATH"] = f"{BIN_DIR}{os.pathsep}{env.get('PATH', '')}"
    return env


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed ``contactkpi`` in ``cwd``; it must succeed."""
    proc = subprocess.run(
        [str(BIN_DIR / "contactkpi"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def cli(argv: Sequence[str]) -> tuple[int, str, str]:
    """Run ``contactkpi ARGV`` through its entry point here: exit code, stdout, stderr."""
    args = list(argv[1:]) if argv and argv[0] == "contactkpi" else list(argv)
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def ok(argv: Sequence[str]) -> str:
    code, out, err = cli(argv)
    assert code == 0, f"{shell_line(argv)}\n{err}"
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A folder where ``contactkpi demo --format json`` has run, and its JSON."""
    cwd = tmp_path_factory.mktemp("demo")
    proc = run(cwd, "demo", "--days", str(DAYS), "--format", "json")
    return cwd, json.loads(proc.stdout)


@pytest.fixture
def in_demo(demo: tuple[Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The demo's JSON, with the working directory set to where it ran."""
    cwd, report = demo
    monkeypatch.chdir(cwd)
    for key in [k for k in os.environ if k.startswith("CONTACTKPI_")]:
        monkeypatch.delenv(key)
    return report


def test_json_headline_equals_kpi_cli(in_demo: dict[str, Any]) -> None:
    report = in_demo
    assert [t["name"] for t in report["tenants"]] == [t.name for t in default_config().tenants]
    titles = {t["name"]: [b["title"] for b in t["headline"]] for t in report["tenants"]}
    assert titles["brightpower"] == ["Inbound voice", "Customers", "Agents", "Helpdesk"]
    assert titles["kestrel_bank"] == ["Inbound voice", "Customers", "Agents", "Outbound"]
    for block in [b for t in report["tenants"] for b in t["headline"]]:
        assert shlex.split(block["command"]) == block["argv"]
        cli_json = json.loads(ok([*block["argv"], "--format", "json"]))
        assert cli_json["metrics"] == block["metrics"], block["title"]
        assert cli_json["rows"] == block["rows"], block["title"]
    voice = {t["name"]: t["headline"][0]["rows"][0] for t in report["tenants"]}
    # Targets come from the demo's config: the bank is judged at 90% in 30 s, the other at 80/20.
    assert voice["kestrel_bank"]["service_level:threshold_s=30.target"] == 0.9
    assert voice["brightpower"]["service_level:threshold_s=20.target"] == 0.8
    for row in voice.values():
        assert row["answered"] <= row["offered"]


def test_pasted_into_bash_the_installed_command_gives_the_same_numbers(
    demo: tuple[Path, dict[str, Any]],
) -> None:
    cwd, report = demo
    block = report["tenants"][1]["headline"][0]
    drill = next(s for s in report["next"] if "--drill" in s["argv"])
    script = f"set -e\n{block['command']} --format json > headline.json\n{drill['command']}\n"
    proc = subprocess.run(
        ["bash", "-c", script], cwd=cwd, capture_output=True, text=True, env=_env(), timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads((cwd / "headline.json").read_text())["rows"] == block["rows"]
    assert "rows behind" in proc.stdout


def test_suggested_commands_run(in_demo: dict[str, Any]) -> None:
    steps = in_demo["next"]
    for step in steps:
        assert shlex.split(step["command"]) == step["argv"], step["command"]
        assert step["argv"][0] == "contactkpi"
    kinds = " ".join(s["command"] for s in steps)
    for needed in (
        "--drill",
        "--by queue",
        "--by weekday,hour_of_day",
        "--by agent",
        "--warehouse demo/contactkpi.duckdb",
        "--config demo/contactkpi.toml",
        "contactkpi staff",
        "metrics explain",
    ):
        assert needed in kinds, needed
    for step in steps:
        assert ok(shlex.split(step["command"])).strip(), step["command"]


def test_worst_intervals_follow_erlang_and_usual_volume(in_demo: dict[str, Any]) -> None:
    tenant = in_demo["tenants"][0]
    worst = tenant["worst_intervals"]
    rows = worst["rows"]
    assert rows, "the demo center misses its service level on Monday mornings"
    sl_col = tenant["service_level"]
    target, threshold = worst["target"]["service_level"], worst["target"]["threshold_s"]
    # The same per-interval volume, through the CLI: the usual volume is the median of the
    # same weekday and half-hour.
    out = ok(
        [
            "--config",
            "demo/contactkpi.toml",
            "kpi",
            "offered",
            "--grain",
            "interval_30m",
            "--where",
            VOICE,
            "--tenant",
            tenant["name"],
            "--format",
            "json",
        ]
    )
    offered = pd.DataFrame(json.loads(out)["rows"])
    starts = offered["period_start"].map(pd.Timestamp)
    weekday = starts.map(lambda s: s.weekday())
    clock = starts.map(lambda s: s.strftime("%H:%M"))
    for row in rows:
        start = pd.Timestamp(row["period_start"])
        same = offered[(weekday == start.weekday()) & (clock == start.strftime("%H:%M"))]
        assert 1 <= len(same) <= 2  # eight days: one or two of each weekday
        assert row["usual_offered"] == statistics.median(same["offered"])
        assert row["offered"] >= 10
        assert row[f"{sl_col}.status"] == "missed" and row[sl_col] < target
        traffic = erlang.traffic_erlangs(row["offered"], row["aht_s"], 1800)
        need = int(
            erlang.required_agents(
                traffic, row["aht_s"], service_level=target, threshold_s=threshold
            )
        )
        assert row["agents_required"] == need
        usual_traffic = erlang.traffic_erlangs(row["usual_offered"], row["aht_s"], 1800)
        need_usual = int(
            erlang.required_agents(
                usual_traffic, row["aht_s"], service_level=target, threshold_s=threshold
            )
        )
        assert row["agents_required_usual"] == need_usual
        if row["agents"] < need_usual:
            assert row["miss_reason"] == "understaffed"
        elif row["offered"] > row["usual_offered"]:
            assert row["miss_reason"] == "volume_above_forecast"
        else:
            assert row["miss_reason"] == "not_explained"
    assert [r[sl_col] for r in rows] == sorted(r[sl_col] for r in rows)


def test_rerun_replaces_the_warehouse_and_prints_every_section(
    demo: tuple[Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd, report = demo
    proc = run(cwd, "demo", "--days", str(DAYS))
    assert "removed the previous demo warehouse demo/contactkpi.duckdb" in proc.stderr
    text = proc.stdout
    for tenant in ("brightpower", "kestrel_bank"):
        for section in (
            "headline KPIs against targets",
            "week over week",
            "worst half-hours",
            "peak heatmap",
            "top agents",
        ):
            assert f"{tenant}: {section}" in text, (tenant, section)
    assert "What to run next" in text
    for step in report["next"]:  # whole, on one line each: they paste as they are
        assert step["command"] in text.splitlines()
    # The table shows the engine's numbers, formatted: 1 decimal percent, thousands commas.
    voice = report["tenants"][0]["headline"][0]["rows"][0]
    assert f"{voice['service_level:threshold_s=20'] * 100:.1f}%" in text
    assert f"{voice['offered']:,}" in text
    monkeypatch.chdir(cwd)
    loads = json.loads(ok(["--config", "demo/contactkpi.toml", "loads", "--format", "json"]))
    assert len(loads["loads"]) == len(TABLE_NAMES)  # replaced, not loaded twice
    count = json.loads(
        ok(
            [
                "--config",
                "demo/contactkpi.toml",
                "sql",
                "select count(*) as n from contacts",
                "--format",
                "json",
            ]
        )
    )
    assert count["rows"][0]["n"] == report["demo"]["contacts"]


def test_refuses_to_replace_what_the_demo_did_not_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    own = tmp_path / "mine"
    own.mkdir()
    (own / "contactkpi.toml").write_text('default_tenant = "acme"\n', encoding="utf-8")
    code, _, err = cli(["demo", "--dir", "mine", "--days", "1"])
    assert code == 2
    assert "not written by the demo" in err
    assert (own / "contactkpi.toml").read_text(encoding="utf-8") == 'default_tenant = "acme"\n'

    other = tmp_path / "other"
    wh = Warehouse.open(other / "contactkpi.duckdb")
    rows = pd.DataFrame(
        {
            "contact_id": ["1"],
            "channel": "voice",
            "direction": "inbound",
            "queue": "sales",
            "arrived_at": pd.Timestamp("2026-03-02 09:00", tz="UTC"),
        }
    )
    load_frames(wh, {"contacts": rows}, tenant="acme", label="notebook")
    wh.close()
    code, _, err = cli(["demo", "--dir", "other", "--days", "1"])
    assert code == 2
    assert "did not come from the demo" in err
    assert (other / "contactkpi.duckdb").exists()


def test_demo_config_carries_tenants_and_targets(tmp_path: Path) -> None:
    cfg = default_config()
    path = tmp_path / "contactkpi.toml"
    path.write_text(
        config_text(cfg.settings_toml(), [t.name for t in cfg.tenants]), encoding="utf-8"
    )
    settings = load_settings(config=path, env={})
    assert settings.default_tenant == "brightpower"
    assert settings.warehouse == str(tmp_path / "contactkpi.duckdb")
    assert settings.tenants["kestrel_bank"].timezone == "America/New_York"
    assert settings.tenants["brightpower"].timezone == "Europe/London"
    assert settings.tenants["kestrel_bank"].holidays == frozenset({date(2026, 1, 19)})
    bank = settings.targets_for("kestrel_bank")["service_level"]
    assert (bank.value, dict(bank.params)) == (0.9, {"threshold_s": 30})
    assert TENANT_TARGETS["kestrel_bank"]["service_level"]["value"] == bank.value
    power = settings.targets_for("brightpower")["service_level"]
    assert (power.value, power.near, dict(power.params)) == (0.8, 0.05, {"threshold_s": 20})


def test_kpi_argv_gives_the_cli_words() -> None:
    q = MetricQuery(
        ("offered", "service_level:threshold_s=30"),
        by=("queue",),
        grain="interval_30m",
        start="2026-01-12",
        end="2026-01-13",
        where=VOICE,
        tenant="kestrel_bank",
    )
    argv = kpi_argv(("contactkpi", "--config", "demo/contactkpi.toml"), q)
    assert argv == [
        "contactkpi",
        "--config",
        "demo/contactkpi.toml",
        "kpi",
        "offered",
        "service_level:threshold_s=30",
        "--by",
        "queue",
        "--grain",
        "interval_30m",
        "--from",
        "2026-01-12",
        "--to",
        "2026-01-12",
        "--where",
        VOICE,
        "--tenant",
        "kestrel_bank",
    ]
    assert shell_line(argv).endswith(
        "--where \"channel = 'voice' AND direction = 'inbound'\" --tenant kestrel_bank"
    )


@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=6))
@example(["0\n"])  # a regex ending in $ also matches before a final newline
def test_shell_line_round_trips(argv: list[str]) -> None:
    assert shlex.split(shell_line(argv)) == argv


def test_numbers_are_shown_as_people_read_them() -> None:
    assert shown(0.78487, "percent") == "78.5%"
    assert shown(40022, "integer") == "40,022"
    assert shown(8.6158, "points") == "+8.6"
    assert shown(244289.81, "currency", "USD") == "USD 244,290"
    assert shown(float("nan"), "percent") == "-"
    assert (duration(17.97), duration(334.3), duration(12218.9)) == ("18.0 s", "5m 34s", "3.4 h")
